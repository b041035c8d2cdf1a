"""Backfill as a Prefect flow: ingest a list of URLs through the same pipeline, with progress."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from prefect import flow
from prefect.logging import get_run_logger
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from classify.classifier import default_classifier
from flows.artifacts import publish_summary, record_summary
from flows.cycle import ITEMS_PER_TASK, alert_stage, chunked, current_run_id, ingest_batch, thread_runner
from newsmon.config import load_settings
from newsmon.errors import NewsmonError
from newsmon.httpclient import HttpClient
from newsmon.pipeline import DatabaseHostGate, ExtractorPool, IngestItem, items_from_urls, utcnow
from newsmon.summary import CycleSummary
from storage import repo
from storage.db import open_database

__all__ = ["BadUrlList", "backfill_url_file", "parse_url_list", "run_backfill"]


class BadUrlList(NewsmonError):
    """A backfill URL list with a line that is not an http(s) URL (named by file and line number)."""


def parse_url_list(lines: Iterable[str], source: str) -> list[str]:
    """The URLs of a backfill list: the first word of each line; blank and ``#`` lines skipped.

    Raises :class:`BadUrlList` naming the first bad line; nothing is fetched then.
    """
    urls: list[str] = []
    bad: list[tuple[int, str]] = []
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        url = line.split()[0]
        if url.startswith(("http://", "https://")):
            urls.append(url)
        else:
            bad.append((number, line))
    if bad:
        number, line = bad[0]
        more = f" ({len(bad)} such lines)" if len(bad) > 1 else ""
        raise BadUrlList(f"{source}: line {number}: {line!r} is not an http(s) URL{more}; nothing was fetched")
    return urls


@flow(name="newsmon-backfill", task_runner=thread_runner(2), log_prints=False)
def run_backfill(
    urls: list[str], config_path: str | None = None, alert: bool = False,
    extract_workers: int | None = None, progress: bool = True,
) -> dict[str, Any]:
    """Fetch, extract, store and classify each URL not stored yet; alerts only when ``alert``."""
    logger = get_run_logger()
    settings = load_settings(config_path)
    db = open_database(settings.database_url)
    run_id = current_run_id()
    items = items_from_urls(urls)
    with db.session() as s:
        repo.start_run(s, run_id, "backfill", now=utcnow())
        known = repo.known_urls(s, [i.url for i in items])
    todo = [i for i in items if i.url not in known]
    summary = CycleSummary(run_id=run_id, kind="backfill", new_items=len(todo))
    summary.duplicates = len(items) - len(todo)
    logger.info("backfill: %d URL(s), %d already stored, %d to fetch", len(items), len(known), len(todo))
    classifier = default_classifier(settings.classify.topics_file)
    bar = Progress(
        TextColumn("[bold]backfill"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[note]}"),
        TimeRemainingColumn(), console=Console(stderr=True), disable=not progress, transient=False,
    )
    try:
        with bar, HttpClient(settings.fetch, gate=DatabaseHostGate(db)) as client, \
                ExtractorPool(extract_workers) as pool:
            task_id = bar.add_task("backfill", total=len(items), note="", completed=len(items) - len(todo))

            def tick(item: IngestItem, outcome: str) -> None:
                bar.update(task_id, advance=1, note=f"{outcome}: {item.url[-60:]}")

            for batch in chunked(todo, ITEMS_PER_TASK):
                summary.add_ingest(
                    ingest_batch(client, db, pool, classifier, batch, settings, run_id, on_progress=tick)
                )
        summary.add_alerts(alert_stage(db, settings, run_id, alert_backfill=alert, deliver=alert))
    finally:
        figures = record_summary(db, summary)
        db.dispose()
    publish_summary(figures)
    return figures


@flow(name="newsmon-backfill-file", task_runner=thread_runner(2), log_prints=False)
def backfill_url_file(url_file: str, config_path: str | None = None, alert: bool = False) -> dict[str, Any]:
    """Backfill the URL list in ``url_file`` (a path on the machine that runs the flow).

    The deployment entry point for on-demand backfills (deploy/prefect.yaml): the parameters are a
    file path, the config path and the alert flag; secrets stay in the config file or environment.
    """
    path = Path(url_file).expanduser()
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise BadUrlList(f"{url_file}: cannot read the URL list: {exc.strerror or exc}") from exc
    urls = parse_url_list(lines, url_file)
    result: dict[str, Any] = run_backfill.fn(urls, config_path=config_path, alert=alert, progress=False)
    return result

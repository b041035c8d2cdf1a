"""The monitoring cycle as a Prefect flow: poll → select new → ingest → alert.

Tasks are per feed group and per batch of pages, never per article: each Prefect task run costs
≈6 ms in the flow and ≈30 ms of server CPU (see ``shared/PERF-ANCHORS.md``), so a cycle stays at
tens of task runs. Per-item failures are recorded inside the batch, not as task failures.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from prefect import flow, task, unmapped
from prefect.cache_policies import NO_CACHE
from prefect.logging import get_run_logger
from prefect.runtime import flow_run
from prefect.task_runners import ThreadPoolTaskRunner

from alerts.pipeline import check_feed_health, deliver_pending, enqueue_alerts
from classify.classifier import Classifier, default_classifier
from flows.artifacts import publish_summary, record_summary
from newsmon.config import Settings, load_settings
from newsmon.httpclient import HttpClient
from newsmon.pipeline import (
    DatabaseHostGate,
    ExtractorPool,
    IngestItem,
    IngestReport,
    PollResult,
    ingest,
    poll_feed,
    record_polls,
    select_new_items,
    unclustered_article_ids,
    utcnow,
)
from newsmon.summary import CycleSummary
from storage import repo
from storage.db import Database, open_database

__all__ = ["alert_stage", "ingest_batch", "poll_feed_group", "run_cycle"]

FEEDS_PER_TASK = 8
ITEMS_PER_TASK = 200

T = TypeVar("T")


def thread_runner(workers: int) -> Any:
    """A bounded thread pool task runner (Prefect's default is unbounded: sys.maxsize workers)."""
    return ThreadPoolTaskRunner(max_workers=workers)


def chunked(seq: Sequence[T], size: int) -> list[list[T]]:
    return [list(seq[i : i + size]) for i in range(0, len(seq), size)]


@task(name="poll-feeds", cache_policy=NO_CACHE)
def poll_feed_group(client: HttpClient, feeds: list[repo.FeedState]) -> list[PollResult]:
    """Poll a group of feeds concurrently (conditional GET); failures are results, not errors."""
    logger = get_run_logger()
    with ThreadPoolExecutor(max_workers=max(1, min(len(feeds), client.settings.concurrency))) as ex:
        results = list(ex.map(lambda f: poll_feed(client, f), feeds))
    for r in results:
        if r.status == "failed":
            logger.info("feed %s failed: %s", r.feed.url, r.error)
        else:
            logger.info("feed %s: %s, %d item(s)", r.feed.url, r.status, len(r.items))
    return results


@task(name="ingest-pages", cache_policy=NO_CACHE)
def ingest_batch(
    client: HttpClient, db: Database, pool: ExtractorPool, classifier: Classifier,
    items: list[IngestItem], settings: Settings, run_id: str,
    on_progress: Callable[[IngestItem, str], None] | None = None,
) -> IngestReport:
    """Fetch, extract, store and classify one batch of new pages."""
    return ingest(client, db, pool, classifier, items, settings=settings, run_id=run_id,
                  on_progress=on_progress)


@task(name="alerts", cache_policy=NO_CACHE)
def alert_stage(
    db: Database, settings: Settings, run_id: str, *, alert_backfill: bool = False, deliver: bool = True,
) -> dict[str, Any]:
    """File new articles into stories, queue alerts, check feed health, deliver what is due.

    Articles are picked by state (not yet filed into a story), so a crash before this stage loses
    no alert: the next cycle files them. Backfilled articles alert only with ``alert_backfill``.
    """
    now = utcnow()
    queued = 0
    for origin, alert in (("feed", True), ("backfill", alert_backfill)):
        ids = unclustered_article_ids(db, origin=origin)
        if ids:
            with db.session() as s:
                report = enqueue_alerts(s, ids, settings, now=now, alert=alert)
                queued += int(getattr(report, "deliveries_created", 0))
    if not deliver:
        return {"queued": queued, "delivery": None}
    with db.session() as s:
        check_feed_health(s, settings, now=now)
    delivery = deliver_pending(db, settings, now=utcnow(), run_id=run_id)
    return {"queued": queued, "delivery": delivery}


def current_run_id() -> str:
    rid = flow_run.get_id()
    return str(rid) if rid else utcnow().strftime("local-%Y%m%dT%H%M%S%f")


@flow(name="newsmon-cycle", task_runner=thread_runner(4), log_prints=False)
def run_cycle(config_path: str | None = None, extract_workers: int | None = None) -> dict[str, Any]:
    """One monitoring cycle: poll every feed, ingest new articles, alert.

    ``config_path`` is the config file (None: $NEWSMON_CONFIG, ./newsmon.toml or defaults); settings
    are loaded inside the flow so that no secret ends up in Prefect's stored flow parameters.
    """
    logger = get_run_logger()
    settings = load_settings(config_path)
    db = open_database(settings.database_url)
    run_id = current_run_id()
    started = utcnow()
    with db.session() as s:
        repo.start_run(s, run_id, "run", now=started)
        feeds = repo.ensure_feeds(s, settings.feeds)
    summary = CycleSummary(run_id=run_id, kind="run", feeds_total=len(feeds))
    classifier = default_classifier(settings.classify.topics_file)
    try:
        with HttpClient(settings.fetch, gate=DatabaseHostGate(db)) as client, ExtractorPool(extract_workers) as pool:
            futures = poll_feed_group.map(unmapped(client), chunked(feeds, FEEDS_PER_TASK))
            results = [r for fut in futures for r in fut.result()]
            record_polls(db, results, run_id=run_id, now=utcnow())
            summary.add_polls(results)
            items = select_new_items(db, results)
            summary.new_items = len(items)
            logger.info("%d feed(s) polled, %d new item(s) to fetch", len(results), len(items))
            for batch in chunked(items, ITEMS_PER_TASK):
                summary.add_ingest(ingest_batch(client, db, pool, classifier, batch, settings, run_id))
        summary.add_alerts(alert_stage(db, settings, run_id))
    finally:
        figures = record_summary(db, summary)
        db.dispose()
    publish_summary(figures)
    return figures

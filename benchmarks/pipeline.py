#!/usr/bin/env python3
"""End-to-end throughput and memory of the newsmon pipeline on this machine.

Serves N synthetic news pages (the chrome-laden template of the e2e tests, varied text, ~25 KB each)
and one RSS feed listing them from a loopback server in a child process, then measures, in one run:

* ``bare``: ``newsmon.pipeline.ingest`` directly (fetch → extract in worker processes → store in
  SQLite → classify), no Prefect;
* ``bare cycle``: the flow's whole work without Prefect (cold extraction workers, poll the feed,
  select, ingest, file into stories and queue alerts), new database;
* ``flow``: the real ``run_cycle`` Prefect flow over the same number of pages (new database), in
  Prefect's ephemeral mode; the cold start of the temporary server is reported separately. Its
  ratio to the bare cycle is what Prefect costs;
* a 50 MB page: how long the refusal takes and how much memory it costs (the byte cap stops reading).

Peak memory is ru_maxrss of this process and, separately, of the extraction worker processes.

    python benchmarks/pipeline.py --articles 400 --workers 2
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

WORDS = (
    "export controls chips China Commerce Department license semiconductor Huawei Nvidia accelerator "
    "data centre cloud providers compute policy ministry officials said analysts market companies "
    "suppliers rules Washington Beijing memory lithography tools equipment the of and to in "
    "a on for with that by from as at which would could after before "
).split()


def make_story(i: int) -> tuple[str, tuple[str, ...]]:
    rnd = random.Random(i)
    title = " ".join(rnd.choice(WORDS) for _ in range(9)).capitalize() + f" {i}"
    paragraphs = tuple(
        " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(40, 80))).capitalize() + "."
        for _ in range(12)
    )
    return title, paragraphs


def serve(port_queue: multiprocessing.Queue, n: int) -> None:  # type: ignore[type-arg]
    from tests.e2e_site import Story, article_page, rss
    from tests.support import LoopbackHTTP

    http = LoopbackHTTP()
    base = datetime(2026, 11, 1, tzinfo=UTC)
    items = []
    for i in range(n):
        title, paragraphs = make_story(i)
        story = Story(f"/a/{i}.html", title, paragraphs, base + timedelta(minutes=i))
        http.add(story.path, article_page("Bench Wire", story))
        items.append((title, story.path, story.published))
    http.add("/feed.rss", rss("Bench", http.base, items), content_type="application/rss+xml")
    http.add("/huge.html", b"<html><body>" + b"<p>x</p>" * 7_000_000)
    port_queue.put(http.port)
    http.start()
    time.sleep(3600)


def rss_mb(usage: resource.struct_rusage) -> float:
    return usage.ru_maxrss / 1024


def bench_bare(base: str, n: int, workers: int, tmp: Path) -> dict[str, float]:
    from classify.classifier import default_classifier
    from newsmon.config import FetchSettings, Settings
    from newsmon.httpclient import HttpClient
    from newsmon.pipeline import ExtractorPool, IngestItem, ingest
    from storage.db import open_database

    settings = Settings(database_url=f"sqlite:///{tmp / 'bare.db'}", feeds=(),
                        fetch=FetchSettings(allow_private_networks=True, concurrency=16))
    db = open_database(settings.database_url)
    items = [IngestItem(url=f"{base}/a/{i}.html", link=f"{base}/a/{i}.html", source="bench") for i in range(n)]
    classifier = default_classifier()
    with HttpClient(settings.fetch) as client, ExtractorPool(workers) as pool:
        # warm the worker processes so their start-up is not counted
        ingest(client, db, pool, classifier, items[:workers], settings=settings, run_id="warm")
        t0, c0 = time.perf_counter(), time.process_time()
        report = ingest(client, db, pool, classifier, items[workers:], settings=settings, run_id="bench")
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    db.dispose()
    stored = len(report.stored_ids)
    assert stored == n - workers, (stored, report.failures[:3])
    return {"articles": stored, "seconds": wall, "articles_per_s": stored / wall,
            "main_cpu_ms_per_article": 1000 * cpu / stored}


def bench_cycle_bare(base: str, n: int, workers: int, tmp: Path) -> dict[str, float]:
    """The flow's work without Prefect: cold worker pool, poll, select, ingest, file into stories."""
    from classify.classifier import default_classifier
    from flows.cycle import alert_stage
    from newsmon.config import FetchSettings, Settings
    from newsmon.httpclient import HttpClient
    from newsmon.models import FeedSpec
    from newsmon.pipeline import ExtractorPool, ingest, poll_feed, record_polls, select_new_items, utcnow
    from storage import repo
    from storage.db import open_database

    t0 = time.perf_counter()
    settings = Settings(database_url=f"sqlite:///{tmp / 'cycle.db'}", feeds=(FeedSpec(f"{base}/feed.rss", "bench"),),
                        fetch=FetchSettings(allow_private_networks=True, concurrency=16))
    db = open_database(settings.database_url)
    with db.session() as s:
        feeds = repo.ensure_feeds(s, settings.feeds)
    classifier = default_classifier()
    with HttpClient(settings.fetch) as client, ExtractorPool(workers) as pool:
        results = [poll_feed(client, f) for f in feeds]
        record_polls(db, results, run_id="cycle", now=utcnow())
        items = select_new_items(db, results)
        t_ingest = time.perf_counter()
        report = ingest(client, db, pool, classifier, items, settings=settings, run_id="cycle")
        ingest_s = time.perf_counter() - t_ingest
    t_alerts = time.perf_counter()
    alert_stage.fn(db, settings, "cycle")
    alerts_s = time.perf_counter() - t_alerts
    wall = time.perf_counter() - t0
    db.dispose()
    assert len(report.stored_ids) == n, (len(report.stored_ids), report.failures[:3])
    return {"articles": n, "seconds": wall, "articles_per_s": n / wall, "ingest_s": ingest_s,
            "alerts_s": alerts_s}


def bench_flow(base: str, n: int, workers: int, tmp: Path) -> dict[str, float]:
    config = tmp / "flow.toml"
    config.write_text(f'database_url = "sqlite:///{tmp / "flow.db"}"\n[[feeds]]\nurl = "{base}/feed.rss"\n'
                      "[fetch]\nallow_private_networks = true\nconcurrency = 16\n", encoding="utf-8")
    t0 = time.perf_counter()
    from prefect import flow

    @flow
    def empty() -> None:
        return None

    empty()  # starts the ephemeral server: the cold start
    cold = time.perf_counter() - t0
    from flows.cycle import run_cycle

    t1 = time.perf_counter()
    summary = run_cycle(config_path=str(config), extract_workers=workers)
    wall = time.perf_counter() - t1
    assert summary["stored"] == n, summary
    return {"articles": n, "seconds": wall, "articles_per_s": n / wall, "prefect_cold_start_s": cold}


def bench_huge(base: str) -> dict[str, float]:
    from newsmon.config import FetchSettings
    from newsmon.errors import ResponseTooLarge
    from newsmon.httpclient import HttpClient

    before = rss_mb(resource.getrusage(resource.RUSAGE_SELF))
    t0 = time.perf_counter()
    with HttpClient(FetchSettings(allow_private_networks=True)) as client:
        try:
            client.fetch_page(f"{base}/huge.html")
        except ResponseTooLarge:
            pass
        else:
            raise AssertionError("the 50 MB page was not refused")
    return {"seconds": time.perf_counter() - t0,
            "peak_rss_growth_mb": rss_mb(resource.getrusage(resource.RUSAGE_SELF)) - before}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=400)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="extraction processes")
    parser.add_argument("--skip-flow", action="store_true", help="only the bare pipeline")
    args = parser.parse_args()
    os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="newsmon-bench-prefect-"))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

    queue: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    server = multiprocessing.get_context("fork").Process(target=serve, args=(queue, args.articles), daemon=True)
    server.start()
    base = f"http://127.0.0.1:{queue.get(timeout=120)}"
    tmp = Path(tempfile.mkdtemp(prefix="newsmon-bench-"))
    print(f"newsmon pipeline benchmark: {args.articles} pages, {args.workers} extraction worker(s), "
          f"{os.cpu_count()} cores, Python {sys.version.split()[0]}")
    huge = bench_huge(base)
    print(f"50 MB page refused by the {5_000_000:,} byte cap in {huge['seconds']:.2f} s, "
          f"peak RSS growth {huge['peak_rss_growth_mb']:.1f} MB")
    bare = bench_bare(base, args.articles, args.workers, tmp)
    print(f"bare pipeline : {bare['articles']} articles in {bare['seconds']:.1f} s = "
          f"{bare['articles_per_s']:.1f} articles/s "
          f"(main process {bare['main_cpu_ms_per_article']:.1f} ms CPU/article)")
    cycle = bench_cycle_bare(base, args.articles, args.workers, tmp)
    print(f"bare cycle    : {cycle['articles']} articles in {cycle['seconds']:.1f} s = "
          f"{cycle['articles_per_s']:.1f} articles/s (the flow's work without Prefect: worker start, "
          f"poll, ingest {cycle['ingest_s']:.1f} s, stories and alerts {cycle['alerts_s']:.1f} s)")
    if not args.skip_flow:
        flow = bench_flow(base, args.articles, args.workers, tmp)
        print(f"Prefect flow  : {flow['articles']} articles in {flow['seconds']:.1f} s = "
              f"{flow['articles_per_s']:.1f} articles/s = "
              f"{flow['articles_per_s'] / cycle['articles_per_s']:.2f}x the bare cycle "
              f"(ephemeral server cold start {flow['prefect_cold_start_s']:.1f} s, not included)")
    print(f"peak RSS: main process {rss_mb(resource.getrusage(resource.RUSAGE_SELF)):.0f} MB, "
          f"largest child process {rss_mb(resource.getrusage(resource.RUSAGE_CHILDREN)):.0f} MB")
    server.terminate()


if __name__ == "__main__":
    main()

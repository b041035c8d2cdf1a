"""The cycle's stages without Prefect: poll, select new items, ingest; on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from classify.classifier import default_classifier
from newsmon.config import FetchSettings, Settings
from newsmon.errors import ExtractError
from newsmon.httpclient import HttpClient
from newsmon.models import FeedSpec
from newsmon.pipeline import (
    ExtractorPool,
    IngestItem,
    ingest,
    items_from_urls,
    poll_feed,
    record_polls,
    select_new_items,
    utcnow,
)
from storage import repo
from storage.db import Database, open_database
from tests.e2e_site import STORY_CLOUD, STORY_ENTITY, STORY_SNACK, rss, serve_story
from tests.support import LoopbackHTTP


def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, feeds=(), fetch=FetchSettings(timeout=5, allow_private_networks=True))


def feeds(db: Database, *urls: str) -> list[repo.FeedState]:
    with db.session() as s:
        return repo.ensure_feeds(s, [FeedSpec(u, f"feed {i}") for i, u in enumerate(urls)])


def test_poll_select_ingest_store_once(http: LoopbackHTTP, db_url: str) -> None:
    for story in (STORY_ENTITY, STORY_CLOUD, STORY_SNACK):
        serve_story(http, "Desk", story)
    a = [(s.title, s.path, s.published) for s in (STORY_ENTITY, STORY_CLOUD)]
    b = [(s.title, s.path, s.published) for s in (STORY_ENTITY, STORY_SNACK)] + [("x", "/gone", STORY_SNACK.published)]
    http.add("/a.rss", rss("A", http.base, a), etag='"a1"')
    http.add("/b.rss", rss("B", http.base, b))
    s = settings(db_url)
    db = open_database(db_url)
    states = feeds(db, http.url("/a.rss"), http.url("/b.rss"))
    with HttpClient(s.fetch, retry_delays=()) as client, ExtractorPool(workers=0) as pool:
        results = [poll_feed(client, f) for f in states]
        assert [r.status for r in results] == ["new", "new"]
        record_polls(db, results, run_id="r1", now=utcnow())
        items = select_new_items(db, results)
        assert len(items) == 4  # the story both feeds carry is fetched once
        report = ingest(client, db, pool, default_classifier(), items, settings=s, run_id="r1")
        assert len(report.stored_ids) == 3 and report.failures == [(http.url("/gone"), "HTTP 404")]
        assert http.hits(STORY_ENTITY.path) == 1

        # second poll: feed a answers 304, feed b lists nothing new except the failing page
        states = feeds(db, http.url("/a.rss"), http.url("/b.rss"))
        again = [poll_feed(client, f) for f in states]
        assert [r.status for r in again] == ["unchanged", "new"]
        assert [i.url for i in select_new_items(db, again)] == [http.url("/gone")]
        # after three permanent failures newsmon stops fetching that page
        for run in ("r2", "r3"):
            ingest(client, db, pool, default_classifier(), select_new_items(db, again), settings=s, run_id=run)
        assert select_new_items(db, again) == []
    with db.session() as sess:
        stored = list(repo.iter_articles(sess))
        assert sorted(a.title for a in stored) == sorted(x.title for x in (STORY_ENTITY, STORY_CLOUD, STORY_SNACK))
        assert repo.failures_of_run(sess, "r1") == [("fetch", http.url("/gone"), "HTTP 404")]
    db.dispose()


def test_ingest_concurrent_duplicates_and_progress(http: LoopbackHTTP, tmp_path: Path) -> None:
    serve_story(http, "Desk", STORY_ENTITY)
    s = settings(f"sqlite:///{tmp_path / 'x.db'}")
    db = open_database(s.database_url)
    seen: list[str] = []
    items = items_from_urls([http.url(STORY_ENTITY.path) + "?utm_source=a", http.url(STORY_ENTITY.path)])
    assert len(items) == 1 and items[0].trusted and items[0].origin == "backfill"
    twice = [items[0], IngestItem(url=items[0].url, link=items[0].link, source="again")]
    with HttpClient(s.fetch, retry_delays=()) as client, ExtractorPool(workers=0) as pool:
        report = ingest(client, db, pool, default_classifier(), twice, settings=s, run_id="r",
                        on_progress=lambda item, outcome: seen.append(outcome))
    assert len(report.stored_ids) == 1 and report.duplicates == 1
    assert sorted(seen) == ["duplicate", "stored"]
    db.dispose()


def test_extraction_in_worker_processes(http: LoopbackHTTP, tmp_path: Path) -> None:
    serve_story(http, "Desk", STORY_CLOUD)
    http.add("/empty.html", "<html><body><nav>Home | World</nav></body></html>")
    s = settings(f"sqlite:///{tmp_path / 'w.db'}")
    db = open_database(s.database_url)
    items = items_from_urls([http.url(STORY_CLOUD.path), http.url("/empty.html")])
    with HttpClient(s.fetch, retry_delays=()) as client, ExtractorPool(workers=1, time_limit=60) as pool:
        report = ingest(client, db, pool, default_classifier(), items, settings=s, run_id="w")
    assert len(report.stored_ids) == 1
    # the child's own reason comes back, not a broken pool ("worker died"), whatever the order
    assert report.failures == [
        (http.url("/empty.html"), "no article text found on the page (navigation or chrome only)")]
    db.dispose()


def test_worker_pool_survives_a_page_without_article(http: LoopbackHTTP) -> None:
    serve_story(http, "Desk", STORY_CLOUD)
    http.add("/empty.html", "<html><body><nav>Home | World</nav></body></html>")
    s = settings("sqlite://")
    with HttpClient(s.fetch, retry_delays=()) as client, ExtractorPool(workers=1, time_limit=60) as pool:
        empty, story = (items_from_urls([http.url(p)])[0] for p in ("/empty.html", STORY_CLOUD.path))
        with pytest.raises(ExtractError, match="no article text found"):
            pool.extract(client.fetch_page(empty.url, trusted=True), empty, max_bytes=s.fetch.max_bytes)
        first_pool = pool._current()
        article = pool.extract(client.fetch_page(story.url, trusted=True), story, max_bytes=s.fetch.max_bytes)
        assert article.title == STORY_CLOUD.title
        assert pool._current() is first_pool  # the error did not break the pool


def test_google_news_links_fail_with_a_reason_and_no_request(tmp_path: Path) -> None:
    s = settings(f"sqlite:///{tmp_path / 'g.db'}")
    db = open_database(s.database_url)
    items = items_from_urls(["https://news.google.com/rss/articles/CBMiWkFVX3lxTE1abc?oc=5"])
    # the private-address rule and no network here: a fetch attempt would fail differently
    with HttpClient(s.fetch, retry_delays=()) as client, ExtractorPool(workers=0) as pool:
        report = ingest(client, db, pool, default_classifier(), items, settings=s, run_id="g")
    assert report.stored_ids == []
    [(url, reason)] = report.failures
    assert url.startswith("https://news.google.com/rss/articles/") and "JavaScript redirect" in reason
    db.dispose()

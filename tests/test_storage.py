"""Storage on SQLite and PostgreSQL: schema creation, idempotent inserts, feeds, failures, queries."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from newsmon.errors import StorageError
from newsmon.models import Classification, ExtractedArticle, FeedSpec
from storage import repo
from storage.db import SCHEMA_VERSION, open_database
from storage.schema import Article, Feed, SchemaVersion

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def _new(url: str, title: str = "US widens chip curbs", published: datetime | None = NOW) -> repo.NewArticle:
    return repo.NewArticle(
        url=url, link=url + "?utm_source=rss", source="Example Wire", origin="feed",
        article=ExtractedArticle(url=url, title=title, text="Body text.", published=published),
    )


def test_schema_created_once_and_reopened(db_url: str) -> None:
    db = open_database(db_url)
    db.dispose()
    db = open_database(db_url)  # second open: migrate is a no-op
    with db.session() as s:
        assert s.scalar(select(SchemaVersion.version)) == SCHEMA_VERSION
        assert s.scalar(select(func.count()).select_from(SchemaVersion)) == 1
    db.dispose()


def test_article_stored_once_by_canonical_url(db_url: str) -> None:
    db = open_database(db_url)
    with db.session() as s:
        first = repo.insert_article(s, _new("https://example.com/a"), now=NOW)
        again = repo.insert_article(s, _new("https://example.com/a", title="edited"), now=NOW)
        other = repo.insert_article(s, _new("https://example.com/b"), now=NOW)
    assert first is not None and other is not None and again is None
    with db.session() as s:
        assert s.scalar(select(func.count(Article.id))) == 2
        assert s.scalar(select(Article.title).where(Article.id == first)) == "US widens chip curbs"
        assert repo.known_urls(s, ["https://example.com/a", "https://example.com/zzz"]) == {
            "https://example.com/a"
        }
    db.dispose()


def test_classification_and_queries_roundtrip(db_url: str) -> None:
    db = open_database(db_url)
    with db.session() as s:
        old = repo.insert_article(s, _new("https://example.com/old", published=NOW - timedelta(days=10)), now=NOW)
        new = repo.insert_article(s, _new("https://example.com/new", published=None), now=NOW)
        assert old and new
        repo.set_classification(
            s, old, Classification(("chip-export",), {"chip-export": 0.9}, {"chip-export": ("Entity List",)}),
            now=NOW,
        )
    with db.session() as s:
        chip = list(repo.iter_articles(s, topic="chip-export"))
        assert [a.url for a in chip] == ["https://example.com/old"]
        assert chip[0].published == NOW - timedelta(days=10)
        assert chip[0].published is not None and chip[0].published.tzinfo is not None
        recent = list(repo.iter_articles(s, since=NOW - timedelta(days=1)))
        assert [a.url for a in recent] == ["https://example.com/new"]  # no date: fetched_at counts
        row = s.get(Article, old)
        assert row is not None and row.evidence == {"chip-export": ["Entity List"]}
    db.dispose()


def test_feed_validators_and_failure_streak(db_url: str) -> None:
    db = open_database(db_url)
    with db.session() as s:
        (state,) = repo.ensure_feeds(s, [FeedSpec("https://example.com/rss", "Ex")])
        repo.record_feed_poll(s, state.id, now=NOW, ok=True, status=200, etag='"v1"', last_modified="Mon")
        repo.record_feed_poll(s, state.id, now=NOW, ok=False, error="HTTP 500")
        repo.record_feed_poll(s, state.id, now=NOW, ok=False, error="HTTP 502")
    with db.session() as s:
        (again,) = repo.ensure_feeds(s, [FeedSpec("https://example.com/rss", "Ex")])
        assert (again.id, again.etag, again.last_modified) == (state.id, '"v1"', "Mon")
        feed = s.get(Feed, state.id)
        assert feed is not None and feed.consecutive_failures == 2 and feed.last_error == "HTTP 502"
        repo.record_feed_poll(s, state.id, now=NOW, ok=True, status=304)
    with db.session() as s:
        feed = s.get(Feed, state.id)
        assert feed is not None and feed.consecutive_failures == 0 and feed.etag == '"v1"'
    db.dispose()


def test_failures_recorded_per_run(db_url: str) -> None:
    db = open_database(db_url)
    with db.session() as s:
        repo.record_failure(s, run_id="r1", stage="fetch", url="https://x/1", reason="HTTP 404", now=NOW)
        repo.record_failure(s, run_id="r2", stage="feed", url="https://x/f", reason="timeout", now=NOW)
    with db.session() as s:
        assert repo.failures_of_run(s, "r1") == [("fetch", "https://x/1", "HTTP 404")]
        assert [f.run_id for f in repo.recent_failures(s, limit=5)] == ["r2", "r1"]
    db.dispose()


def test_naive_datetime_refused(db_url: str) -> None:
    db = open_database(db_url)
    with pytest.raises(Exception, match="naive datetime"), db.session() as s:
        repo.insert_article(s, _new("https://example.com/n"), now=datetime(2026, 1, 1))
    db.dispose()


def test_two_processes_creating_the_schema_at_once(db_url: str) -> None:
    errors: list[BaseException] = []

    def opener() -> None:
        try:
            open_database(db_url).dispose()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=opener) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_unreachable_database_is_a_storage_error_without_password() -> None:
    with pytest.raises(StorageError) as info:
        open_database("postgresql+psycopg://newsmon:s3cret@127.0.0.1:9/newsmon")
    assert "s3cret" not in str(info.value)
    assert "127.0.0.1:9" in str(info.value)

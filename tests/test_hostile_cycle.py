"""A hostile feed world against the cycle's stages (issue 14): bad links, over-long values, huge feeds,
429 + Retry-After shared through the database. Real loopback servers; SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from classify.classifier import default_classifier
from newsmon.config import FetchSettings, Settings, load_settings
from newsmon.errors import ConfigError, HostBackingOff, HTTPStatusFailure
from newsmon.httpclient import HttpClient
from newsmon.models import FeedSpec
from newsmon.pipeline import (
    DatabaseHostGate,
    ExtractorPool,
    ingest,
    poll_feed,
    record_polls,
    select_new_items,
    utcnow,
)
from storage import repo
from storage.db import Database, open_database
from storage.schema import Article, Failure, Feed
from tests.e2e_site import STORY_CLOUD, STORY_ENTITY, article_page, serve_story
from tests.support import LoopbackHTTP


def settings(db_url: str, **fetch: object) -> Settings:
    return Settings(database_url=db_url, feeds=(),
                    fetch=FetchSettings(timeout=5, allow_private_networks=True, **fetch))  # type: ignore[arg-type]


def feed_states(db: Database, *urls: str) -> list[repo.FeedState]:
    with db.session() as s:
        return repo.ensure_feeds(s, [FeedSpec(u, f"feed {i}") for i, u in enumerate(urls)])


def raw_rss(links: list[str]) -> str:
    items = "".join(f"<item><title>item {i}</title><link>{link}</link></item>" for i, link in enumerate(links))
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{items}</channel></rss>'


def failures(db: Database) -> list[tuple[str, str, str]]:
    with db.session() as s:
        return [(f.stage, f.url, f.reason) for f in s.scalars(select(Failure).order_by(Failure.id))]


def run_stages(db: Database, s: Settings, urls: list[str]) -> list[str]:
    """poll → record → select → ingest, as the flow does; returns the stored article URLs."""
    states = feed_states(db, *urls)
    with HttpClient(s.fetch, retry_delays=()) as client, ExtractorPool(workers=0) as pool:
        results = [poll_feed(client, f) for f in states]
        record_polls(db, results, run_id="r1", now=utcnow())
        items = select_new_items(db, results)
        ingest(client, db, pool, default_classifier(), items, settings=s, run_id="r1")
    with db.session() as sess:
        return sorted(sess.scalars(select(Article.url)))


# -- item 1: one bad link never sinks the cycle ----------------------------------------------------------


def test_bad_item_links_are_recorded_and_the_rest_goes_on(http: LoopbackHTTP, db_url: str) -> None:
    serve_story(http, "Desk", STORY_ENTITY)
    serve_story(http, "Desk", STORY_CLOUD)
    http.add("/bad.rss", raw_rss([http.url(STORY_ENTITY.path), "http://a:99999/x", "http://[::1/x"]))
    http.add("/good.rss", raw_rss([http.url(STORY_CLOUD.path)]))
    db = open_database(db_url)
    stored = run_stages(db, settings(db_url), [http.url("/bad.rss"), http.url("/good.rss")])
    assert stored == sorted([http.url(STORY_ENTITY.path), http.url(STORY_CLOUD.path)])
    recorded = failures(db)
    assert [(stage, url) for stage, url, _ in recorded] == [
        ("feed-item", "http://a:99999/x"), ("feed-item", "http://[::1/x")]
    assert all(http.url("/bad.rss") in reason and "bad item link" in reason for _, _, reason in recorded)
    assert "Port out of range" in recorded[0][2] and "Invalid IPv6 URL" in recorded[1][2]
    with db.session() as sess:  # the feed itself is healthy
        assert {f.consecutive_failures for f in sess.scalars(select(Feed))} == {0}
    db.dispose()


# -- item 2: over-long values are cut or refused per item, never fatal --------------------------------


def long_page(story_path: str, http: LoopbackHTTP) -> None:
    page = article_page("S" * 700, STORY_ENTITY).replace('content="Dana Whitfield"', f'content="{"A" * 700}"')
    http.add(story_path, page)


def test_over_long_values_never_sink_a_batch(http: LoopbackHTTP, db_url: str) -> None:
    long_page(STORY_ENTITY.path, http)
    serve_story(http, "Desk", STORY_CLOUD)
    long_link = http.url("/news/" + "x" * 2100 + ".html")
    http.add("/long.rss", raw_rss([http.url(STORY_ENTITY.path), long_link, http.url(STORY_CLOUD.path)]),
             headers={"ETag": '"' + "e" * 1500 + '"', "Last-Modified": "L" * 300})
    db = open_database(db_url)
    (state,) = feed_states(db, http.url("/long.rss"))
    with db.session() as sess:  # validators from an earlier poll
        repo.record_feed_poll(sess, state.id, now=utcnow(), ok=True, etag='"old"', last_modified="Mon")
    stored = run_stages(db, settings(db_url), [http.url("/long.rss")])
    assert stored == sorted([http.url(STORY_ENTITY.path), http.url(STORY_CLOUD.path)])
    with db.session() as s:
        article = s.scalars(select(Article).where(Article.url == http.url(STORY_ENTITY.path))).one()
        assert article.author is not None and len(article.author) == 512  # cut, not refused
        assert len(article.source) <= 512
        feed = s.scalars(select(Feed)).one()
        assert feed.etag is None and feed.last_modified is None  # unusable validators dropped, old ones too
        assert feed.consecutive_failures == 0
    ((stage, url, reason),) = failures(db)
    assert stage == "feed-item" and url.startswith(http.url("/news/xxx")) and "longer than 2048" in reason
    db.dispose()


def test_an_over_long_configured_feed_url_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "newsmon.toml"
    path.write_text(f'[[feeds]]\nurl = "https://example.org/{"f" * 2100}"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"feeds\[0\]\.url.*at most 2048 characters"):
        load_settings(str(path), env={}, cwd=tmp_path)


# -- item 7: a cap on items per feed; 429 + Retry-After shared through the database --------------------


def test_items_per_feed_are_capped_and_the_cut_recorded(http: LoopbackHTTP, db_url: str) -> None:
    http.add("/huge.rss", raw_rss([http.url(f"/n/{i}.html") for i in range(5000)]))
    db = open_database(db_url)
    (state,) = feed_states(db, http.url("/huge.rss"))
    with HttpClient(settings(db_url, max_items_per_feed=50).fetch, retry_delays=()) as client:
        result = poll_feed(client, state)
    assert len(result.items) == 50 and result.dropped == 4950
    assert result.items[0].url == http.url("/n/0.html")  # the first (newest) entries are kept
    record_polls(db, [result], run_id="r1", now=utcnow())
    ((stage, url, reason),) = failures(db)
    assert (stage, url) == ("feed-item", http.url("/huge.rss")) and "4950 item(s) beyond" in reason
    db.dispose()


def test_the_default_cap_is_sensible() -> None:
    assert FetchSettings().max_items_per_feed == 200


def test_retry_after_is_honoured_by_every_process_through_the_database(http: LoopbackHTTP, db_url: str) -> None:
    http.add("/limited.rss", "slow down", status=429, headers={"Retry-After": "120"}, content_type="text/plain")
    http.add("/other.rss", raw_rss([]))
    db = open_database(db_url)
    s = settings(db_url)
    with HttpClient(s.fetch, retry_delays=(0.1, 0.1), gate=DatabaseHostGate(db)) as first:
        with pytest.raises(HTTPStatusFailure, match="HTTP 429"):
            first.fetch_feed(http.url("/limited.rss"))
        assert http.hits("/limited.rss") == 1  # no in-run retry after a 429
        with pytest.raises(HostBackingOff, match=r"127\.0\.0\.1 asked us to wait .*Retry-After"):
            first.fetch_feed(http.url("/other.rss"))  # same host: left alone
    # a second process (its own client and gate, same database) honours it without asking the host
    second_db = open_database(db_url)
    with HttpClient(s.fetch, retry_delays=(), gate=DatabaseHostGate(second_db)) as second, \
            pytest.raises(HostBackingOff):
        second.fetch_page(http.url("/other.rss"), trusted=True)
    assert http.hits("/other.rss") == 0
    with db.session() as sess:
        (until,) = repo.host_backoffs(sess, now=utcnow()).values()
    assert timedelta(seconds=100) < until - datetime.now(UTC) <= timedelta(seconds=121)
    db.dispose()
    second_db.dispose()


def test_a_database_from_before_host_backoff_is_upgraded(db_url: str) -> None:
    from sqlalchemy import inspect, text

    from storage import migrations

    db = open_database(db_url)
    with db.engine.begin() as conn:  # make it look like a database from before this table (revision 0001)
        conn.execute(text("DROP TABLE host_backoff"))
        conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    db.dispose()
    db = open_database(db_url)
    assert inspect(db.engine).has_table("host_backoff")
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == migrations.head()
    assert migrations.head() >= "0002"
    db.dispose()

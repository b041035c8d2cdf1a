"""Stories, the outbox and delivery, on SQLite and PostgreSQL, against real loopback servers.

SMTP is aiosmtpd (``smtp`` fixture, can refuse the next n messages), webhooks a ``json://`` endpoint on
the loopback HTTP server (``http`` fixture, ``post_status`` answers chosen statuses in turn).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from alerts.pipeline import (
    check_feed_health,
    deliver_pending,
    enqueue_alerts,
    iter_alert_rows,
    next_digest_time,
    notify_test,
)
from alerts.settings import Route
from newsmon.config import Settings
from newsmon.models import FeedSpec
from storage import outbox, repo
from storage.db import Database, open_database
from storage.schema import Article, Failure
from tests.alerts_support import NOW, STORIES, add_article, mail_url, make_settings, reword
from tests.support import LoopbackHTTP, SMTPSink


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = open_database(db_url)
    yield database
    database.dispose()


def _enqueue(db: Database, settings: Settings, *, alert: bool = True, now=NOW) -> int:  # type: ignore[no-untyped-def]
    with db.session() as s:
        ids = list(s.scalars(select(Article.id).where(Article.story_id.is_(None)).order_by(Article.id)))
        return enqueue_alerts(s, ids, settings, now=now, alert=alert).deliveries_created


def _statuses(db: Database) -> Counter[str]:
    with db.session() as s:
        return Counter(str(row["status"]) for row in iter_alert_rows(s))


def _json_url(http: LoopbackHTTP, path: str = "/hook") -> str:
    return http.url(path).replace("http://", "json://")


# -- clustering into stories --------------------------------------------------------------------------


def test_copies_join_the_story_and_alert_once(db: Database, db_url: str, smtp: SMTPSink) -> None:
    settings = make_settings(db_url, notify=[mail_url(smtp.port)])
    title, text = STORIES["entity"]
    add_article(db, url="https://wire.example/entity", title=title, text=text, source="Wire")
    assert _enqueue(db, settings) == 1
    # syndicated copy with a new URL and an edited headline, and a spun rewrite (seed 003's kind)
    add_article(db, url="https://paper.example/2026/us-blacklists", title=title + " | The Paper",
                text="HONG KONG (Wire) — " + text, source="The Paper")
    add_article(db, url="https://spin.example/a", title="US provides 14 Chinese corporations to Entity List",
                text=reword(text), source="Spin Daily")
    assert _enqueue(db, settings) == 0
    with db.session() as s:
        stories = s.scalar(select(func.count(outbox.Story.id)))
        sources = s.scalars(select(outbox.StorySource.source).order_by(outbox.StorySource.id)).all()
    assert stories == 1
    assert sources == ["Wire", "The Paper", "Spin Daily"]
    report = deliver_pending(db, settings, now=NOW, run_id="r1")
    assert (report.sent, report.failures) == (1, [])
    body = smtp.messages[0].get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "The Paper" in body and "Spin Daily" in body  # other sources are listed


def test_different_story_same_week_alerts_separately(db: Database, db_url: str, http: LoopbackHTTP) -> None:
    settings = make_settings(db_url, notify=[_json_url(http)])
    for key in ("entity", "drones", "cloud"):
        title, text = STORIES[key]
        add_article(db, url=f"https://x.example/{key}", title=title, text=text,
                    topics=("cloud-policy",) if key == "cloud" else ("chip-export",))
    assert _enqueue(db, settings) == 3
    deliver_pending(db, settings, now=NOW, run_id="r1")
    assert len(http.json_posts("/hook")) == 3


def test_enqueue_is_idempotent_and_off_topic_is_filed_without_alert(db: Database, db_url: str) -> None:
    settings = make_settings(db_url, notify=["json://127.0.0.1:9/x"])
    title, text = STORIES["entity"]
    add_article(db, url="https://x.example/1", title=title, text=text)
    add_article(db, url="https://x.example/2", title="Potato chip prices rise", text="Snack makers " * 40,
                topics=())
    with db.session() as s:
        ids = list(s.scalars(select(Article.id)))
        first = enqueue_alerts(s, ids, settings, now=NOW)
    with db.session() as s:
        second = enqueue_alerts(s, ids, settings, now=NOW)
    assert (first.stories_created, first.deliveries_created) == (2, 1)
    assert (second.articles, second.deliveries_created, second.skipped) == (0, 0, 2)
    with db.session() as s:
        assert s.scalar(select(func.count(outbox.Delivery.id))) == 1
        assert s.scalar(select(func.count(Article.id)).where(Article.story_id.is_(None))) == 0


def test_backfill_without_alert_queues_nothing_and_never_later(db: Database, db_url: str) -> None:
    settings = make_settings(db_url, notify=["json://127.0.0.1:9/x"])
    title, text = STORIES["entity"]
    add_article(db, url="https://x.example/old", title=title, text=text, origin="backfill")
    assert _enqueue(db, settings, alert=False) == 0
    add_article(db, url="https://y.example/copy", title=title, text=text)  # a live copy of it
    assert _enqueue(db, settings) == 0
    with db.session() as s:
        assert s.scalar(select(func.count(outbox.Delivery.id))) == 0


# -- routing and volume -----------------------------------------------------------------------------


def test_routing_topics_to_targets_and_digest_modes(db: Database, db_url: str, http: LoopbackHTTP) -> None:
    chips, cloud_team = _json_url(http, "/chips"), _json_url(http, "/cloud")
    settings = make_settings(db_url, notify=[chips], topics=("chip-export",),
                             routes=[Route(notify=(cloud_team,), topics=("cloud-policy",), mode="daily")])
    add_article(db, url="https://x.example/e", title=STORIES["entity"][0], text=STORIES["entity"][1])
    add_article(db, url="https://x.example/c", title=STORIES["cloud"][0], text=STORIES["cloud"][1],
                topics=("cloud-policy",))
    assert _enqueue(db, settings) == 2
    deliver_pending(db, settings, now=NOW, run_id="r1")
    assert len(http.json_posts("/chips")) == 1
    assert http.json_posts("/cloud") == []  # the daily digest is not due yet
    due = next_digest_time("daily", NOW, settings.alerts)
    assert due == NOW.replace(hour=7) + timedelta(days=1)
    report = deliver_pending(db, settings, now=due, run_id="r2")
    posts = http.json_posts("/cloud")
    assert (report.digests, len(posts)) == (1, 1)
    assert "daily digest" in posts[0]["title"] and "know-your-customer" in posts[0]["message"]
    assert _statuses(db) == Counter(sent=2)


def test_more_than_burst_limit_goes_out_as_one_digest(db: Database, db_url: str, http: LoopbackHTTP) -> None:
    settings = make_settings(db_url, notify=[_json_url(http)], burst_limit=2)
    for i, key in enumerate(("entity", "drones", "cloud")):
        add_article(db, url=f"https://x.example/{i}", title=STORIES[key][0], text=STORIES[key][1])
    assert _enqueue(db, settings) == 3
    report = deliver_pending(db, settings, now=NOW, run_id="r1")
    posts = http.json_posts("/hook")
    assert (report.sent, report.messages, report.digests, len(posts)) == (3, 1, 1, 1)
    assert "3 stories" in posts[0]["title"]


# -- exactly once -----------------------------------------------------------------------------------


def test_smtp_refusing_three_times_is_retried_until_each_target_has_it_once(
    db: Database, db_url: str, smtp: SMTPSink, http: LoopbackHTTP
) -> None:
    targets = [mail_url(smtp.port, "a@example.com"), mail_url(smtp.port, "b@example.com"), _json_url(http)]
    settings = make_settings(db_url, notify=targets)
    for i, key in enumerate(("entity", "drones")):
        add_article(db, url=f"https://x.example/{i}", title=STORIES[key][0], text=STORIES[key][1])
    assert _enqueue(db, settings) == 6
    smtp.refuse_next(3)
    first = deliver_pending(db, settings, now=NOW, run_id="r1")
    assert (first.sent, first.retried, len(first.failures)) == (3, 3, 3)
    assert all(t.startswith("mailto://127.0.0.1") for t, _ in first.failures)
    assert _statuses(db) == Counter(sent=3, pending=3)
    for cycle in range(3):
        deliver_pending(db, settings, now=NOW + timedelta(minutes=cycle + 1), run_id=f"r{cycle + 2}")
    assert _statuses(db) == Counter(sent=6)
    received = Counter((str(m["To"]), str(m["Subject"])) for m in smtp.messages)
    assert len(received) == 4 and set(received.values()) == {1}  # 2 stories × 2 mailboxes, once each
    assert len(http.json_posts("/hook")) == 2
    with db.session() as s:
        assert s.scalar(select(func.count(Failure.id)).where(Failure.stage == "deliver")) == 3


def test_retry_limit_marks_failed_and_keeps_listing(db: Database, db_url: str, http: LoopbackHTTP) -> None:
    settings = make_settings(db_url, notify=[_json_url(http)], max_attempts=2)
    http.post_status["/hook"] = [500, 500, 500]
    add_article(db, url="https://x.example/e", title=STORIES["entity"][0], text=STORIES["entity"][1])
    _enqueue(db, settings)
    first = deliver_pending(db, settings, now=NOW, run_id="r1")
    second = deliver_pending(db, settings, now=NOW + timedelta(minutes=5), run_id="r2")
    third = deliver_pending(db, settings, now=NOW + timedelta(minutes=10), run_id="r3")
    assert (first.retried, second.failed, third.sent + third.failed) == (1, 1, 0)
    with db.session() as s:
        (row,) = list(iter_alert_rows(s))
    assert (row["status"], row["attempts"]) == ("failed", 2)
    assert row["last_error"] and "retry limit" in second.failures[0][1]


def test_back_off_waits_between_attempts(db: Database, db_url: str, http: LoopbackHTTP) -> None:
    settings = make_settings(db_url, notify=[_json_url(http)], retry_backoff=(0.0, 600.0))
    http.post_status["/hook"] = [503, 503]
    add_article(db, url="https://x.example/e", title=STORIES["entity"][0], text=STORIES["entity"][1])
    _enqueue(db, settings)
    deliver_pending(db, settings, now=NOW, run_id="r1")           # attempt 1 fails, retry next cycle
    deliver_pending(db, settings, now=NOW + timedelta(seconds=1), run_id="r2")  # attempt 2 fails: wait 600 s
    skipped = deliver_pending(db, settings, now=NOW + timedelta(seconds=60), run_id="r3")
    assert skipped.sent == 0 and skipped.failures == []
    done = deliver_pending(db, settings, now=NOW + timedelta(seconds=700), run_id="r4")
    assert done.sent == 1 and len(http.json_posts("/hook")) == 1


def test_claim_is_compare_and_set_and_a_stale_claim_is_taken_over(db: Database, db_url: str) -> None:
    settings = make_settings(db_url, notify=["json://127.0.0.1:9/x"])
    add_article(db, url="https://x.example/e", title=STORIES["entity"][0], text=STORIES["entity"][1])
    _enqueue(db, settings)
    with db.session() as s:
        (row_id,) = s.scalars(select(outbox.Delivery.id))
        assert outbox.claim_deliveries(s, [row_id], token="a", now=NOW, lease_seconds=900) == [row_id]
    with db.session() as s:
        assert outbox.claim_deliveries(s, [row_id], token="b", now=NOW, lease_seconds=900) == []
        # the holder crashed: after the lease the claim is taken over (nothing is lost)
        later = NOW + timedelta(seconds=901)
        assert outbox.claim_deliveries(s, [row_id], token="b", now=later, lease_seconds=900) == [row_id]
    with db.session() as s:  # the crashed holder can no longer record anything
        assert outbox.record_sent(s, [row_id], token="a", now=NOW, sent_as="single") == 0
        assert outbox.record_sent(s, [row_id], token="b", now=NOW, sent_as="single") == 1


def test_concurrent_deliveries_send_nothing_twice(db_url: str, http: LoopbackHTTP) -> None:
    first_db = open_database(db_url)
    settings = make_settings(db_url, notify=[_json_url(http, "/a"), _json_url(http, "/b")])
    for i, key in enumerate(("entity", "drones", "cloud")):
        add_article(first_db, url=f"https://x.example/{i}", title=STORIES[key][0], text=STORIES[key][1])
    _enqueue(first_db, settings)
    dbs = [first_db, *(open_database(db_url) for _ in range(3))]  # four "processes", own engines
    barrier = threading.Barrier(len(dbs))
    errors: list[BaseException] = []

    def run(database: Database, n: int) -> None:
        try:
            barrier.wait()
            deliver_pending(database, settings, now=NOW, run_id=f"p{n}")
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(d, n)) for n, d in enumerate(dbs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for d in dbs:
        d.dispose()
    assert errors == []
    assert len(http.json_posts("/a")) == 3 and len(http.json_posts("/b")) == 3


# -- feed health -------------------------------------------------------------------------------------


def test_feed_health_alerts_once_when_down_and_once_on_recovery(db: Database, db_url: str,
                                                               http: LoopbackHTTP) -> None:
    settings = make_settings(db_url, notify=[_json_url(http)], feed_failure_threshold=3)
    with db.session() as s:
        (feed,) = repo.ensure_feeds(s, [FeedSpec("https://f.example/rss", "F")])

    def poll(ok: bool, minute: int) -> None:
        now = NOW + timedelta(minutes=minute)
        with db.session() as s:
            repo.record_feed_poll(s, feed.id, now=now, ok=ok, status=200 if ok else 503,
                                  error=None if ok else "HTTP 503")
        with db.session() as s:
            check_feed_health(s, settings, now=now)
        deliver_pending(db, settings, now=now, run_id=f"m{minute}")

    for minute in range(6):
        poll(False, minute)
    poll(True, 6)
    poll(True, 7)
    titles = [p["title"] for p in http.json_posts("/hook")]
    assert titles == ["[newsmon] feed down · F", "[newsmon] feed recovered · F"]
    assert "HTTP 503" in http.json_posts("/hook")[0]["message"]


# -- listing, notify-test, secrets --------------------------------------------------------------------


def test_alert_rows_are_masked_and_complete(db: Database, db_url: str, smtp: SMTPSink) -> None:
    secret = f"mailto://bob:hunter2secret@127.0.0.1:{smtp.port}?to=a@example.com&mode=insecure"
    settings = make_settings(db_url, notify=[secret, "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ"])
    add_article(db, url="https://x.example/e", title=STORIES["entity"][0], text=STORIES["entity"][1])
    _enqueue(db, settings)
    with db.session() as s:
        rows = list(iter_alert_rows(s))
    assert len(rows) == 2
    for row in rows:
        assert {"url", "title", "topics", "target", "status", "attempts", "sent_at"} <= set(row)
        assert row["status"] == "pending" and row["topics"] == ["chip-export"]
        assert "hunter2secret" not in str(row) and "TIiajkdnlazkcOXrIdevi7FQ" not in str(row)
    with db.session() as s:
        stored = " ".join(s.scalars(select(outbox.Delivery.target_masked)))
    assert "hunter2secret" not in stored


def test_orphaned_target_is_kept_pending_and_reported(db: Database, db_url: str, http: LoopbackHTTP) -> None:
    old = make_settings(db_url, notify=[_json_url(http, "/old")])
    add_article(db, url="https://x.example/e", title=STORIES["entity"][0], text=STORIES["entity"][1])
    _enqueue(db, old)
    report = deliver_pending(db, make_settings(db_url, notify=[_json_url(http, "/new")]), now=NOW, run_id="r")
    assert report.pending == 1 and "no longer configured" in report.failures[0][1]


def test_notify_test_reports_each_target(smtp: SMTPSink, http: LoopbackHTTP) -> None:
    http.post_status["/down"] = [500]
    settings = make_settings("sqlite://", notify=[mail_url(smtp.port), _json_url(http, "/down")])
    ok, bad = notify_test(settings)
    assert ok.ok and "127.0.0.1" in ok.target_masked
    assert not bad.ok and bad.error
    assert smtp.subjects() == ["[newsmon] test message"]


def test_sending_row_is_listed_as_pending(db: Database, db_url: str) -> None:
    settings = make_settings(db_url, notify=["json://127.0.0.1:9/x"])
    add_article(db, url="https://x.example/e", title=STORIES["entity"][0], text=STORIES["entity"][1])
    _enqueue(db, settings)
    with db.session() as s:
        s.execute(update(outbox.Delivery).values(status="sending", claimed_at=NOW, claimed_by="x"))
    assert _statuses(db) == Counter(pending=1)

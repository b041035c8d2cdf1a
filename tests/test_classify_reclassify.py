"""``newsmon reclassify`` after a topic-file change: recent articles that newly fall under an alert
topic are queued for alerting once (and delivered to a real SMTP server by the next delivery);
older ones are only re-filed. Real CLI subprocess, SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from alerts.pipeline import deliver_pending, enqueue_alerts
from storage import outbox
from storage.db import Database, open_database
from storage.schema import Article
from tests.alerts_support import STORIES, add_article, mail_url, make_settings
from tests.support import SMTPSink

_SCOPE = """
[scope]
description = "US or China"
min_weight = 1.0
[scope.vocabulary]
"China" = 1
"Chinese" = 1
"""

_TOPIC = """
[[topics]]
id = "chip-export"
description = "Controls on exporting chips to China."
threshold = {threshold}
examples = ["US adds Chinese firms to the Entity List"]
[topics.vocabulary]
"Entity List" = 5
"""


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = open_database(db_url)
    yield database
    database.dispose()


def _write(tmp: Path, db_url: str, port: int, threshold: float, days: float | None = None) -> Path:
    (tmp / "topics.toml").write_text(_SCOPE + _TOPIC.format(threshold=threshold), encoding="utf-8")
    extra = "" if days is None else f"reclassify_alert_days = {days}\n"
    cfg = tmp / "newsmon.toml"
    cfg.write_text(
        f'database_url = "{db_url}"\n'
        f'[classify]\ntopics_file = "topics.toml"\n{extra}'
        f'[alerts]\ntopics = ["chip-export"]\nnotify = ["{mail_url(port)}"]\n',
        encoding="utf-8",
    )
    return cfg


def _reclassify(cfg: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSMON_", "PREFECT_"))}
    done = subprocess.run(
        [sys.executable, "-m", "newsmon", "--config", str(cfg), "reclassify", *args],
        capture_output=True, text=True, env=env, cwd=cfg.parent, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _story_states(db: Database) -> dict[str, str]:
    with db.session() as s:
        rows = s.execute(select(Article.url, outbox.Story.alert_state)
                         .join(outbox.Story, Article.story_id == outbox.Story.id)).all()
    return {str(u): str(st) for u, st in rows}


def test_topic_change_queues_recent_articles_once_and_only_refiles_old_ones(
    db: Database, db_url: str, smtp: SMTPSink, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    recent, old = "https://wire.example/recent", "https://wire.example/old"
    title, text = STORIES["entity"]
    add_article(db, url=recent, title=title, text=text, topics=(), now=now - timedelta(days=1))
    title2, text2 = STORIES["drones"]
    add_article(db, url=old, title=title2, text=text2, topics=(), now=now - timedelta(days=10))
    settings = make_settings(db_url, notify=[mail_url(smtp.port)])
    with db.session() as s:  # the cycle filed both into stories: off-topic, nothing queued
        ids = list(s.scalars(select(Article.id)))
        assert enqueue_alerts(s, ids, settings, now=now).deliveries_created == 0
    assert _story_states(db) == {recent: "none", old: "none"}

    # a topic file under which neither is chip-export: nothing changes, nothing queued
    cfg = _write(tmp_path, db_url, smtp.port, threshold=1000)
    assert "topics changed on 0" in _reclassify(cfg)
    # the edit that brings both under chip-export: --dry-run counts, queues nothing
    cfg = _write(tmp_path, db_url, smtp.port, threshold=1)
    out = _reclassify(cfg, "--dry-run")
    assert "topics would change on 2" in out and "1 recent article(s)" in out
    assert _story_states(db) == {recent: "none", old: "none"}
    out = _reclassify(cfg)
    assert "topics changed on 2" in out and "queued (1 delivery(ies))" in out
    assert _story_states(db) == {recent: "queued", old: "none"}
    with db.session() as s:
        topics = {a.url: a.topics for a in s.scalars(select(Article))}
    assert topics == {recent: ["chip-export"], old: ["chip-export"]}  # the old one is re-filed

    report = deliver_pending(db, settings, now=datetime.now(UTC), run_id="r1")
    assert (report.sent, report.failures) == (1, [])
    assert [m["Subject"] for m in smtp.messages] == [f"[newsmon] chip-export · {title}"]
    body = smtp.messages[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Entity List" in body  # the evidence that decided it

    # flip the file back and forth: the story alerted once, it never queues again
    _reclassify(_write(tmp_path, db_url, smtp.port, threshold=1000))
    _reclassify(_write(tmp_path, db_url, smtp.port, threshold=1))
    assert deliver_pending(db, settings, now=datetime.now(UTC), run_id="r2").sent == 0
    assert len(smtp.messages) == 1


def test_age_limit_is_configurable(db: Database, db_url: str, smtp: SMTPSink, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    url = "https://wire.example/week-old"
    title, text = STORIES["entity"]
    add_article(db, url=url, title=title, text=text, topics=(), now=now - timedelta(days=6))
    settings = make_settings(db_url, notify=[mail_url(smtp.port)])
    with db.session() as s:
        enqueue_alerts(s, list(s.scalars(select(Article.id))), settings, now=now)
    out = _reclassify(_write(tmp_path, db_url, smtp.port, threshold=1, days=7))
    assert "queued (1 delivery(ies))" in out
    assert _story_states(db) == {url: "queued"}


def test_bad_age_is_refused(tmp_path: Path) -> None:
    cfg = tmp_path / "newsmon.toml"
    cfg.write_text('[classify]\nreclassify_alert_days = "two"\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSMON_", "PREFECT_"))}
    done = subprocess.run([sys.executable, "-m", "newsmon", "--config", str(cfg), "reclassify"],
                          capture_output=True, text=True, env=env, timeout=60, check=False)
    assert done.returncode == 2
    assert "classify.reclassify_alert_days" in done.stderr

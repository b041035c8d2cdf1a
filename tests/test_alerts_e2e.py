"""Alert delivery through the real ``newsmon`` CLI: retries across cycles, and two runs at once.

Feeds and pages come from the loopback HTTP server, mail goes to aiosmtpd, webhooks to a json://
endpoint. Each ``newsmon`` call is a subprocess talking to the session's Prefect test server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.e2e_site import STORY_ASML, STORY_CLOUD, STORY_ENTITY, STORY_ENTITY_COPY, atom, rss, serve_story
from tests.support import LoopbackHTTP, SMTPSink

pytestmark = pytest.mark.e2e

MAILBOXES = ("analyst@example.com", "desk@example.com")


def _env(tmp: Path, prefect_api_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSMON_", "PREFECT_"))}
    env.update(PREFECT_API_URL=prefect_api_url, PREFECT_HOME=str(tmp / "prefect-home"),
               PREFECT_SERVER_ANALYTICS_ENABLED="false", HOME=str(tmp / "home"),
               XDG_DATA_HOME=str(tmp / "xdg-data"))
    return env


def _world(http: LoopbackHTTP) -> list[str]:
    """Three alerting stories on a desk feed, plus a wire feed carrying a syndicated copy of one."""
    for site, story in [("Policy Desk", STORY_ENTITY), ("Policy Desk", STORY_CLOUD),
                        ("Policy Desk", STORY_ASML), ("Wire Service", STORY_ENTITY_COPY)]:
        serve_story(http, site, story)
    desk = [(s.title, s.path, s.published) for s in (STORY_ENTITY, STORY_CLOUD, STORY_ASML)]
    http.add("/feeds/desk.rss", rss("Policy Desk", http.base, desk), content_type="application/rss+xml")
    wire = [(STORY_ENTITY_COPY.title, STORY_ENTITY_COPY.path, STORY_ENTITY_COPY.published)]
    http.add("/feeds/wire.atom", atom("Wire Service", http.base, wire), content_type="application/atom+xml")
    return [http.url("/feeds/desk.rss"), http.url("/feeds/wire.atom")]


def _config(tmp: Path, database_url: str, feeds: list[str], smtp: SMTPSink, http: LoopbackHTTP) -> Path:
    mails = [f"mailto://127.0.0.1:{smtp.port}?mode=insecure&from=newsmon@example.com&to={box}"
             for box in MAILBOXES]
    notify = ", ".join(f'"{u}"' for u in [*mails, f"json://127.0.0.1:{http.port}/notify"])
    feed_tables = "\n".join(f'[[feeds]]\nurl = "{url}"\n' for url in feeds)
    path = tmp / "newsmon.toml"
    path.write_text(f'''database_url = "{database_url}"
{feed_tables}
[alerts]
notify = [{notify}]
retry_backoff = [0]

[fetch]
timeout = 5
allow_private_networks = true
''', encoding="utf-8")
    return path


def _newsmon(config: Path, env: dict[str, str], *args: str) -> list[str]:
    return [sys.executable, "-m", "newsmon", "--config", str(config), *args]


def _run(config: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_newsmon(config, env, *args), capture_output=True, text=True, env=env,
                          cwd=config.parent, timeout=300, check=False)


def _alerts(config: Path, env: dict[str, str]) -> list[dict[str, Any]]:
    done = _run(config, env, "alerts", "--jsonl")
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def _assert_each_target_got_each_story_once(smtp: SMTPSink, http: LoopbackHTTP) -> None:
    mails = Counter((str(m["To"]), str(m["Subject"])) for m in smtp.messages)
    assert set(mails.values()) == {1}, mails                      # nothing twice
    assert len(mails) == len(MAILBOXES) * 3                        # 3 stories × 2 mailboxes
    subjects = {s for _, s in mails}
    assert any(STORY_ENTITY.title[:40] in s for s in subjects)     # the original, not the wire copy
    posts = Counter(p["title"] for p in http.json_posts("/notify"))
    assert set(posts.values()) == {1} and set(posts) == subjects


def test_smtp_refusing_three_deliveries_are_retried_until_all_arrive_once(
    tmp_path: Path, prefect_api_url: str, http: LoopbackHTTP, smtp: SMTPSink
) -> None:
    env = _env(tmp_path, prefect_api_url)
    config = _config(tmp_path, f"sqlite:///{tmp_path / 'newsmon.db'}", _world(http), smtp, http)
    smtp.refuse_next(3)

    first = _run(config, env, "run")
    assert first.returncode == 0, first.stderr
    assert first.stdout.count("(attempt 1/8; will retry") == 3, first.stdout  # each refusal reported
    rows = _alerts(config, env)
    assert Counter(r["status"] for r in rows) == Counter(sent=6, pending=3)

    second = _run(config, env, "run")   # the next cycle retries the refused ones
    assert second.returncode == 0, second.stderr
    rows = _alerts(config, env)
    assert len(rows) == 9 and {r["status"] for r in rows} == {"sent"}
    assert sorted(r["attempts"] for r in rows) == [1] * 6 + [2] * 3
    _assert_each_target_got_each_story_once(smtp, http)


def test_two_runs_at_once_send_nothing_twice(
    tmp_path: Path, prefect_api_url: str, http: LoopbackHTTP, smtp: SMTPSink, db_url: str
) -> None:
    env = _env(tmp_path, prefect_api_url)
    config = _config(tmp_path, db_url, _world(http), smtp, http)
    procs = [subprocess.Popen(_newsmon(config, env, "run"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=env, cwd=tmp_path) for _ in range(2)]
    outputs = [p.communicate(timeout=300) for p in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
    rows = _alerts(config, env)
    assert len(rows) == 9 and {r["status"] for r in rows} == {"sent"}
    _assert_each_target_got_each_story_once(smtp, http)

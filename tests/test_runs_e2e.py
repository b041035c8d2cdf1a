"""A real cycle and a real backfill (CLI subprocesses, session Prefect server): their figures in
``newsmon runs`` and the markdown artifact each publishes to Prefect; ``newsmon feeds`` after real polls."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e_site import STORY_ENTITY
from tests.support import LoopbackHTTP, SMTPSink
from tests.test_e2e_cli import CLI, build_world, write_config

pytestmark = pytest.mark.e2e


def _artifacts(api_url: str, key: str) -> list[str]:
    """The markdown of every artifact with this key, newest first (Prefect's REST API)."""
    import httpx

    reply = httpx.post(f"{api_url}/artifacts/filter", timeout=30, json={
        "artifacts": {"key": {"any_": [key]}}, "sort": "CREATED_DESC", "limit": 50, "offset": 0})
    reply.raise_for_status()
    return [str(a["data"]) for a in reply.json()]


def test_cycle_and_backfill_figures_in_runs_and_prefect_artifacts(
        tmp_path: Path, prefect_api_url: str, http: LoopbackHTTP, smtp: SMTPSink) -> None:
    cli = CLI(tmp_path, prefect_api_url)
    config = write_config(tmp_path, build_world(http), smtp, http)
    before = len(_artifacts(prefect_api_url, "newsmon-run"))
    done = cli("run", "--json", config=config)
    assert done.returncode == 0, done.stderr
    backfill = cli("backfill", "-", "--no-progress", config=config, stdin=http.url("/news/missing.html") + "\n")
    assert backfill.returncode == 0, backfill.stderr

    rows = cli.jsonl("runs", "--jsonl", config=config)
    assert [r["kind"] for r in rows] == ["backfill", "run"]  # newest first
    cycle = rows[1]
    assert cycle["status"] == "finished" and cycle["feeds_total"] == 4 and cycle["stored"] == 5
    assert cycle["new_by_topic"]["chip-export"] >= 1 and cycle["new_by_topic"][""] >= 1  # the snack page
    assert cycle["alerts_sent"] == 4 and cycle["alerts_pending"] == 0
    assert sorted(name for name, _ in cycle["feed_failures"]) == ["broken", "fake"]
    assert rows[0]["page_failures"][0][1].startswith("HTTP 404")
    text = cli("runs", config=config).stdout
    assert "run" in text and "backfill" in text and "by topic: " in text

    markdown = _artifacts(prefect_api_url, "newsmon-run")
    assert len(markdown) == before + 1
    latest = markdown[0]
    assert latest.startswith("# newsmon cycle") and "| alerts sent | 4 |" in latest
    assert "## New articles by topic" in latest and "| chip-export |" in latest
    assert "| broken | HTTP 500" in latest and "| fake |" in latest and "not an RSS or Atom feed" in latest
    assert "HTTP 404" in _artifacts(prefect_api_url, "newsmon-backfill")[0]

    feeds = {f["name"]: f for f in cli.jsonl("feeds", "--jsonl", config=config)}
    assert feeds["broken"]["state"] == "failing" and feeds["broken"]["consecutive_failures"] == 1
    assert "500" in feeds["broken"]["last_error"]
    assert feeds["policy"]["state"] == "ok" and feeds["policy"]["items_seen"] == 3
    search = cli.jsonl("search", "entity list", "--jsonl", config=config)
    assert search and search[0]["title"] == STORY_ENTITY.title

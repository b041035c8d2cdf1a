"""Two ``newsmon run`` at once on one machine, on the embedded default (Prefect's ephemeral mode, one
PREFECT_HOME, one SQLite database): both complete, and at default verbosity stderr carries nothing
but newsmon's own progress line, even with a delivery target that fails (apprise logs a warning).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e_site import STORY_CLOUD, STORY_ENTITY, STORY_MODEL, rss, serve_story
from tests.support import LoopbackHTTP, SMTPSink, free_port

pytestmark = pytest.mark.e2e


def test_two_runs_at_once_both_complete_quietly(http: LoopbackHTTP, smtp: SMTPSink, tmp_path: Path) -> None:
    for story in (STORY_ENTITY, STORY_CLOUD, STORY_MODEL):
        serve_story(http, "Example Policy Desk", story)
    items = [(s.title, s.path, s.published) for s in (STORY_ENTITY, STORY_CLOUD, STORY_MODEL)]
    http.add("/feeds/desk.rss", rss("Example Policy Desk", http.base, items), content_type="application/rss+xml")
    closed = free_port()  # nothing listens there: every delivery to it fails, and apprise says so
    config = tmp_path / "newsmon.toml"
    config.write_text(f'''database_url = "sqlite:///{tmp_path / 'newsmon.db'}"
[[feeds]]
url = "{http.url('/feeds/desk.rss')}"
name = "desk"
[alerts]
notify = ["mailto://127.0.0.1:{smtp.port}?mode=insecure&from=newsmon@example.com&to=analyst@example.com",
          "json://127.0.0.1:{closed}/notify"]
[fetch]
timeout = 5
allow_private_networks = true
''', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSMON_", "PREFECT_"))}
    env.update(HOME=str(tmp_path), XDG_DATA_HOME=str(tmp_path / "xdg"), PREFECT_HOME=str(tmp_path / "prefect"),
               PREFECT_SERVER_ANALYTICS_ENABLED="false")
    cmd = [sys.executable, "-m", "newsmon", "--config", str(config), "run"]
    procs = [subprocess.Popen(cmd, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    results = [p.communicate(timeout=280) for p in procs]

    for proc, (out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
        assert err.strip() == "newsmon: polling 1 feed(s) …", err   # no Prefect, apprise or traceback lines
        assert out.startswith("feeds: 1 polled"), out
    stored = sum(int(out.split("articles: ", 1)[1].split(" new link(s), ", 1)[1].split(" stored")[0])
                 for out, _ in results)
    assert stored == 3                                              # each article stored by one of them
    assert sorted(smtp.subjects()) == sorted(set(smtp.subjects())) and len(smtp.subjects()) == 2

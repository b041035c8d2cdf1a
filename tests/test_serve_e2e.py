"""``newsmon serve --interval 30`` for real: a subprocess with no Prefect set-up at all.

No PREFECT_API_URL: newsmon starts its own local Prefect server (state in its data directory), the
server's scheduler creates the runs, the served deployment runs them. The test waits for two
completed scheduled cycles, checks the second one used conditional GETs, then stops serve with
Ctrl-C (SIGINT) and checks it exits 130, cleanly, with the local server gone. Between the two
cycles a manual ``newsmon run`` overlaps with serve: it must find serve's server, finish, and print
nothing on stderr but its progress line.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

import pytest

from tests.e2e_site import STORY_ENTITY, STORY_MODEL, rss, serve_story
from tests.support import LoopbackHTTP

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

LAST_MODIFIED = "Fri, 20 Nov 2026 15:00:00 GMT"


def finished_runs(db: Path) -> list[tuple[str, str]]:
    if not db.exists():
        return []
    with sqlite3.connect(db, timeout=30) as conn:
        try:
            rows = conn.execute(
                "SELECT id, started_at FROM runs WHERE kind = 'run' AND finished_at IS NOT NULL "
                "ORDER BY started_at").fetchall()
        except sqlite3.OperationalError:  # the schema is not there yet
            return []
    return [(str(r[0]), str(r[1])) for r in rows]


class Lines:
    """Collects a pipe's lines in a thread (so the child never blocks on a full pipe)."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.append(line)

    def text(self) -> str:
        self._thread.join(timeout=30)
        return "".join(self.lines)

    def count(self, marker: str) -> int:
        return sum(1 for line in list(self.lines) if marker in line)


def serve_env(tmp: Path, *, mkdir: bool = True) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSMON_", "PREFECT_"))}
    env.update(HOME=str(tmp / "home"), XDG_DATA_HOME=str(tmp / "xdg-data"), PYTHONWARNINGS="default")
    if mkdir:
        (tmp / "home").mkdir()
    return env


def test_serve_runs_scheduled_cycles_on_the_default_setup(http: LoopbackHTTP, tmp_path: Path) -> None:
    for story in (STORY_ENTITY, STORY_MODEL):
        serve_story(http, "Example Policy Desk", story)
    http.add("/feeds/desk.rss", rss("Example Policy Desk", http.base, [(STORY_ENTITY.title, STORY_ENTITY.path,
                                                                       STORY_ENTITY.published)]),
             content_type="application/rss+xml", etag='"desk-v1"')
    http.add("/feeds/wire.rss", rss("Wire", http.base, [(STORY_MODEL.title, STORY_MODEL.path, STORY_MODEL.published)]),
             content_type="application/rss+xml", headers={"Last-Modified": LAST_MODIFIED})
    db = tmp_path / "newsmon.db"
    config = tmp_path / "newsmon.toml"
    config.write_text(f'''database_url = "sqlite:///{db}"
[[feeds]]
url = "{http.url('/feeds/desk.rss')}"
name = "desk"
[[feeds]]
url = "{http.url('/feeds/wire.rss')}"
name = "wire"
[fetch]
timeout = 5
allow_private_networks = true
''', encoding="utf-8")
    prefect_home = tmp_path / "xdg-data" / "newsmon" / "prefect"
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "newsmon", "--config", str(config), "serve", "--interval", "30"],
        env=serve_env(tmp_path), cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    stdout, stderr = Lines(proc.stdout), Lines(proc.stderr)
    manual: subprocess.CompletedProcess[str] | None = None
    manual_seconds = 0.0
    try:
        deadline = started + 300
        while stdout.count("newsmon: scheduled cycle done") < 2:
            assert proc.poll() is None, f"serve exited early: {stdout.text()} {stderr.text()}"
            assert time.monotonic() < deadline, f"no two scheduled cycles within 300 s: {stderr.text()}"
            if manual is None and stdout.count("newsmon: scheduled cycle done") == 1:
                # a manual run while serve runs: it uses serve's local Prefect server, quietly
                server_pid = json.loads((prefect_home / "server.json").read_text())["pid"]
                t0 = time.monotonic()
                manual = subprocess.run([sys.executable, "-m", "newsmon", "--config", str(config), "run"],
                                        env=serve_env(tmp_path, mkdir=False), cwd=tmp_path, capture_output=True,
                                        text=True, timeout=240, check=False)
                manual_seconds = time.monotonic() - t0
            time.sleep(0.5)
        two_cycles = time.monotonic() - started
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    out, err = stdout.text(), stderr.text()
    print(f"two scheduled cycles after {two_cycles:.0f} s; manual run during serve {manual_seconds:.1f} s")

    assert manual is not None and manual.returncode == 0, manual
    assert manual.stderr.strip() == "newsmon: polling 2 feed(s) …", manual.stderr
    assert "feeds: 2 polled" in manual.stdout
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "Warning" not in err and "never awaited" not in err, err
    assert out.count("newsmon: scheduled cycle done") >= 2, out
    assert "articles: 2 new link(s), 2 stored" in out, out

    runs = finished_runs(db)
    assert len(runs) >= 3  # two scheduled cycles and the manual run
    # the second cycle polled with conditional GETs: ETag for one feed, Last-Modified for the other
    desk = [h for _, p, h in http.requests if p == "/feeds/desk.rss"]
    wire = [h for _, p, h in http.requests if p == "/feeds/wire.rss"]
    # (every poll after the first: the manual run's and the second scheduled cycle's)
    assert len(desk) >= 3 and len(wire) >= 3
    assert "If-None-Match" not in desk[0] and all(h.get("If-None-Match") == '"desk-v1"' for h in desk[1:])
    assert "If-Modified-Since" not in wire[0]
    assert all(h.get("If-Modified-Since") == LAST_MODIFIED for h in wire[1:])
    # each page fetched once across the cycles (and the manual run)
    assert http.hits(STORY_ENTITY.path) == 1 and http.hits(STORY_MODEL.path) == 1

    # the local server was stopped with serve and its state lives in newsmon's data directory
    assert (prefect_home / "server.log").exists() and not (prefect_home / "server.json").exists()
    with pytest.raises(ProcessLookupError):
        os.kill(server_pid, 0)

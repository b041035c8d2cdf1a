"""Several machines, for real: a Prefect server on PostgreSQL, a process work pool, the deployments of
deploy/prefect.yaml, two workers, one newsmon PostgreSQL database, a loopback news site and SMTP.

The schedule (shortened to a few seconds) fires cycle after cycle on both workers while a backfill
runs on demand; every run must complete (or be cancelled before starting by the concurrency limit,
never doubled), every article is stored once, no page is fetched twice, and each alert reaches
each target exactly once.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import create_engine, text

from tests.conftest import PG_SKIP_REASON, PG_URL, REPO
from tests.e2e_site import (
    STORY_ASML,
    STORY_CLOUD,
    STORY_ENTITY,
    STORY_ENTITY_COPY,
    STORY_MODEL,
    STORY_SNACK,
    rss,
    serve_story,
)
from tests.support import LoopbackHTTP, SMTPSink, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.postgres]

POOL = "newsmon-test"
INTERVAL = 8  # seconds between scheduled cycles (900 in deploy/prefect.yaml)


@pytest.fixture
def prefect_pg_database() -> Iterator[str]:
    """A freshly created PostgreSQL database for the Prefect server, dropped afterwards."""
    if not PG_URL:
        pytest.skip(PG_SKIP_REASON)
    name = f"prefect_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = PG_URL.split("://", 1)[1].rsplit("/", 1)[0]
    try:
        yield f"postgresql+asyncpg://{base}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSMON_", "PREFECT_"))}
    env.update(PREFECT_HOME=str(tmp / "prefect-home"), PREFECT_SERVER_ANALYTICS_ENABLED="false",
               PREFECT_LOGGING_LEVEL="WARNING", HOME=str(tmp), **extra)
    return env


def _start(cmd: list[str], env: dict[str, str], log: Path, cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(cmd, env=env, cwd=cwd, stdout=log.open("ab"), stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _runs(api: str) -> list[dict[str, Any]]:
    deployments = {d["id"]: d["name"] for d in httpx.post(f"{api}/deployments/filter", json={}).json()}
    runs = httpx.post(f"{api}/flow_runs/filter", json={"limit": 200}).json()
    return [dict(r, deployment=deployments.get(r["deployment_id"])) for r in runs]


def _prefect(args: list[str], env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run([sys.executable, "-m", "prefect", "--no-prompt", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_two_workers_on_postgresql_share_the_schedule_and_a_backfill(
    http: LoopbackHTTP, smtp: SMTPSink, pg_url: str, prefect_pg_database: str, tmp_path: Path,
) -> None:
    for site, story in [("Example Policy Desk", STORY_ENTITY), ("Example Policy Desk", STORY_CLOUD),
                        ("Example Policy Desk", STORY_SNACK), ("Wire Service", STORY_ENTITY_COPY),
                        ("Example Tech", STORY_MODEL), ("Archive", STORY_ASML)]:
        serve_story(http, site, story)
    policy = [(s.title, s.path, s.published) for s in (STORY_ENTITY, STORY_CLOUD, STORY_SNACK)]
    wire = [(s.title, s.path, s.published) for s in (STORY_ENTITY_COPY, STORY_MODEL)]
    http.add("/feeds/policy.rss", rss("Example Policy Desk", http.base, policy),
             content_type="application/rss+xml", etag='"policy-v1"')
    http.add("/feeds/wire.rss", rss("Wire Service", http.base, wire), content_type="application/rss+xml",
             etag='"wire-v1"')
    config = tmp_path / "newsmon.toml"
    config.write_text(f'''[[feeds]]
url = "{http.url('/feeds/policy.rss')}"
name = "policy"
[[feeds]]
url = "{http.url('/feeds/wire.rss')}"
name = "wire"
[alerts]
notify = ["mailto://127.0.0.1:{smtp.port}?mode=insecure&from=newsmon@example.com&to=analyst@example.com",
          "json://127.0.0.1:{http.port}/notify"]
[fetch]
timeout = 5
allow_private_networks = true
''', encoding="utf-8")
    urls = tmp_path / "urls.txt"
    urls.write_text(f"# archive\n{http.url(STORY_ASML.path)}\n", encoding="utf-8")

    # deploy/prefect.yaml as shipped, with a schedule of a few seconds and the test's pool
    spec = yaml.safe_load((REPO / "deploy" / "prefect.yaml").read_text(encoding="utf-8"))
    for deployment in spec["deployments"]:
        deployment["work_pool"]["name"] = POOL
        if deployment.get("schedules"):
            deployment["schedules"] = [{"interval": INTERVAL}]
    (tmp_path / "prefect.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")

    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    server_env = _env(tmp_path, PREFECT_SERVER_DATABASE_CONNECTION_URL=prefect_pg_database,
                      PREFECT_SERVER_UI_ENABLED="false")
    client_env = _env(tmp_path, PREFECT_API_URL=api)
    worker_env = _env(tmp_path, PREFECT_API_URL=api, NEWSMON_CONFIG=str(config), NEWSMON_DATABASE_URL=pg_url)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        procs.append(_start([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                             "--port", str(port)], server_env, tmp_path / "server.log", tmp_path))
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert procs[0].poll() is None, (tmp_path / "server.log").read_text()
            assert time.monotonic() < deadline, "the Prefect server did not start"
            time.sleep(0.5)

        _prefect(["work-pool", "create", POOL, "--type", "process"], client_env, tmp_path)
        out = _prefect(["deploy", "--all", "--prefect-file", str(tmp_path / "prefect.yaml")], client_env, tmp_path)
        assert "newsmon-cycle" in out and "newsmon-backfill" in out
        for name in ("w1", "w2"):
            procs.append(_start([sys.executable, "-m", "prefect", "worker", "start", "--pool", POOL, "--name", name],
                                worker_env, tmp_path / f"worker-{name}.log", tmp_path))
        _prefect(["deployment", "run", "newsmon-backfill-file/newsmon-backfill", "-p", f"url_file={urls}"],
                 client_env, tmp_path)

        deadline = time.monotonic() + 300
        while True:
            runs = _runs(api)
            cycles_done = [r for r in runs if r["deployment"] == "newsmon-cycle" and r["state_type"] == "COMPLETED"]
            backfill_done = [r for r in runs if r["deployment"] == "newsmon-backfill"
                             and r["state_type"] == "COMPLETED"]
            bad = [r for r in runs if r["state_type"] in ("FAILED", "CRASHED")]
            assert not bad, f"runs failed: {[(r['name'], r['state_name']) for r in bad]}"
            if len(cycles_done) >= 3 and backfill_done:
                break
            states = [(r["deployment"], r["state_name"]) for r in runs]
            assert time.monotonic() < deadline, f"not enough completed runs: {states}"
            time.sleep(1)
        # let running cycles finish before stopping the workers
        while any(r["state_type"] in ("RUNNING", "PENDING") for r in _runs(api)):
            assert time.monotonic() < deadline + 120
            time.sleep(1)
    finally:
        for proc in reversed(procs):
            _stop(proc)

    # no two cycles ever ran at once: the started ones (with a start time) never overlap
    spans = sorted((r["start_time"], r["end_time"]) for r in runs
                   if r["deployment"] == "newsmon-cycle" and r["start_time"] and r["state_type"] == "COMPLETED")
    assert all(end <= nxt for (_, end), (nxt, _) in itertools.pairwise(spans)), spans

    engine = create_engine(pg_url)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT url FROM articles")).scalars().all()
    engine.dispose()
    assert len(stored) == len(set(stored)) == 6          # five from the feeds, one from the backfill
    for story in (STORY_ENTITY, STORY_CLOUD, STORY_SNACK, STORY_ENTITY_COPY, STORY_MODEL, STORY_ASML):
        assert http.hits(story.path) == 1, story.path      # no page fetched twice, by any worker
    # two stories alerted (the wire's copy joins the first), each to each target exactly once
    assert sorted(smtp.subjects()) == sorted(set(smtp.subjects())) and len(smtp.subjects()) == 2
    assert len(http.json_posts("/notify")) == 2

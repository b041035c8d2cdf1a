"""Shared fixtures: loopback HTTP and SMTP servers, databases (SQLite and PostgreSQL), Prefect.

PostgreSQL tests use ``$NEWSMON_TEST_DATABASE_URL`` (``.ci/run`` sets it); each test gets its own
schema, dropped afterwards. Without it they skip and say so in the summary (``-ra``).
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

# Prefect reads these when first imported: keep its state out of ~/.prefect, no telemetry.
_PREFECT_HOME = tempfile.mkdtemp(prefix="newsmon-test-prefect-")
os.environ["PREFECT_HOME"] = _PREFECT_HOME
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
for _var in ("NEWSMON_CONFIG", "NEWSMON_DATABASE_URL", "NEWSMON_NOTIFY_URLS", "PREFECT_API_URL"):
    os.environ.pop(_var, None)

from tests.support import LoopbackHTTP, SMTPSink  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
PG_URL = os.environ.get("NEWSMON_TEST_DATABASE_URL", "")
PG_SKIP_REASON = (
    "PostgreSQL tests skipped: NEWSMON_TEST_DATABASE_URL is not set "
    "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)"
)


@pytest.fixture(scope="session")
def http_server() -> Iterator[LoopbackHTTP]:
    server = LoopbackHTTP().start()
    yield server
    server.stop()


@pytest.fixture
def http(http_server: LoopbackHTTP) -> Iterator[LoopbackHTTP]:
    """The loopback HTTP server with no routes and an empty request log."""
    http_server.reset()
    yield http_server
    http_server.reset()


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SMTPSink]:
    server = SMTPSink().start()
    yield server
    server.stop()


@pytest.fixture
def smtp(smtp_server: SMTPSink) -> Iterator[SMTPSink]:
    smtp_server.reset()
    yield smtp_server
    smtp_server.reset()


@pytest.fixture(scope="session")
def prefect_api_url() -> Iterator[str]:
    """One Prefect test server for the whole session; subprocesses reach it via PREFECT_API_URL."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        url = PREFECT_API_URL.value()
        assert url, "prefect_test_harness did not set PREFECT_API_URL"
        yield str(url)


def _pg_schema_url(base: str, schema: str) -> str:
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped after the test."""
    if not PG_URL:
        pytest.skip(PG_SKIP_REASON)
    from sqlalchemy import create_engine, text

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _pg_schema_url(PG_URL, schema)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each storage test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'newsmon.db'}"
    return str(request.getfixturevalue("pg_url"))

"""Schema migrations (Alembic): old databases upgrade in place, the revisions match the code, and
processes that start together migrate once.
"""

from __future__ import annotations

import multiprocessing
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, func, select, text

from storage import migrations
from storage.db import make_engine, metadata, migrate, open_database
from storage.schema import Article, Feed, SchemaVersion
from tests.conftest import DATA

OLD = DATA / "migrations"


def _fill_old_database(url: str, dialect: str) -> None:
    """A database as newsmon 0.1.0 left it: its DDL, and a feed with one article."""
    lines = (OLD / f"newsmon-0.1.0.{dialect}.sql").read_text(encoding="utf-8").splitlines()
    ddl = "\n".join(ln for ln in lines if not ln.startswith("--"))
    engine = create_engine(url)
    with engine.begin() as conn:
        for statement in (s.strip() for s in ddl.split(";")):
            if statement:
                conn.exec_driver_sql(statement)
        conn.execute(text("INSERT INTO feeds (url, consecutive_failures) VALUES ('https://example.org/rss', 0)"))
        conn.execute(text(
            "INSERT INTO articles (url, link, feed_id, source, origin, title, text, summary, fetched_at, topics, "
            "scores, evidence) VALUES ('https://example.org/a', 'https://example.org/a', 1, 'Example', 'feed', "
            "'Title', 'Body', 'Sum', :at, '[]', '{}', '{}')"), {"at": datetime(2026, 11, 20, 12, tzinfo=UTC)})
    engine.dispose()


def _diff(url: str) -> list[object]:
    engine = make_engine(url)
    with engine.connect() as conn:
        opts = {"compare_type": True, "include_name": migrations.include_name}
        diff = compare_metadata(MigrationContext.configure(conn, opts=opts), metadata())
    engine.dispose()
    return list(diff)


def test_a_database_of_newsmon_010_is_upgraded_in_place(db_url: str) -> None:
    dialect = "sqlite" if db_url.startswith("sqlite") else "postgresql"
    _fill_old_database(db_url, dialect)

    db = open_database(db_url)
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == migrations.head()
    with db.session() as s:
        assert s.scalar(select(SchemaVersion.version)) == 1
        assert s.scalar(select(func.count()).select_from(Feed)) == 1       # nothing lost
        article = s.scalars(select(Article)).one()
        assert article.url == "https://example.org/a" and article.fetched_at == datetime(2026, 11, 20, 12, tzinfo=UTC)
    db.dispose()
    assert _diff(db_url) == [], "the upgraded database differs from the tables in the code"
    open_database(db_url).dispose()  # a second start is a no-op


def test_the_revisions_build_the_tables_the_code_declares(db_url: str) -> None:
    """Fails when a table or column was changed without a revision: run
    ``python -m storage.migrations new "what changed"`` and commit the file it writes."""
    engine = make_engine(db_url)
    assert migrate(engine, create_fresh=False) == migrations.head()
    engine.dispose()
    assert _diff(db_url) == []


def test_a_database_from_a_newer_newsmon_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'n.db'}"
    open_database(url).dispose()
    with sqlite3.connect(tmp_path / "n.db") as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    from newsmon.errors import StorageError

    with pytest.raises(StorageError, match=r"9999.*upgrade newsmon"):
        open_database(url)


def _open(url: str) -> str:
    db = open_database(url)
    with db.engine.connect() as conn:
        rev = str(conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one())
    db.dispose()
    return rev


@pytest.mark.parametrize("old", [False, True], ids=["new-database", "newsmon-0.1.0-database"])
def test_processes_starting_together_migrate_once(db_url: str, old: bool) -> None:
    if old:
        _fill_old_database(db_url, "sqlite" if db_url.startswith("sqlite") else "postgresql")
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        revisions = pool.map(_open, [db_url] * 4)
    assert revisions == [migrations.head()] * 4
    engine = create_engine(db_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
        assert conn.execute(text("SELECT count(*) FROM schema_version")).scalar_one() == 1
    engine.dispose()
    assert _diff(db_url) == []

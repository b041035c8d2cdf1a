"""Engine, sessions and schema migrations: the edge where newsmon meets its database.

``open_database(url)`` creates the engine, creates or migrates the schema, and returns a
:class:`Database` holding the engine and a ``sessionmaker``. Units of work are
``with db.session() as s:`` (commits on success, rolls back on error); repository functions in
:mod:`storage.repo` take the session and never commit.

Migrations are Alembic revisions in :mod:`storage.migrations` (``versions/``; how to add one is in
that package's docstring and docs/ARCHITECTURE.md). At start-up, under a lock so that processes
starting together never migrate at once (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: an advisory
lock), :func:`migrate` brings the database to the newest revision in one transaction:

- an empty database gets the current tables in one ``create_all`` and is stamped with the head;
- a database made by newsmon 0.1.0 (``schema_version`` = 1, no ``alembic_version``) is stamped
  with the baseline revision, then upgraded;
- any other runs the revisions it lacks; one stamped with a revision this newsmon does not know
  (made by a newer newsmon) is refused.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, Engine, MetaData, create_engine, event, insert, inspect, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

from newsmon.errors import StorageError
from storage import outbox as _outbox  # noqa: F401  (registers the story/delivery tables)
from storage.schema import Base, SchemaVersion
from storage.search_index import ensure_search_index

__all__ = ["SCHEMA_VERSION", "Database", "mask_database_url", "metadata", "migrate", "open_database"]

log = logging.getLogger(__name__)

# the legacy version marker of newsmon 0.1.0; schema changes are Alembic revisions now
SCHEMA_VERSION = 1


def metadata() -> MetaData:
    """Every newsmon table (schema and outbox), as the code declares them."""
    return Base.metadata


def mask_database_url(url: str) -> str:
    """The URL with its password replaced by ***, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable database URL>"


@dataclass(frozen=True, slots=True)
class Database:
    """An opened, migrated database."""

    engine: Engine
    sessions: sessionmaker[Session]

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One unit of work: commit on success, roll back on any exception."""
        with self.sessions.begin() as s:
            yield s

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def dispose(self) -> None:
        self.engine.dispose()

    def check_writable(self) -> None:
        """Raise :class:`StorageError` if this database cannot be written (read-only file, mode=ro,
        a read-only PostgreSQL replica), before any work starts. Nothing is changed."""
        try:
            with self.engine.connect() as conn:
                conn.execute(update(SchemaVersion).values(version=SchemaVersion.version))
                conn.rollback()
        except DBAPIError as exc:
            raise StorageError(f"the database {mask_database_url(self.engine.url.render_as_string())} "
                               f"cannot be written: {_short(exc)}") from exc


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def make_engine(url: str) -> Engine:
    """Create the engine; on SQLite create the directory and use WAL with a busy timeout."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StorageError(f"database_url {url!r} is not a valid SQLAlchemy URL") from exc
    kwargs: dict[str, Any] = {"future": True}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database.startswith("file:"):
            # an SQLite URI (file:path?mode=ro…): SQLite reads it as a URI only with uri=true, and the
            # directory to create is the path inside it, not a folder named "file:"
            if "uri" not in parsed.query:
                parsed = parsed.update_query_dict({"uri": "true"})
            database = urlsplit(database).path
        if database and database != ":memory:" and parsed.query.get("mode") not in ("ro", "memory"):
            folder = Path(database).expanduser().parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StorageError(f"cannot create the directory {str(folder)!r} for the SQLite database "
                                   f"{mask_database_url(url)}: {exc.strerror or exc}") from exc
        kwargs["connect_args"] = {"timeout": 30}
    else:
        kwargs["pool_pre_ping"] = True
    try:
        engine = create_engine(parsed, **kwargs)
    except (NoSuchModuleError, ImportError) as exc:
        raise StorageError(f"no driver for {mask_database_url(url)}: {exc}") from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _lock(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(4242424242)"))
    elif conn.dialect.name == "sqlite":
        # take the write lock now so two processes cannot both decide to create the schema
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _legacy_version(conn: Connection) -> int | None:
    return conn.execute(select(SchemaVersion.version)).scalar_one_or_none()


def migrate(engine: Engine, *, create_fresh: bool = True) -> str:
    """Create or upgrade the schema to the newest Alembic revision; returns that revision.

    ``create_fresh=False`` builds an empty database by running every revision instead of
    ``create_all`` (what ``python -m storage.migrations new`` compares the code against).
    """
    from alembic import command

    from storage import migrations

    with engine.begin() as conn:
        _lock(conn)
        tables = set(inspect(conn).get_table_names())
        cfg = migrations.config(conn)
        if "alembic_version" in tables:
            current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one_or_none()
            if current is not None and not migrations.known(current):
                raise StorageError(
                    f"the database is at schema revision {current}, which this newsmon does not know "
                    "(made by a newer newsmon?); upgrade newsmon")
        elif "schema_version" in tables:
            version = _legacy_version(conn)
            if version is not None and version > SCHEMA_VERSION:
                raise StorageError(
                    f"the database is at schema version {version}, newer than this newsmon "
                    f"({SCHEMA_VERSION}); upgrade newsmon")
            log.info("database made by newsmon 0.1.0: stamping the baseline revision %s", migrations.BASELINE)
            command.stamp(cfg, migrations.BASELINE)
        elif create_fresh and not tables & set(metadata().tables):
            metadata().create_all(conn)
            conn.execute(insert(SchemaVersion).values(id=1, version=SCHEMA_VERSION))
            command.stamp(cfg, "head")
            ensure_search_index(conn)
            log.info("created the database schema at revision %s", migrations.head())
            return migrations.head()
        command.upgrade(cfg, "head")
        # idempotent, outside Alembic: databases made before the search index existed get it here, filled
        ensure_search_index(conn)
        return migrations.head()


def open_database(url: str) -> Database:
    """Connect, create or migrate the schema, and return the :class:`Database`.

    Raises:
        StorageError: the database cannot be reached or migrated (the message masks passwords).
    """
    engine = make_engine(url)
    try:
        migrate(engine)
    except (DBAPIError, OSError) as exc:
        engine.dispose()
        raise StorageError(f"cannot open the database {mask_database_url(url)}: {_short(exc)}") from exc
    return Database(engine=engine, sessions=sessionmaker(engine, expire_on_commit=False))


def _short(exc: Exception) -> str:
    orig = getattr(exc, "orig", None)
    return str(orig or exc).strip().splitlines()[0]

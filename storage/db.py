"""Engine, sessions and schema migrations: the edge where newsmon meets its database.

``open_database(url)`` creates the engine, creates or migrates the schema, and returns a
:class:`Database` holding the engine and a ``sessionmaker``. Units of work are
``with db.session() as s:`` (commits on success, rolls back on error); repository functions in
:mod:`storage.repo` take the session and never commit.

Migrations are an ordered list of steps keyed by the version they produce. A new database gets the
current schema in one ``create_all`` and is stamped with the latest version; an older one runs each
missing step in order, inside a transaction, under a lock so two processes never migrate at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, Engine, create_engine, event, insert, inspect, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

from newsmon.errors import StorageError
from storage import outbox as _outbox  # noqa: F401  (registers the story/delivery tables)
from storage.schema import Base, HostBackoff, SchemaVersion
from storage.search_index import ensure_search_index

__all__ = ["SCHEMA_VERSION", "Database", "mask_database_url", "open_database"]

log = logging.getLogger(__name__)



def _add_host_backoff(conn: Connection) -> None:
    """Version 2: the ``host_backoff`` table (429/503 Retry-After per host, honoured by every process)."""
    HostBackoff.__table__.create(conn, checkfirst=True)  # type: ignore[attr-defined]


# version -> step that upgrades a database from version-1 to version. Version 1 is the first schema.
MIGRATIONS: dict[int, Callable[[Connection], None]] = {2: _add_host_backoff}
SCHEMA_VERSION = max(MIGRATIONS, default=1)


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


def _current_version(conn: Connection) -> int | None:
    if not inspect(conn).has_table("schema_version"):
        return None
    return conn.execute(select(SchemaVersion.version)).scalar_one_or_none()


def migrate(engine: Engine) -> int:
    """Create or upgrade the schema to :data:`SCHEMA_VERSION`. Returns the version reached."""
    with engine.begin() as conn:
        _lock(conn)
        version = _current_version(conn)
        if version is None:
            Base.metadata.create_all(conn)
            conn.execute(insert(SchemaVersion).values(id=1, version=SCHEMA_VERSION))
            log.info("created database schema version %d", SCHEMA_VERSION)
            ensure_search_index(conn)
            return SCHEMA_VERSION
        if version > SCHEMA_VERSION:
            raise StorageError(
                f"the database is at schema version {version}, newer than this newsmon "
                f"({SCHEMA_VERSION}); upgrade newsmon"
            )
        for step in range(version + 1, SCHEMA_VERSION + 1):
            log.info("migrating database schema to version %d", step)
            MIGRATIONS[step](conn)
            conn.execute(update(SchemaVersion).values(version=step))
        # idempotent: databases created before the search index existed get it here, filled
        ensure_search_index(conn)
        return SCHEMA_VERSION


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

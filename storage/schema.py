"""Tables of newsmon's own data (feeds, articles, failures, runs).

Story and delivery (outbox) tables live in :mod:`storage.outbox`. All timestamps are stored in UTC
and come back timezone-aware (:class:`UTCDateTime`), on SQLite as on PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text, TypeDecorator
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

__all__ = ["Article", "Base", "Failure", "Feed", "HostBackoff", "Run", "SchemaVersion", "UTCDateTime",
           "dialect_insert"]


def dialect_insert(session: Session) -> Any:
    """The ``insert`` construct of the session's dialect (it has ``on_conflict_do_nothing``)."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert
    if name == "sqlite":
        return sqlite.insert
    raise NotImplementedError(f"database dialect {name!r} is not supported (use SQLite or PostgreSQL)")


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as UTC and always returned timezone-aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of every newsmon table."""


class SchemaVersion(Base):
    """One row: the schema version this database has been migrated to."""

    __tablename__ = "schema_version"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer)


class Feed(Base):
    """A polled feed and its conditional-GET validators."""

    __tablename__ = "feeds"
    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2048), unique=True)
    name: Mapped[str | None] = mapped_column(String(512))
    etag: Mapped[str | None] = mapped_column(String(1024))
    last_modified: Mapped[str | None] = mapped_column(String(256))
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[int | None] = mapped_column(Integer)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class Article(Base):
    """A stored article. ``url`` is the canonical URL, the dedup key."""

    __tablename__ = "articles"
    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2048), unique=True)
    link: Mapped[str] = mapped_column(String(4096))
    feed_id: Mapped[int | None] = mapped_column(ForeignKey("feeds.id"), index=True)
    source: Mapped[str] = mapped_column(String(512))
    origin: Mapped[str] = mapped_column(String(16), default="feed")  # feed | backfill
    title: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text, default="")
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    author: Mapped[str | None] = mapped_column(String(512))
    site_name: Mapped[str | None] = mapped_column(String(512))
    language: Mapped[str | None] = mapped_column(String(16))
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    scores: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    evidence: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)
    classified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    story_id: Mapped[int | None] = mapped_column(ForeignKey("stories.id"), index=True)


class Failure(Base):
    """One recorded failure: which stage, which URL (or masked target), why, when."""

    __tablename__ = "failures"
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[str | None] = mapped_column(String(64), index=True)
    stage: Mapped[str] = mapped_column(String(32))  # feed | fetch | extract | classify | deliver
    url: Mapped[str] = mapped_column(String(4096), index=True)
    reason: Mapped[str] = mapped_column(Text)
    transient: Mapped[bool] = mapped_column(default=False)  # worth retrying (timeout, 5xx, 429)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Run(Base):
    """One monitoring cycle or backfill, with its counters."""

    __tablename__ = "runs"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # run | backfill
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stats: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class HostBackoff(Base):
    """A host that answered 429 (or 503) with Retry-After: no process fetches from it before ``until``."""

    __tablename__ = "host_backoff"
    host: Mapped[str] = mapped_column(String(255), primary_key=True)
    until: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    reason: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

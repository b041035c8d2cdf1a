"""Read-only queries behind the look-and-manage commands (feeds, runs, export, report).

Repository style: each function takes a session and never commits. Results are plain frozen
dataclasses or dicts, never ORM objects, so callers can use them after the session ends.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, cast, func, select
from sqlalchemy.orm import Session

from storage.outbox import Delivery, FeedHealth, Story, StorySource
from storage.schema import Article, Failure, Feed, Run

__all__ = [
    "FeedStatus",
    "RunRow",
    "feed_statuses",
    "recent_runs",
]


@dataclass(frozen=True, slots=True)
class FeedStatus:
    """A configured feed and its health; every field None/0 when it was never polled."""

    url: str
    name: str | None
    last_polled: datetime | None
    last_success: datetime | None
    last_status: int | None
    consecutive_failures: int
    last_error: str | None
    failing_since: datetime | None  # first failed poll of the current streak
    items_seen: int  # articles stored from this feed
    state: str  # ok | failing | down (down: a feed-down alert was raised) | new (never polled)


def feed_statuses(session: Session, feeds: Sequence[tuple[str, str | None]]) -> list[FeedStatus]:
    """Health of the given (url, name) feeds, in the given order."""
    urls = [u for u, _ in feeds]
    rows = {
        r.url: r for r in session.execute(
            select(Feed.id, Feed.url, Feed.name, Feed.last_polled_at, Feed.last_success_at, Feed.last_status,
                   Feed.consecutive_failures, Feed.last_error, FeedHealth.state)
            .outerjoin(FeedHealth, FeedHealth.feed_id == Feed.id)
            .where(Feed.url.in_(urls)))
    }
    ids = [r.id for r in rows.values()]
    counts: dict[int, int] = {}
    if ids:
        counts = {int(fid or 0): int(n) for fid, n in session.execute(
            select(Article.feed_id, func.count(Article.id)).where(Article.feed_id.in_(ids)).group_by(Article.feed_id))}
    out: list[FeedStatus] = []
    for url, name in feeds:
        r = rows.get(url)
        if r is None:
            out.append(FeedStatus(url, name, None, None, None, 0, None, None, 0, "new"))
            continue
        failing_since = None
        if r.consecutive_failures:
            query = select(func.min(Failure.at)).where(Failure.stage == "feed", Failure.url == url)
            if r.last_success_at is not None:
                query = query.where(Failure.at > r.last_success_at)
            failing_since = session.scalar(query)
        state = "new" if r.last_polled_at is None else "down" if r.state == "down" else (
            "failing" if r.consecutive_failures else "ok")
        out.append(FeedStatus(url, name or r.name, r.last_polled_at, r.last_success_at, r.last_status,
                              int(r.consecutive_failures or 0), r.last_error, failing_since,
                              counts.get(r.id, 0), state))
    return out


@dataclass(frozen=True, slots=True)
class RunRow:
    """One cycle or backfill as recorded by newsmon (``stats``: the run summary's figures)."""

    id: str
    kind: str
    started_at: datetime
    finished_at: datetime | None
    stats: dict[str, Any]


def recent_runs(session: Session, *, limit: int = 20, kind: str | None = None) -> list[RunRow]:
    """The newest runs first."""
    query = select(Run).order_by(Run.started_at.desc(), Run.id).limit(limit)
    if kind is not None:
        query = query.where(Run.kind == kind)
    return [RunRow(r.id, r.kind, r.started_at, r.finished_at, dict(r.stats or {})) for r in session.scalars(query)]


def _topic_filter(column: Any, topic: str | None) -> list[Any]:
    return [] if topic is None else [cast(column, String).like(f'%"{topic}"%')]


def _unused() -> tuple[Any, ...]:  # keep imports used while later sections are added
    return (Delivery, Story, StorySource, Iterator)

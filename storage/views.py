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
    "Activity",
    "ArticleRow",
    "FailureRow",
    "FeedStatus",
    "RunRow",
    "SourceRow",
    "StoryRow",
    "activity",
    "failure_rows",
    "feed_statuses",
    "iter_article_rows",
    "recent_runs",
    "story_rows",
    "topic_counts",
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


def topic_counts(session: Session, article_ids: Sequence[int]) -> dict[str, int]:
    """How many of these articles are filed under each topic ("" counts those with none)."""
    counts: dict[str, int] = {}
    ids = list(article_ids)
    for i in range(0, len(ids), 500):
        for (topics,) in session.execute(select(Article.topics).where(Article.id.in_(ids[i : i + 500]))):
            for topic in topics or [""]:
                counts[topic] = counts.get(topic, 0) + 1
    return counts


def recent_runs(session: Session, *, limit: int = 20, kind: str | None = None) -> list[RunRow]:
    """The newest runs first."""
    query = select(Run).order_by(Run.started_at.desc(), Run.id).limit(limit)
    if kind is not None:
        query = query.where(Run.kind == kind)
    return [RunRow(r.id, r.kind, r.started_at, r.finished_at, dict(r.stats or {})) for r in session.scalars(query)]


@dataclass(frozen=True, slots=True)
class FailureRow:
    """A recorded failure and whether it was later resolved (and when)."""

    id: int
    at: datetime
    stage: str
    url: str
    reason: str
    run_id: str | None
    resolved_at: datetime | None  # feed: a later successful poll; page: stored later; delivery: a later send


def failure_rows(session: Session, *, limit: int = 50) -> list[FailureRow]:
    """The newest failures, newest first, each marked resolved when what failed later worked."""
    failures = list(session.scalars(select(Failure).order_by(Failure.id.desc()).limit(limit)))
    by_stage: dict[str, set[str]] = {}
    for f in failures:
        by_stage.setdefault(f.stage, set()).add(f.url)
    feed_ok: dict[str, datetime | None] = {}
    if by_stage.get("feed"):
        feed_ok = {r.url: r.last_success_at for r in session.execute(
            select(Feed.url, Feed.last_success_at).where(Feed.url.in_(by_stage["feed"])))}
    pages = by_stage.get("fetch", set()) | by_stage.get("extract", set())
    stored: dict[str, datetime] = {}
    if pages:
        stored = {r.url: r.fetched_at for r in session.execute(
            select(Article.url, Article.fetched_at).where(Article.url.in_(pages)))}
    sends: dict[str, list[datetime]] = {}
    if by_stage.get("deliver"):
        for target, sent_at in session.execute(
                select(Delivery.target_masked, Delivery.sent_at)
                .where(Delivery.target_masked.in_(by_stage["deliver"]), Delivery.sent_at.is_not(None))
                .order_by(Delivery.sent_at)):
            if sent_at is not None:
                sends.setdefault(target, []).append(sent_at)
    out: list[FailureRow] = []
    for f in failures:
        resolved: datetime | None = None
        if f.stage == "feed":
            ok = feed_ok.get(f.url)
            resolved = ok if ok is not None and ok > f.at else None
        elif f.stage in ("fetch", "extract"):
            got = stored.get(f.url)
            resolved = got if got is not None and got >= f.at else None
        elif f.stage == "deliver":
            resolved = next((t for t in sends.get(f.url, []) if t >= f.at), None)
        out.append(FailureRow(f.id, f.at, f.stage, f.url, f.reason, f.run_id, resolved))
    return out


@dataclass(frozen=True, slots=True)
class Activity:
    """Articles per day and topic in a window (days as ``YYYY-MM-DD`` in UTC), and the top sources."""

    days: tuple[str, ...]
    per_topic: dict[str, list[int]]  # topic -> count per day ("" = no topic), aligned with ``days``
    totals: list[int]
    top_sources: list[tuple[str, int]]


def activity(session: Session, *, since: datetime, until: datetime, top: int = 15) -> Activity:
    """Counts for the report: stored articles (dated by publication, else fetch) from ``since`` to ``until``."""
    from datetime import timedelta

    when = func.coalesce(Article.published_at, Article.fetched_at)
    start = since.date()
    days = tuple((start + timedelta(days=i)).isoformat() for i in range((until.date() - start).days + 1))
    index = {d: i for i, d in enumerate(days)}
    per_topic: dict[str, list[int]] = {}
    totals = [0] * len(days)
    sources: dict[str, int] = {}
    rows = session.execute(select(Article.published_at, Article.fetched_at, Article.topics, Article.source)
                           .where(when >= since).execution_options(yield_per=2000))
    for published, fetched, topics, source in rows:
        stamp = published or fetched
        i = index.get(stamp.date().isoformat()) if stamp is not None else None
        if i is None:
            continue  # dated after ``until`` (a future publication date)
        totals[i] += 1
        for topic in topics or [""]:
            per_topic.setdefault(topic, [0] * len(days))[i] += 1
        sources[source] = sources.get(source, 0) + 1
    best = sorted(sources.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    return Activity(days, per_topic, totals, best)


def _topic_filter(column: Any, topic: str | None) -> list[Any]:
    """Rows whose JSON topic list holds ``topic`` (ids are [a-z0-9-]; the list is stored as text)."""
    return [] if topic is None else [cast(column, String).like(f'%"{topic}"%')]


# -- export ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SourceRow:
    source: str
    url: str
    title: str


@dataclass(frozen=True, slots=True)
class ArticleRow:
    id: int
    url: str
    title: str
    source: str
    published: datetime | None
    fetched_at: datetime
    topics: tuple[str, ...]
    story_id: int | None
    text: str


def iter_article_rows(session: Session, *, topic: str | None = None, since: datetime | None = None,
                      batch: int = 500) -> Iterator[ArticleRow]:
    """Stored articles, oldest first (published, else fetched)."""
    when = func.coalesce(Article.published_at, Article.fetched_at)
    query = select(Article).where(*_topic_filter(Article.topics, topic)).order_by(when, Article.id)
    if since is not None:
        query = query.where(when >= since)
    for a in session.scalars(query.execution_options(yield_per=batch)):
        yield ArticleRow(a.id, a.url, a.title, a.source, a.published_at, a.fetched_at, tuple(a.topics or ()),
                         a.story_id, a.text)


@dataclass(frozen=True, slots=True)
class StoryRow:
    """A story with every source that carried it (the first one first) and its alert state."""

    id: int
    title: str
    url: str
    topics: tuple[str, ...]
    created_at: datetime
    last_seen_at: datetime
    alert_state: str  # none | queued | suppressed
    sources: tuple[SourceRow, ...]
    # the first article, for alert exports
    source: str = ""
    published: datetime | None = None
    text: str = ""
    evidence: dict[str, list[str]] | None = None
    deliveries: dict[str, int] | None = None  # status -> count (story alerts only)


def story_rows(session: Session, *, topic: str | None = None, since: datetime | None = None,
               alerted_only: bool = False, limit: int | None = None, newest_first: bool = False) -> list[StoryRow]:
    """Stories created since ``since`` (optionally one topic; ``alerted_only``: an alert was due)."""
    query = select(Story).where(*_topic_filter(Story.topics, topic))
    if since is not None:
        query = query.where(Story.created_at >= since)
    if alerted_only:
        query = query.where(Story.alert_state == "queued")
    order = (Story.created_at.desc(), Story.id.desc()) if newest_first else (Story.created_at, Story.id)
    query = query.order_by(*order)
    if limit is not None:
        query = query.limit(limit)
    stories = list(session.scalars(query))
    if not stories:
        return []
    ids = [st.id for st in stories]
    sources: dict[int, list[SourceRow]] = {i: [] for i in ids}
    for src in session.scalars(select(StorySource).where(StorySource.story_id.in_(ids)).order_by(StorySource.id)):
        sources[src.story_id].append(SourceRow(src.source, src.url, src.title))
    firsts = {a.id: a for a in session.scalars(
        select(Article).where(Article.id.in_([st.first_article_id for st in stories])))}
    counts: dict[int, dict[str, int]] = {i: {} for i in ids}
    for story_id, status, n in session.execute(
            select(Delivery.story_id, Delivery.status, func.count(Delivery.id))
            .where(Delivery.story_id.in_(ids), Delivery.kind == "story")
            .group_by(Delivery.story_id, Delivery.status)):
        key = "pending" if status == "sending" else str(status)
        counts[int(story_id or 0)][key] = counts[int(story_id or 0)].get(key, 0) + int(n)
    out: list[StoryRow] = []
    for st in stories:
        first = firsts.get(st.first_article_id)
        out.append(StoryRow(
            id=st.id, title=st.title, url=first.url if first is not None else st.url,
            topics=tuple(st.topics or ()), created_at=st.created_at, last_seen_at=st.last_seen_at,
            alert_state=st.alert_state, sources=tuple(sources[st.id]),
            source=first.source if first is not None else "",
            published=first.published_at if first is not None else None,
            text=first.text if first is not None else "",
            evidence={k: list(v) for k, v in (first.evidence or {}).items()} if first is not None else {},
            deliveries=counts[st.id],
        ))
    return out

"""Stories (one per news event, syndicated copies folded in), the delivery outbox and feed health.

Tables:

- ``stories``: one per news event; ``articles.story_id`` points here.
- ``story_sources``: every article filed into a story (the first one too), with its clustering
  features, so later copies can be matched and listed as "other sources".
- ``deliveries``: the outbox. One row per alert event × target, unique on ``(event_key, target_key)``
  (``event_key`` is ``story:<id>`` or ``feed-down:<feed>:<episode>`` …), so each target gets each alert
  once. ``status``: ``pending`` → ``sending`` (claimed by one process, with a lease) → ``sent``; or
  back to ``pending`` with back-off after a failed attempt; ``failed`` after the retry limit.
- ``feed_health``: per feed, ``ok``/``down`` with an episode counter (hysteresis for feed alerts).
- ``alert_locks``: a row each process updates first, to serialise story clustering.

Repository functions take a session and never commit. Claims are compare-and-set ``UPDATE``s, so two
processes never own the same delivery row.

A claim is tied to a live owner. The claim token (:func:`owner_token`) names the claiming process
(host, pid, process start time). On PostgreSQL the owner holds a session-level advisory lock keyed by
its token for as long as it delivers (:func:`owner_lock`); the server drops it the moment the process
dies (its connection closes), whichever machine it ran on. On SQLite (one machine) the owner is alive
while a process with that pid and start time exists and is not a zombie. A ``sending`` row whose owner
is gone (kill -9 mid-delivery) is claimable again on the next cycle (:func:`dead_owner_tokens`),
without waiting for ``lease_seconds``; the lease still covers owners whose liveness cannot be told
(another machine on SQLite, tokens of older versions). Takeover is the same compare-and-set, so a row
is still never claimed by two processes.
"""

from __future__ import annotations

import hashlib
import os
import socket
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    Engine,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    and_,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from storage.schema import Article, Base, Feed, UTCDateTime, dialect_insert

__all__ = [
    "AlertLock",
    "Delivery",
    "DeliveryRow",
    "FeedHealth",
    "FeedHealthView",
    "SourceFeatures",
    "Story",
    "StorySource",
    "acquire_lock",
    "add_source",
    "add_sources",
    "claim_deliveries",
    "count_by_status",
    "create_story",
    "dead_owner_tokens",
    "due_deliveries",
    "enqueue_delivery",
    "feed_health_views",
    "iter_delivery_rows",
    "load_deliveries",
    "orphaned_pending",
    "owner_lock",
    "owner_token",
    "recent_sources",
    "record_attempt_failure",
    "record_sent",
    "set_article_story",
    "set_feed_state",
    "sources_of",
    "story_has_deliveries",
]

PENDING = "pending"
SENDING = "sending"
SENT = "sent"
FAILED = "failed"


class Story(Base):
    """A news story: the first article that reported it plus later copies (``story_sources``)."""

    __tablename__ = "stories"
    id: Mapped[int] = mapped_column(primary_key=True)
    first_article_id: Mapped[int] = mapped_column(Integer, unique=True)
    url: Mapped[str] = mapped_column(String(4096), default="")
    title: Mapped[str] = mapped_column(Text)
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # none: no alert due (topics do not match) · queued: deliveries created · suppressed: backfill
    alert_state: Mapped[str] = mapped_column(String(16), default="none")
    alert_due: Mapped[bool] = mapped_column(default=False)


class StorySource(Base):
    """One article filed into a story, with what made it match and its clustering features."""

    __tablename__ = "story_sources"
    id: Mapped[int] = mapped_column(primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id"), index=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"), unique=True)
    url: Mapped[str] = mapped_column(String(4096))
    source: Mapped[str] = mapped_column(String(512))
    title: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    match_score: Mapped[float | None] = mapped_column(Float)
    match_reason: Mapped[str | None] = mapped_column(String(128))
    features: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Delivery(Base):
    """One alert for one target: pending → sending → sent, or failed after the retry limit."""

    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("event_key", "target_key", name="uq_delivery_event_target"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    event_key: Mapped[str] = mapped_column(String(200))  # story:<id> | feed-down:<feed>:<n> | feed-up:…
    kind: Mapped[str] = mapped_column(String(16))  # story | feed-down | feed-up
    story_id: Mapped[int | None] = mapped_column(ForeignKey("stories.id"), index=True)
    target_key: Mapped[str] = mapped_column(String(64))  # sha256 of the notify URL; the URL is never stored
    target_masked: Mapped[str] = mapped_column(String(2048))
    mode: Mapped[str] = mapped_column(String(16), default="immediate")  # immediate | daily | weekly
    status: Mapped[str] = mapped_column(String(16), default=PENDING, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_as: Mapped[str | None] = mapped_column(String(16))  # single | digest | burst
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # feed-health details


class FeedHealth(Base):
    """Feed-health hysteresis: ``down`` after N failed polls in a row, ``ok`` again on recovery."""

    __tablename__ = "feed_health"
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id"), primary_key=True)
    state: Mapped[str] = mapped_column(String(8), default="ok")
    episode: Mapped[int] = mapped_column(Integer, default=0)
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AlertLock(Base):
    """A row updated first thing in a clustering transaction: serialises concurrent clustering."""

    __tablename__ = "alert_locks"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    counter: Mapped[int] = mapped_column(Integer, default=0)


# -- helpers ------------------------------------------------------------------------------------


def acquire_lock(session: Session, name: str) -> None:
    """Take a write lock held until the transaction ends (row lock on PostgreSQL, DB lock on SQLite)."""
    session.execute(dialect_insert(session)(AlertLock).values(name=name, counter=0).on_conflict_do_nothing())
    session.execute(update(AlertLock).where(AlertLock.name == name).values(counter=AlertLock.counter + 1))


# -- stories ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SourceFeatures:
    """A recent story member and its clustering features."""

    story_id: int
    article_id: int
    features: dict[str, Any]


def recent_sources(session: Session, *, since: datetime) -> list[SourceFeatures]:
    """Members of stories seen since ``since`` (the clustering window), oldest first."""
    rows = session.execute(
        select(StorySource.story_id, StorySource.article_id, StorySource.features)
        .join(Story, Story.id == StorySource.story_id)
        .where(Story.last_seen_at >= since)
        .order_by(StorySource.id)
    )
    return [SourceFeatures(r.story_id, r.article_id, dict(r.features or {})) for r in rows]


def create_story(session: Session, *, article_id: int, url: str, title: str, topics: Sequence[str],
                 now: datetime) -> int | None:
    """A new story whose first article is ``article_id``; None if one already exists for it."""
    stmt = (
        dialect_insert(session)(Story)
        .values(first_article_id=article_id, url=url, title=title, topics=list(topics), created_at=now,
                last_seen_at=now, alert_state="none", alert_due=False)
        .on_conflict_do_nothing(index_elements=["first_article_id"])
        .returning(Story.id)
    )
    return session.execute(stmt).scalar_one_or_none()


def add_source(session: Session, *, story_id: int, article: Article, now: datetime, score: float | None,
               reason: str | None, features: dict[str, Any]) -> bool:
    """File an article into a story (insert-or-ignore on the article). True when newly filed."""
    stmt = (
        dialect_insert(session)(StorySource)
        .values(story_id=story_id, article_id=article.id, url=article.url, source=article.source,
                title=article.title, published_at=article.published_at, added_at=now, match_score=score,
                match_reason=reason, features=features)
        .on_conflict_do_nothing(index_elements=["article_id"])
        .returning(StorySource.id)
    )
    created = session.execute(stmt).scalar_one_or_none() is not None
    if created:
        session.execute(update(Story).where(Story.id == story_id).values(last_seen_at=now))
    return created


def set_article_story(session: Session, article_id: int, story_id: int) -> None:
    """Point ``articles.story_id`` at the story (marks the article as filed)."""
    session.execute(update(Article).where(Article.id == article_id).values(story_id=story_id))


def add_sources(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """File many articles into stories in one statement (executemany, insert-or-ignore on the article).

    Each row has the columns of ``story_sources`` but ``id``: story_id, article_id, url, source, title,
    published_at, added_at, match_score, match_reason, features. Unlike :func:`add_source` it touches
    no story: the caller sets ``last_seen_at`` on the stories it filed into.
    """
    if rows:
        table = StorySource.__table__
        session.execute(dialect_insert(session)(table).on_conflict_do_nothing(index_elements=["article_id"]),
                        list(rows))


def sources_of(session: Session, story_ids: Sequence[int]) -> dict[int, list[StorySource]]:
    """Every member of these stories, first article first."""
    out: dict[int, list[StorySource]] = {sid: [] for sid in story_ids}
    if not story_ids:
        return out
    for src in session.scalars(
        select(StorySource).where(StorySource.story_id.in_(list(story_ids))).order_by(StorySource.id)
    ):
        out[src.story_id].append(src)
    return out


def story_has_deliveries(session: Session, story_id: int) -> bool:
    return session.scalar(select(func.count(Delivery.id)).where(Delivery.story_id == story_id)) != 0


# -- deliveries ---------------------------------------------------------------------------------


def enqueue_delivery(
    session: Session, *, event_key: str, kind: str, story_id: int | None, target_key: str,
    target_masked: str, mode: str, now: datetime, due_at: datetime, payload: dict[str, Any] | None = None,
) -> bool:
    """Insert one pending delivery unless (event, target) exists. True when a row was created."""
    stmt = (
        dialect_insert(session)(Delivery)
        .values(event_key=event_key, kind=kind, story_id=story_id, target_key=target_key,
                target_masked=target_masked[:2048], mode=mode, status=PENDING, attempts=0, created_at=now,
                next_attempt_at=due_at, payload=payload or {})
        .on_conflict_do_nothing(index_elements=["event_key", "target_key"])
        .returning(Delivery.id)
    )
    return session.execute(stmt).scalar_one_or_none() is not None


# -- claim owners ---------------------------------------------------------------------------------

_OWNER_TAG = "o1"
_LOCK_NAMESPACE = 0x6E6D  # first key of the two-int advisory locks held by delivering processes


def _host_tag() -> str:
    return hashlib.sha256(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:8]


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state, start time in clock ticks) of a process from ``/proc`` (Linux), None if unavailable."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    try:
        return fields[0], int(fields[19])
    except (IndexError, ValueError):
        return None


def owner_token(run_id: str) -> str:
    """A claim token naming this process: ``<run>:o1.<host>.<pid>.<start>.<random>`` (≤ 64 chars)."""
    pid = os.getpid()
    stat = _proc_stat(pid)
    start = stat[1] if stat else 0
    return f"{run_id[:12]}:{_OWNER_TAG}.{_host_tag()}.{pid}.{start}.{uuid.uuid4().hex[:8]}"[:64]


def _owner(token: str) -> tuple[str, int, int] | None:
    parts = token.rsplit(":", 1)[-1].split(".")
    if len(parts) != 5 or parts[0] != _OWNER_TAG:
        return None
    try:
        return parts[1], int(parts[2]), int(parts[3])
    except ValueError:
        return None


def _lock_key(token: str) -> int:
    return int.from_bytes(hashlib.sha256(token.encode()).digest()[:4], "big", signed=True)


@contextmanager
def owner_lock(engine: Engine, token: str) -> Iterator[None]:
    """Hold the owner's advisory lock (PostgreSQL) while delivering; a no-op on SQLite.

    The lock lives on a dedicated connection, so it is released when this block ends or, if the
    process is killed, when the server sees the connection close.
    """
    if engine.dialect.name != "postgresql" or _owner(token) is None:
        yield
        return
    params = {"ns": _LOCK_NAMESPACE, "key": _lock_key(token)}
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:ns, :key)"), params)
        conn.commit()  # session-level lock: it outlives the transaction, not the connection
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:ns, :key)"), params)
            conn.commit()


def _owner_gone(session: Session, token: str) -> bool:
    owner = _owner(token)
    if owner is None:
        return False  # a token without owner details: only the lease can free it
    if session.get_bind().dialect.name == "postgresql":
        params = {"ns": _LOCK_NAMESPACE, "key": _lock_key(token)}
        if session.execute(text("SELECT pg_try_advisory_lock(:ns, :key)"), params).scalar():
            session.execute(text("SELECT pg_advisory_unlock(:ns, :key)"), params)
            return True  # nobody holds the owner's lock: its process (and connection) is gone
        return False
    host, pid, start = owner
    if host != _host_tag():
        return False  # another machine: cannot tell, the lease decides
    stat = _proc_stat(pid)
    if stat is None:
        if start:
            return True  # /proc works here and has no such process
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False
    state, started = stat
    return state in ("Z", "X") or (bool(start) and started != start)


def dead_owner_tokens(session: Session, *, now: datetime, lease_seconds: float,
                      target_keys: Sequence[str]) -> list[str]:
    """Tokens of ``sending`` claims (lease not yet over) whose owning process is gone."""
    if not target_keys:
        return []
    stale = now - timedelta(seconds=lease_seconds)
    tokens = session.scalars(
        select(Delivery.claimed_by).distinct()
        .where(Delivery.status == SENDING, Delivery.claimed_at >= stale, Delivery.claimed_by.is_not(None),
               Delivery.target_key.in_(list(target_keys)))
    )
    return sorted(t for t in tokens if t is not None and _owner_gone(session, t))


def _claimable(now: datetime, lease_seconds: float, dead_tokens: Sequence[str] = ()) -> Any:
    stale = now - timedelta(seconds=lease_seconds)
    clauses = [
        and_(Delivery.status == PENDING,
             or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now)),
        and_(Delivery.status == SENDING, Delivery.claimed_at < stale),
    ]
    if dead_tokens:
        clauses.append(and_(Delivery.status == SENDING, Delivery.claimed_by.in_(list(dead_tokens))))
    return or_(*clauses)


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    """A delivery as the sender sees it."""

    id: int
    event_key: str
    kind: str
    story_id: int | None
    target_key: str
    target_masked: str
    mode: str
    attempts: int
    payload: dict[str, Any]


def _row(d: Delivery) -> DeliveryRow:
    return DeliveryRow(d.id, d.event_key, d.kind, d.story_id, d.target_key, d.target_masked, d.mode,
                       d.attempts, dict(d.payload or {}))


def due_deliveries(session: Session, *, now: datetime, lease_seconds: float,
                   target_keys: Sequence[str], dead_tokens: Sequence[str] = ()) -> list[DeliveryRow]:
    """Deliveries that may be claimed now for these targets (pending and due, a stale claim, or a
    claim whose owner is gone: ``dead_tokens``)."""
    if not target_keys:
        return []
    rows = session.scalars(
        select(Delivery)
        .where(_claimable(now, lease_seconds, dead_tokens), Delivery.target_key.in_(list(target_keys)))
        .order_by(Delivery.id)
    )
    return [_row(d) for d in rows]


def claim_deliveries(session: Session, ids: Sequence[int], *, token: str, now: datetime,
                     lease_seconds: float, dead_tokens: Sequence[str] = ()) -> list[int]:
    """Compare-and-set: mark these rows ``sending`` by ``token`` if still claimable; return the ids won.

    One ``UPDATE … WHERE <claimable>``: a row another process claimed (or sent) in the meantime no
    longer matches, so it is never claimed twice. ``attempts`` counts claims (tries started).
    """
    if not ids:
        return []
    session.execute(
        update(Delivery)
        .where(Delivery.id.in_(list(ids)), _claimable(now, lease_seconds, dead_tokens))
        .values(status=SENDING, claimed_by=token, claimed_at=now, attempts=Delivery.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    won = session.scalars(
        select(Delivery.id).where(Delivery.id.in_(list(ids)), Delivery.claimed_by == token,
                                  Delivery.status == SENDING)
    )
    return sorted(won)


def load_deliveries(session: Session, ids: Sequence[int]) -> list[DeliveryRow]:
    if not ids:
        return []
    return [_row(d) for d in session.scalars(select(Delivery).where(Delivery.id.in_(list(ids))).order_by(Delivery.id))]


def record_sent(session: Session, ids: Sequence[int], *, token: str, now: datetime, sent_as: str) -> int:
    """Mark claimed rows sent. Only rows still claimed by ``token`` change; returns how many."""
    result = session.execute(
        update(Delivery)
        .where(Delivery.id.in_(list(ids)), Delivery.claimed_by == token, Delivery.status == SENDING)
        .values(status=SENT, sent_at=now, sent_as=sent_as, last_error=None, next_attempt_at=None)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def record_attempt_failure(session: Session, ids: Sequence[int], *, token: str, now: datetime, error: str,
                           max_attempts: int, next_attempt_at: datetime) -> tuple[int, int]:
    """A failed attempt: back to ``pending`` with back-off, or ``failed`` at the retry limit.

    Returns (rows left pending, rows marked failed).
    """
    mine = and_(Delivery.id.in_(list(ids)), Delivery.claimed_by == token, Delivery.status == SENDING)
    given_up = session.execute(
        update(Delivery).where(mine, Delivery.attempts >= max_attempts)
        .values(status=FAILED, last_error=error[:4000], next_attempt_at=None)
        .execution_options(synchronize_session=False)
    )
    retry = session.execute(
        update(Delivery).where(mine)
        .values(status=PENDING, last_error=error[:4000], next_attempt_at=next_attempt_at)
        .execution_options(synchronize_session=False)
    )
    return int(retry.rowcount or 0), int(given_up.rowcount or 0)  # type: ignore[attr-defined]


def orphaned_pending(session: Session, target_keys: Sequence[str]) -> list[tuple[str, int]]:
    """(masked target, count) of unsent deliveries whose target is no longer configured."""
    stmt = (
        select(Delivery.target_masked, func.count(Delivery.id))
        .where(Delivery.status.in_([PENDING, SENDING]), Delivery.target_key.not_in(list(target_keys)))
        .group_by(Delivery.target_masked)
    )
    return [(str(m), int(n)) for m, n in session.execute(stmt)]


def count_by_status(session: Session) -> dict[str, int]:
    rows = session.execute(select(Delivery.status, func.count(Delivery.id)).group_by(Delivery.status))
    return {str(status): int(n) for status, n in rows}


def iter_delivery_rows(session: Session) -> Iterator[tuple[Delivery, Story | None]]:
    """Every delivery with its story (None for feed-health alerts), oldest first."""
    stmt = select(Delivery, Story).outerjoin(Story, Story.id == Delivery.story_id).order_by(Delivery.id)
    yield from ((delivery, story) for delivery, story in session.execute(stmt))


# -- feed health --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FeedHealthView:
    """A feed's poll streak (kept by the poller) next to its alert state (kept here)."""

    feed_id: int
    url: str
    name: str | None
    consecutive_failures: int
    last_error: str | None
    last_success_at: datetime | None
    state: str
    episode: int


def feed_health_views(session: Session) -> list[FeedHealthView]:
    stmt = (
        select(Feed.id, Feed.url, Feed.name, Feed.consecutive_failures, Feed.last_error, Feed.last_success_at,
               FeedHealth.state, FeedHealth.episode)
        .outerjoin(FeedHealth, FeedHealth.feed_id == Feed.id)
        .order_by(Feed.id)
    )
    return [
        FeedHealthView(r[0], r[1], r[2], int(r[3] or 0), r[4], r[5], r[6] or "ok", int(r[7] or 0))
        for r in session.execute(stmt)
    ]


def set_feed_state(session: Session, feed_id: int, *, expect: str, state: str, episode: int,
                   now: datetime) -> bool:
    """Compare-and-set the feed's alert state; True when this call made the transition."""
    session.execute(
        dialect_insert(session)(FeedHealth).values(feed_id=feed_id, state="ok", episode=0, changed_at=None)
        .on_conflict_do_nothing(index_elements=["feed_id"])
    )
    result = session.execute(
        update(FeedHealth).where(FeedHealth.feed_id == feed_id, FeedHealth.state == expect)
        .values(state=state, episode=episode, changed_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]

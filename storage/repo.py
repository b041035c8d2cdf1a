"""Repository functions for feeds, articles, failures and runs.

Each takes an open :class:`~sqlalchemy.orm.Session` and never commits: the caller owns the unit of
work (``with db.session() as s:``). Inserts are idempotent through unique keys (canonical URL).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from newsmon.errors import InvalidURL
from newsmon.models import Classification, ExtractedArticle, FeedSpec
from storage.schema import Article, Failure, Feed, HostBackoff, Run, dialect_insert

__all__ = [
    "FeedState",
    "NewArticle",
    "StoredArticle",
    "article_count",
    "clip",
    "ensure_feeds",
    "failures_of_run",
    "finish_run",
    "host_backoffs",
    "insert_article",
    "iter_articles",
    "known_urls",
    "load_articles",
    "permanent_failure_counts",
    "recent_failures",
    "record_failure",
    "record_feed_poll",
    "record_host_backoff",
    "set_classification",
    "start_run",
]

_IN_BATCH = 500
# column widths (storage.schema): values longer than these are cut (names) or refused (URLs,
# validators) here, so PostgreSQL never rejects a write batch for one over-long value
_NAME = 512
_LANG = 16
_ETAG = 1024
_LAST_MODIFIED = 256
_FAILURE_URL = 4096


def clip(value: str | None, width: int) -> str | None:
    """``value`` cut to ``width`` characters (None stays None)."""
    return value if value is None or len(value) <= width else value[:width]


@dataclass(frozen=True, slots=True)
class FeedState:
    """What a poll needs to know about a feed: its id and conditional-GET validators."""

    id: int
    url: str
    name: str | None
    etag: str | None
    last_modified: str | None


@dataclass(frozen=True, slots=True)
class NewArticle:
    """An extracted article ready to be stored."""

    url: str
    link: str
    source: str
    origin: str
    article: ExtractedArticle
    feed_id: int | None = None
    summary: str = ""


@dataclass(frozen=True, slots=True)
class StoredArticle:
    """A stored article as the classifier and the exports see it."""

    id: int
    url: str
    title: str
    text: str
    source: str
    published: datetime | None
    fetched_at: datetime
    topics: tuple[str, ...]


def ensure_feeds(session: Session, feeds: Sequence[FeedSpec]) -> list[FeedState]:
    """Make sure every configured feed has a row; return their states in config order."""
    rows = {f.url: f for f in session.scalars(select(Feed).where(Feed.url.in_([f.url for f in feeds])))}
    for spec in feeds:
        row = rows.get(spec.url)
        if row is None:
            row = Feed(url=spec.url, name=spec.name, consecutive_failures=0)
            session.add(row)
            rows[spec.url] = row
        elif spec.name and row.name != spec.name:
            row.name = spec.name
    session.flush()
    return [
        FeedState(r.id, r.url, r.name, r.etag, r.last_modified) for r in (rows[f.url] for f in feeds)
    ]


def record_feed_poll(
    session: Session,
    feed_id: int,
    *,
    now: datetime,
    ok: bool,
    status: int | None = None,
    etag: str | None = None,
    last_modified: str | None = None,
    error: str | None = None,
) -> None:
    """Record one poll of a feed: validators on success, failure streak on error."""
    values: dict[str, Any] = {"last_polled_at": now, "last_status": status}
    # a validator that does not fit is useless cut (the server would not recognise it): drop it, the
    # next poll is then an unconditional GET
    dropped = False
    if etag is not None and len(etag) > _ETAG:
        etag, dropped = None, True
    if last_modified is not None and len(last_modified) > _LAST_MODIFIED:
        last_modified, dropped = None, True
    if error is not None:
        error = error[:4000]
    if ok:
        values.update(consecutive_failures=0, last_error=None, last_success_at=now)
        if etag is not None or last_modified is not None or dropped:
            values.update(etag=etag, last_modified=last_modified)
    else:
        values.update(consecutive_failures=Feed.consecutive_failures + 1, last_error=error)
    session.execute(update(Feed).where(Feed.id == feed_id).values(**values))


def known_urls(session: Session, urls: Iterable[str]) -> set[str]:
    """Which of these canonical URLs are already stored (batched ``IN`` lookups)."""
    wanted = list(dict.fromkeys(urls))
    found: set[str] = set()
    for i in range(0, len(wanted), _IN_BATCH):
        chunk = wanted[i : i + _IN_BATCH]
        found.update(session.scalars(select(Article.url).where(Article.url.in_(chunk))))
    return found


def insert_article(session: Session, new: NewArticle, *, now: datetime,
                   classification: Classification | None = None) -> int | None:
    """Store an article unless its canonical URL is already stored. Returns the new id or None.

    With ``classification`` the topics, scores and evidence go in the same INSERT (no UPDATE after).
    Names (source, author, site name, language) too long for their columns are cut; a URL too long
    for its column raises :class:`~newsmon.errors.InvalidURL` (the caller records it as a failure).
    """
    if len(new.url) > 2048 or len(new.link) > 4096:
        raise InvalidURL(new.link[:300], "URL longer than the database column (2048 canonical / 4096 link)")
    a = new.article
    classified: dict[str, Any] = {"topics": [], "scores": {}, "evidence": {}}
    if classification is not None:
        classified = {"topics": list(classification.topics), "scores": dict(classification.scores),
                      "evidence": {k: list(v) for k, v in classification.evidence.items()}, "classified_at": now}
    stmt = (
        dialect_insert(session)(Article)
        .values(
            url=new.url,
            link=new.link,
            feed_id=new.feed_id,
            source=clip(new.source, _NAME) or "",
            origin=new.origin,
            title=a.title,
            text=a.text,
            summary=new.summary,
            published_at=a.published,
            fetched_at=now,
            author=clip(a.author, _NAME),
            site_name=clip(a.site_name, _NAME),
            language=clip(a.language, _LANG),
            **classified,
        )
        .on_conflict_do_nothing(index_elements=["url"])
        .returning(Article.id)
    )
    return session.execute(stmt).scalar_one_or_none()


def set_classification(
    session: Session, article_id: int, classification: Classification, *, now: datetime
) -> None:
    """Store topics, scores and evidence on an article."""
    session.execute(
        update(Article)
        .where(Article.id == article_id)
        .values(
            topics=list(classification.topics),
            scores=dict(classification.scores),
            evidence={k: list(v) for k, v in classification.evidence.items()},
            classified_at=now,
        )
    )


def record_failure(
    session: Session, *, run_id: str | None, stage: str, url: str, reason: str, now: datetime,
    transient: bool = False,
) -> None:
    """Record one failure of one feed, page or delivery (``transient``: worth retrying soon)."""
    session.add(Failure(run_id=run_id, stage=stage[:32], url=url[:_FAILURE_URL], reason=reason[:4000], at=now,
                        transient=transient))


def permanent_failure_counts(session: Session, urls: Iterable[str]) -> dict[str, int]:
    """How often each page URL failed for a reason that will not go away by itself (404, not HTML…)."""
    wanted = list(dict.fromkeys(urls))
    counts: dict[str, int] = {}
    for i in range(0, len(wanted), _IN_BATCH):
        chunk = wanted[i : i + _IN_BATCH]
        rows = session.execute(
            select(Failure.url, func.count(Failure.id))
            .where(Failure.url.in_(chunk), Failure.stage.in_(("fetch", "extract")), Failure.transient.is_(False))
            .group_by(Failure.url)
        )
        counts.update({url: int(n) for url, n in rows})
    return counts


def failures_of_run(session: Session, run_id: str) -> list[tuple[str, str, str]]:
    """(stage, url, reason) of every failure recorded by one run, oldest first."""
    rows = session.execute(
        select(Failure.stage, Failure.url, Failure.reason).where(Failure.run_id == run_id).order_by(Failure.id)
    )
    return [(r.stage, r.url, r.reason) for r in rows]


def start_run(session: Session, run_id: str, kind: str, *, now: datetime) -> None:
    session.add(Run(id=run_id, kind=kind, started_at=now, stats={}))


def finish_run(session: Session, run_id: str, stats: dict[str, Any], *, now: datetime) -> None:
    session.execute(update(Run).where(Run.id == run_id).values(finished_at=now, stats=stats))


def _to_stored(a: Article) -> StoredArticle:
    return StoredArticle(
        id=a.id, url=a.url, title=a.title, text=a.text, source=a.source,
        published=a.published_at, fetched_at=a.fetched_at, topics=tuple(a.topics or ()),
    )


def load_articles(session: Session, ids: Sequence[int]) -> list[StoredArticle]:
    """The articles with these ids, in the given order."""
    rows = {a.id: a for a in session.scalars(select(Article).where(Article.id.in_(list(ids))))}
    return [_to_stored(rows[i]) for i in ids if i in rows]


def _articles_query(since: datetime | None) -> Select[tuple[Article]]:
    query = select(Article).order_by(func.coalesce(Article.published_at, Article.fetched_at), Article.id)
    if since is not None:
        query = query.where(func.coalesce(Article.published_at, Article.fetched_at) >= since)
    return query


def iter_articles(
    session: Session, *, topic: str | None = None, since: datetime | None = None, batch: int = 500
) -> Iterator[StoredArticle]:
    """Stored articles, oldest first, optionally only one topic and only since a time.

    The topic filter runs in Python on the JSON list so it works the same on SQLite and PostgreSQL.
    """
    result = session.scalars(_articles_query(since).execution_options(yield_per=batch))
    for a in result:
        if topic is None or topic in (a.topics or ()):
            yield _to_stored(a)


def article_count(session: Session) -> int:
    return int(session.scalar(select(func.count(Article.id))) or 0)


def recent_failures(session: Session, *, limit: int = 50) -> list[Failure]:
    """The newest recorded failures, newest first."""
    return list(session.scalars(select(Failure).order_by(Failure.id.desc()).limit(limit)))


def record_host_backoff(session: Session, host: str, *, until: datetime, reason: str, now: datetime) -> None:
    """Remember that ``host`` must be left alone until ``until`` (a later time already stored wins)."""
    host = host[:255]
    session.execute(
        dialect_insert(session)(HostBackoff)
        .values(host=host, until=until, reason=reason[:200], updated_at=now)
        .on_conflict_do_nothing(index_elements=["host"])
    )
    session.execute(
        update(HostBackoff).where(HostBackoff.host == host, HostBackoff.until < until)
        .values(until=until, reason=reason[:200], updated_at=now)
    )


def host_backoffs(session: Session, *, now: datetime) -> dict[str, datetime]:
    """Hosts still to be left alone at ``now``, with the time until which."""
    rows = session.execute(select(HostBackoff.host, HostBackoff.until).where(HostBackoff.until > now))
    return {str(h): u for h, u in rows}

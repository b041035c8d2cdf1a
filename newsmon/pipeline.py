"""The stages of a cycle as plain functions: poll feeds, pick new items, ingest pages.

Flows (``flows/``) compose these as Prefect tasks; tests call them directly. Each function takes
what it needs (the HTTP client, the database, the settings, ``now``) and records a failure of one
feed or page as data (a ``failures`` row and an entry in the returned report) instead of raising.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from classify.classifier import Classifier
from extractors.article import extract_article, extract_article_bounded
from extractors.feeds import parse_feed_report
from extractors.urls import canonical_url
from newsmon.config import Settings
from newsmon.errors import ExtractError, FeedParseError, FetchError, HTTPStatusFailure, InvalidURL
from newsmon.httpclient import HttpClient
from newsmon.models import ExtractedArticle, FeedItem, FetchedPage
from newsmon.workers import die_with_parent
from storage import repo
from storage.db import Database
from storage.schema import Article

__all__ = [
    "DatabaseHostGate",
    "ExtractorPool",
    "IngestItem",
    "IngestReport",
    "PollResult",
    "ingest",
    "items_from_urls",
    "poll_feed",
    "record_polls",
    "select_new_items",
    "unclustered_article_ids",
    "utcnow",
]

log = logging.getLogger(__name__)

EXTRACT_TIME_LIMIT = 30.0  # seconds per page; a page that makes the parser spin is stopped
GIVE_UP_AFTER = 3  # permanent failures of one page URL before newsmon stops fetching it
_WRITE_BATCH = 50


def utcnow() -> datetime:
    return datetime.now(UTC)


# -- polling ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PollResult:
    """The outcome of polling one feed: ``status`` is ``new``, ``unchanged`` or ``failed``."""

    feed: repo.FeedState
    status: str
    items: tuple[FeedItem, ...] = ()
    error: str | None = None
    http_status: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    skipped: tuple[tuple[str, str], ...] = ()  # (link, reason) of entries left out (broken link)
    dropped: int = 0  # entries beyond [fetch] max_items_per_feed


def poll_feed(client: HttpClient, feed: repo.FeedState) -> PollResult:
    """Fetch (conditional GET) and parse one feed. Never raises for a feed's own failure.

    A broken item link is left out and reported in ``skipped``; at most
    ``[fetch] max_items_per_feed`` items are taken (the rest counted in ``dropped``).
    """
    try:
        page = client.fetch_feed(feed.url, etag=feed.etag, last_modified=feed.last_modified)
    except FetchError as exc:
        return PollResult(feed, "failed", error=exc.reason,
                          http_status=getattr(exc, "status", None))
    if page.status == 304:
        return PollResult(feed, "unchanged", http_status=304, etag=feed.etag,
                          last_modified=feed.last_modified)
    try:
        parsed = parse_feed_report(page.body, page.headers, feed.url,
                                   max_items=client.settings.max_items_per_feed)
    except FeedParseError as exc:
        return PollResult(feed, "failed", error=exc.reason, http_status=page.status)
    if parsed.dropped:
        log.warning("feed %s: %d item(s) beyond max_items_per_feed=%d ignored", feed.url, parsed.dropped,
                    client.settings.max_items_per_feed)
    return PollResult(
        feed, "new", parsed.items, http_status=page.status,
        etag=page.headers.get("etag"), last_modified=page.headers.get("last-modified"),
        skipped=parsed.skipped, dropped=parsed.dropped,
    )


def record_polls(db: Database, results: Sequence[PollResult], *, run_id: str, now: datetime) -> None:
    """Store validators and failure streaks of each polled feed, and a row per failed feed."""
    with db.session() as s:
        for r in results:
            repo.record_feed_poll(
                s, r.feed.id, now=now, ok=r.status != "failed", status=r.http_status,
                etag=r.etag, last_modified=r.last_modified, error=r.error,
            )
            if r.status == "failed":
                repo.record_failure(s, run_id=run_id, stage="feed", url=r.feed.url,
                                    reason=r.error or "unknown error", now=now)
            for link, reason in r.skipped:
                repo.record_failure(s, run_id=run_id, stage="feed-item", url=link, reason=reason, now=now)
            if r.dropped:
                repo.record_failure(s, run_id=run_id, stage="feed-item", url=r.feed.url, now=now,
                                    reason=f"{r.dropped} item(s) beyond [fetch] max_items_per_feed ignored")


# -- politeness shared by every process ---------------------------------------------------------


class DatabaseHostGate:
    """The HTTP client's :class:`~newsmon.httpclient.HostGate`, kept in the ``host_backoff`` table.

    A 429/503 with Retry-After seen by any process is written there at once, so every worker and
    every process (other cycles, backfills) leaves the host alone until then. Reads are cached for
    ``refresh`` seconds; this process's own back-offs apply immediately.
    """

    def __init__(self, db: Database, *, refresh: float = 10.0) -> None:
        self.db = db
        self.refresh = refresh
        self._lock = threading.Lock()
        self._cache: dict[str, datetime] = {}
        self._loaded_at = float("-inf")

    def blocked_until(self, host: str, now: datetime) -> datetime | None:
        with self._lock:
            stale = time.monotonic() - self._loaded_at > self.refresh
        if stale:
            with self.db.session() as s:
                fresh = repo.host_backoffs(s, now=now)
            with self._lock:
                for h, mine in self._cache.items():  # keep our own, maybe not yet visible
                    if mine > fresh.get(h, now):
                        fresh[h] = mine
                self._cache = fresh
                self._loaded_at = time.monotonic()
        with self._lock:
            found = self._cache.get(host)
        return found if found is not None and found > now else None

    def back_off(self, host: str, until: datetime, reason: str) -> None:
        with self._lock:
            self._cache[host] = max(until, self._cache.get(host, until))
        with self.db.session() as s:
            repo.record_host_backoff(s, host, until=until, reason=reason, now=utcnow())


# -- choosing what to fetch -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IngestItem:
    """One URL to fetch, extract, store and classify.

    ``trusted``: the user gave this URL (backfill list), so the private-address rule does not apply.
    """

    url: str
    link: str
    source: str
    origin: str = "feed"
    feed_id: int | None = None
    title: str | None = None
    published: datetime | None = None
    summary: str = ""
    trusted: bool = False


def select_new_items(
    db: Database, results: Sequence[PollResult], *, give_up_after: int = GIVE_UP_AFTER
) -> list[IngestItem]:
    """Items not stored yet, each canonical URL once even if several feeds carry it.

    A page that failed ``give_up_after`` times for a permanent reason (404, not HTML, too large, no
    article) is not fetched again; transient failures (timeouts, 5xx) are retried every cycle.
    """
    candidates: dict[str, IngestItem] = {}
    for r in results:
        source = r.feed.name or r.feed.url
        for it in r.items:
            candidates.setdefault(it.url, IngestItem(
                url=it.url, link=it.link, source=source, feed_id=r.feed.id, title=it.title or None,
                published=it.published, summary=it.summary,
            ))
    with db.session() as s:
        known = repo.known_urls(s, candidates)
        failed = repo.permanent_failure_counts(s, (u for u in candidates if u not in known))
    return [item for url, item in candidates.items()
            if url not in known and failed.get(url, 0) < give_up_after]


def unclustered_article_ids(db: Database, *, origin: str) -> list[int]:
    """Stored and classified articles not yet filed into a story (their alerts not yet decided).

    Selecting by state rather than by "stored in this run" means a crash between storing and
    alerting loses nothing: the next cycle picks them up.
    """
    with db.session() as s:
        rows = s.scalars(
            select(Article.id).where(
                Article.story_id.is_(None), Article.classified_at.is_not(None), Article.origin == origin,
            ).order_by(Article.id)
        )
        return list(rows)


# -- extraction pool --------------------------------------------------------------------------


class ExtractorPool:
    """Extraction in worker processes: both cores used, and each page bounded in time.

    A page that takes longer than ``time_limit`` gets its worker killed and an :class:`ExtractError`;
    the pool is rebuilt and the other pages in flight are retried once. ``workers=0`` extracts
    in-process without a time bound (for tests and tiny runs).
    """

    def __init__(self, workers: int | None = None, time_limit: float = EXTRACT_TIME_LIMIT) -> None:
        self.workers = (os.cpu_count() or 1) if workers is None else workers
        self.time_limit = time_limit
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> ExtractorPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None

    def _current(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None or getattr(self._pool, "_broken", False):
                if self._pool is not None:
                    self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = ProcessPoolExecutor(
                    max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
                    initializer=die_with_parent,  # a kill -9 of this process ends its workers too
                )
            return self._pool

    def extract(self, page: FetchedPage, item: IngestItem, *, max_bytes: int) -> ExtractedArticle:
        if self.workers == 0:
            return extract_article(page.body, page.final_url, fallback_title=item.title,
                                   fallback_published=item.published, max_bytes=max_bytes)
        for attempt in (1, 2):
            try:
                return extract_article_bounded(
                    page.body, page.final_url, fallback_title=item.title,
                    fallback_published=item.published, max_bytes=max_bytes,
                    time_limit=self.time_limit, executor=self._current(),
                )
            except BrokenProcessPool as exc:
                if attempt == 2:
                    raise ExtractError(page.url, "the extraction worker died twice on this page") from exc
                log.info("extraction pool was rebuilt; retrying %s", page.url)
        raise AssertionError("unreachable")


# -- ingest -----------------------------------------------------------------------------------


@dataclass(slots=True)
class IngestReport:
    """What an ingest did: stored article ids, duplicates skipped, failures (url, reason)."""

    stored_ids: list[int] = field(default_factory=list)
    stored_urls: set[str] = field(default_factory=set)
    duplicates: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)

    def merge(self, other: IngestReport) -> None:
        self.stored_ids.extend(other.stored_ids)
        self.stored_urls.update(other.stored_urls)
        self.duplicates += other.duplicates
        self.failures.extend(other.failures)


@dataclass(frozen=True, slots=True)
class _Fetched:
    item: IngestItem
    article: ExtractedArticle | None
    stage: str = ""
    error: str | None = None
    transient: bool = False


def _fetch_one(client: HttpClient, pool: ExtractorPool, item: IngestItem, max_bytes: int) -> _Fetched:
    try:
        try:
            page = client.fetch_page(item.url, trusted=item.trusted)
        except HTTPStatusFailure as exc:
            if exc.status not in (404, 410) or item.link == item.url:
                raise
            page = client.fetch_page(item.link, trusted=item.trusted)  # the canonical form was wrong
    except FetchError as exc:
        return _Fetched(item, None, "fetch", exc.reason, transient=exc.transient)
    try:
        return _Fetched(item, pool.extract(page, item, max_bytes=max_bytes))
    except FetchError as exc:  # UnsupportedContent found while decoding
        return _Fetched(item, None, "extract", exc.reason)
    except ExtractError as exc:
        return _Fetched(item, None, "extract", exc.reason)


def ingest(
    client: HttpClient,
    db: Database,
    pool: ExtractorPool,
    classifier: Classifier,
    items: Sequence[IngestItem],
    *,
    settings: Settings,
    run_id: str,
    on_progress: Callable[[IngestItem, str], None] | None = None,
    now: Callable[[], datetime] = utcnow,
) -> IngestReport:
    """Fetch, extract, store and classify ``items``; pages fetched concurrently, one writer.

    Each page is fetched once; a page that fails is recorded and skipped, the rest go on.
    ``on_progress(item, outcome)`` is called once per item (outcome: stored, duplicate, failed).
    """
    report = IngestReport()
    pending: list[_Fetched] = []

    def flush() -> None:
        if not pending:
            return
        with db.session() as s:
            outcomes = [_store_guarded(s, done, classifier, report, run_id=run_id, now=now()) for done in pending]
        if on_progress is not None:
            for done, outcome in zip(pending, outcomes, strict=True):
                on_progress(done.item, outcome)
        pending.clear()

    workers = max(1, settings.fetch.concurrency)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="newsmon-fetch") as threads:
        futures: list[Future[_Fetched]] = [
            threads.submit(_fetch_one, client, pool, item, settings.fetch.max_bytes) for item in items
        ]
        for fut in as_completed(futures):
            pending.append(fut.result())
            if len(pending) >= _WRITE_BATCH:
                flush()
        flush()
    return report


def _store_guarded(
    session: Session, done: _Fetched, classifier: Classifier, report: IngestReport, *,
    run_id: str, now: datetime,
) -> str:
    """:func:`_store_one` guarded: a value the database refuses fails this item, not the batch.

    On PostgreSQL each item runs in a savepoint (its own rollback); SQLite does not enforce column
    widths, and values are cut or refused before writing anyway (:mod:`storage.repo`).
    """
    try:
        if session.get_bind().dialect.name == "postgresql":
            with session.begin_nested():
                return _store_one(session, done, classifier, report, run_id=run_id, now=now)
        return _store_one(session, done, classifier, report, run_id=run_id, now=now)
    except (DBAPIError, InvalidURL) as exc:
        reason = _db_reason(exc)
        report.failures.append((done.item.url, reason))
        repo.record_failure(session, run_id=run_id, stage="store", url=done.item.url, reason=reason, now=now)
        log.warning("%s could not be stored: %s", done.item.url, reason)
        return "failed"


def _db_reason(exc: Exception) -> str:
    if isinstance(exc, InvalidURL):
        return exc.reason
    orig = getattr(exc, "orig", None)
    first = str(orig or exc).strip().splitlines()[0] if str(orig or exc).strip() else type(exc).__name__
    return f"the database refused a value: {first[:300]}"


def _store_one(
    session: Session, done: _Fetched, classifier: Classifier, report: IngestReport, *,
    run_id: str, now: datetime,
) -> str:
    """Store one fetched page (or its failure). Returns the outcome: stored, duplicate or failed."""
    item = done.item
    if done.article is None:
        reason = done.error or "unknown error"
        report.failures.append((item.url, reason))
        repo.record_failure(session, run_id=run_id, stage=done.stage, url=item.url, reason=reason, now=now,
                            transient=done.transient)
        log.info("%s failed (%s): %s", item.url, done.stage, reason)
        return "failed"
    article = done.article
    classification = classifier.classify(article.title, article.text)  # stored by the same INSERT
    new_id = repo.insert_article(session, repo.NewArticle(
        url=item.url, link=item.link, source=article.site_name or item.source, origin=item.origin,
        article=article, feed_id=item.feed_id, summary=item.summary,
    ), now=now, classification=classification)
    if new_id is None:
        report.duplicates += 1
        return "duplicate"
    report.stored_ids.append(new_id)
    report.stored_urls.add(item.url)
    log.info("stored %s (%s) topics=%s", item.url, article.title[:80], ",".join(classification.topics) or "-")
    return "stored"


def items_from_urls(urls: Iterable[str], *, source: str = "backfill") -> list[IngestItem]:
    """Backfill items from user-given URLs (trusted: the private-address rule does not apply)."""
    seen: dict[str, IngestItem] = {}
    for raw in urls:
        url = canonical_url(raw)
        host = urlsplit(url).hostname or source
        seen.setdefault(url, IngestItem(url=url, link=raw, source=host, origin="backfill", trusted=True))
    return list(seen.values())

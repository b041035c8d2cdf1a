"""Alerts end to end: file articles into stories, queue one delivery per story × target, deliver.

::

    enqueue_alerts   articles → stories (copies join, listed as sources) → pending deliveries
    check_feed_health  feeds failing N polls in a row → one "feed down" alert, one "recovered"
    deliver_pending  claim due rows (compare-and-set) → one apprise call per target → sent / retry / failed

Delivery guarantees (the outbox in :mod:`storage.outbox`):

- one row per alert event × target, unique: reruns, restarts and overlapping runs cannot double it;
- a row is sent only by the process whose claim (``pending → sending``) won; a claim whose owning
  process is gone (kill -9 mid-delivery: see :mod:`storage.outbox`) is taken over on the next cycle,
  and any claim older than ``[alerts] lease_seconds`` too, so a crash loses nothing, and only a crash
  between the server accepting a message and the database recording it can repeat that message;
- a refused message stays ``pending`` with back-off (``[alerts] retry_backoff``) and is retried on later
  cycles; after ``[alerts] max_attempts`` it is ``failed``, reported and still listed.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts import cluster
from alerts.deliver import mask_url, send_message, target_key
from alerts.render import (
    FeedHealthEvent,
    Message,
    SourceRef,
    StoryAlert,
    render_alert,
    render_digest,
    render_feed_health,
    render_test,
    summarize,
)
from alerts.settings import AlertSettings, TargetSpec
from newsmon.config import Settings
from newsmon.errors import DeliveryError
from storage import outbox, repo
from storage.db import Database
from storage.schema import Article

__all__ = [
    "DeliveryReport",
    "EnqueueReport",
    "TargetResult",
    "check_feed_health",
    "deliver_pending",
    "enqueue_alerts",
    "iter_alert_rows",
    "notify_test",
    "queue_reclassified",
]

log = logging.getLogger(__name__)

CLUSTER_LOCK = "cluster"


@dataclass(frozen=True, slots=True)
class EnqueueReport:
    """What :func:`enqueue_alerts` did."""

    articles: int = 0            # articles filed into a story
    stories_created: int = 0
    joined: int = 0              # copies attached to an existing story (no new alert)
    deliveries_created: int = 0
    skipped: int = 0             # already filed (idempotent rerun) or not classified


@dataclass(slots=True)
class DeliveryReport:
    """What :func:`deliver_pending` did; ``failures`` are (masked target, reason) for the summary."""

    sent: int = 0                # deliveries (story × target) recorded as sent in this run
    messages: int = 0            # apprise calls that succeeded (a digest carries several deliveries)
    digests: int = 0             # of which digests (daily/weekly, or a burst over burst_limit)
    retried: int = 0             # deliveries left pending after a failed attempt in this run
    failed: int = 0              # deliveries given up in this run (retry limit reached)
    pending: int = 0             # deliveries pending overall after the run
    failures: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class TargetResult:
    """The outcome of ``newsmon notify-test`` for one target."""

    target_masked: str
    ok: bool
    error: str | None = None


# -- clustering and queueing ------------------------------------------------------------------------


def _meets(topics: Sequence[str], wanted: Sequence[str]) -> bool:
    return any(t in wanted for t in topics)


def next_digest_time(mode: str, now: datetime, alerts: AlertSettings) -> datetime:
    """When a digest of this mode goes out next, in UTC: ``digest_hour`` o'clock in ``digest_timezone``
    (wall-clock time, so it follows summer time), weekly on ``digest_weekday``."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(alerts.digest_timezone)
    local = now.astimezone(zone)
    day = local.date()
    if datetime.combine(day, time(alerts.digest_hour), tzinfo=zone) <= local:
        day += timedelta(days=1)
    if mode == "weekly":
        day += timedelta(days=(alerts.digest_weekday - day.weekday()) % 7)
    return datetime.combine(day, time(alerts.digest_hour), tzinfo=zone).astimezone(UTC)


def _due_at(mode: str, now: datetime, alerts: AlertSettings) -> datetime:
    return now if mode == "immediate" else next_digest_time(mode, now, alerts)


class _Masks:
    """mask_url, computed once per URL per call."""

    def __init__(self) -> None:
        self._cache: dict[str, str] = {}

    def __call__(self, url: str) -> str:
        if url not in self._cache:
            self._cache[url] = mask_url(url)
        return self._cache[url]


def _queue_story(session: Session, story: outbox.Story, targets: Sequence[TargetSpec], alerts: AlertSettings,
                 now: datetime, masks: _Masks) -> int:
    """Create the pending deliveries of a story whose topics alert; returns how many were created."""
    created = 0
    for target in targets:
        mode = target.mode_for(story.topics)
        if mode is None:
            continue
        created += outbox.enqueue_delivery(
            session, event_key=f"story:{story.id}", kind="story", story_id=story.id,
            target_key=target_key(target.url), target_masked=masks(target.url), mode=mode, now=now,
            due_at=_due_at(mode, now, alerts),
        )
    story.alert_state = "queued"
    story.alert_due = True
    log.info("story %d %r: %d alert(s) queued", story.id, story.title[:80], created)
    return created


def _file_article(session: Session, art: Article, index: cluster.StoryIndex, now: datetime,
                  sources: list[dict[str, object]]) -> tuple[outbox.Story, bool]:
    """Put one article into a story (joining a copy's story or starting one). Returns (story, is_new).

    The ``story_sources`` row is appended to ``sources`` (the caller inserts them all in one
    statement); the article's ``story_id`` and the story's ``last_seen_at`` and topics are set on the
    ORM objects, so the session flushes them as batched UPDATEs.
    """
    feats = cluster.features(art.title, art.text)
    found = index.best_match(feats)
    story: outbox.Story | None
    if found is not None:
        story = session.get(outbox.Story, found.story_id)
        assert story is not None
        story.topics = list(dict.fromkeys([*story.topics, *art.topics]))
        log.info("article %d (%s) joins story %d as a %s (score %.2f)", art.id, art.url, story.id,
                 found.reason, found.score)
        score, reason, is_new = found.score, found.reason, False
    else:
        story_id = outbox.create_story(session, article_id=art.id, url=art.url, title=art.title,
                                       topics=art.topics, now=now)
        if story_id is None:  # filed by a concurrent run meanwhile
            story_id = session.scalar(select(outbox.Story.id).where(outbox.Story.first_article_id == art.id))
        story = session.get(outbox.Story, story_id)
        assert story is not None
        score, reason, is_new = None, "first", True
    sources.append({"story_id": story.id, "article_id": art.id, "url": art.url, "source": art.source,
                    "title": art.title, "published_at": art.published_at, "added_at": now,
                    "match_score": score, "match_reason": reason, "features": feats.to_json()})
    if story.last_seen_at != now:
        story.last_seen_at = now
    art.story_id = story.id
    index.add(story.id, art.id, feats)
    return story, is_new


def _order_to_file(session: Session, article_ids: Sequence[int]) -> list[int]:
    """The ids of the articles still to file, earliest published first (so within one batch the
    original, not a later copy, starts the story and gives it its headline); unknown dates last.
    Only ids and dates are read here: the articles themselves are loaded chunk by chunk."""
    wanted = sorted(set(article_ids))
    rows: list[tuple[int, datetime | None]] = []
    for i in range(0, len(wanted), 500):
        rows.extend((r.id, r.published_at) for r in session.execute(
            select(Article.id, Article.published_at).where(
                Article.id.in_(wanted[i : i + 500]), Article.story_id.is_(None), Article.classified_at.is_not(None))
        ))
    far_future = datetime.max.replace(tzinfo=UTC)
    return [aid for aid, _ in sorted(rows, key=lambda r: (r[1] or far_future, r[0]))]


def _load_chunk(session: Session, ids: Sequence[int]) -> list[Article]:
    """These articles, in the order given."""
    by_id = {a.id: a for a in session.scalars(
        select(Article).where(Article.id.in_(list(ids))).execution_options(populate_existing=True))}
    return [by_id[i] for i in ids if i in by_id]


_FILE_CHUNK = 500  # articles loaded (with their text) at a time: memory stays flat in a large backfill


def enqueue_alerts(session: Session, article_ids: Sequence[int], settings: Settings, *, now: datetime,
                   alert: bool = True) -> EnqueueReport:
    """File stored, classified articles into stories and queue the alerts that are due.

    A copy of a recent story (syndicated, edited, reworded) joins it as an extra source and alerts
    nobody. A new story whose topics are routed to a target gets one pending delivery per target
    (insert-or-ignore on story × target). ``alert=False`` (backfill without ``--alert``) files and
    clusters but queues nothing, and the story never alerts later. Idempotent: an article already
    filed is skipped. Concurrent calls are serialised by a lock row, so two runs cannot each start a
    story for two copies of one event.
    """
    alerts = settings.alerts
    outbox.acquire_lock(session, CLUSTER_LOCK)
    since = now - timedelta(days=alerts.cluster_window_days)
    index = cluster.StoryIndex([(s.story_id, s.article_id, cluster.features_from_json(s.features))
                                for s in outbox.recent_sources(session, since=since)])
    targets = alerts.targets()
    masks = _Masks()
    filed = created = joined = queued = 0
    order = _order_to_file(session, article_ids)
    skipped = len(set(article_ids)) - len(order)
    for start in range(0, len(order), _FILE_CHUNK):
        arts = _load_chunk(session, order[start : start + _FILE_CHUNK])
        sources: list[dict[str, object]] = []
        with session.no_autoflush:  # one batched flush per chunk, not a few UPDATEs per article
            for art in arts:
                story, is_new = _file_article(session, art, index, now, sources)
                filed += 1
                created += is_new
                joined += not is_new
                if is_new and not alert:
                    story.alert_state = "suppressed"
                elif alert and story.alert_state == "none" and _meets(story.topics, alerts.alert_topics()):
                    queued += _queue_story(session, story, targets, alerts, now, masks)
            outbox.add_sources(session, sources)
        session.flush()
        for art in arts:
            session.expunge(art)  # their text is no longer needed
    return EnqueueReport(filed, created, joined, queued, skipped)


def queue_reclassified(session: Session, article_ids: Sequence[int], settings: Settings, *,
                       now: datetime) -> int:
    """Queue the alert of each story that a re-filed article now brings under ``[alerts].topics``
    (``newsmon reclassify`` after a topic-file change). The caller passes only articles that newly
    meet the alert topics and are recent enough; this adds their topics to their story and queues
    it once, through the same outbox as a new story: a story already queued or sent, or filed by a
    backfill without ``--alert`` (``suppressed``), queues nothing. An article not yet filed into a
    story is left to the next cycle, which files and alerts it as new. Returns deliveries created."""
    alerts = settings.alerts
    targets = alerts.targets()
    masks = _Masks()
    created = 0
    for art in _load_articles(session, article_ids):
        if art.story_id is None:
            continue
        story = session.get(outbox.Story, art.story_id)
        assert story is not None
        story.topics = list(dict.fromkeys([*story.topics, *art.topics]))
        if story.alert_state == "none" and _meets(story.topics, alerts.alert_topics()):
            log.info("article %d (%s) re-filed under %s: story %d queued", art.id, art.url,
                     ", ".join(art.topics), story.id)
            created += _queue_story(session, story, targets, alerts, now, masks)
    session.flush()
    return created


def _load_articles(session: Session, article_ids: Sequence[int]) -> list[Article]:
    """The articles with these ids, in id order."""
    wanted = sorted(set(article_ids))
    arts: list[Article] = []
    for i in range(0, len(wanted), 500):
        arts.extend(session.scalars(select(Article).where(Article.id.in_(wanted[i : i + 500]))
                                    .order_by(Article.id).execution_options(populate_existing=True)))
    return arts


# -- feed health ------------------------------------------------------------------------------------


def check_feed_health(session: Session, settings: Settings, *, now: datetime) -> None:
    """Queue one ``feed down`` alert when a feed has failed ``feed_failure_threshold`` polls in a row,
    and one ``feed recovered`` alert when it next succeeds (hysteresis: nothing in between)."""
    alerts = settings.alerts
    if alerts.feed_failure_threshold <= 0:
        return
    targets = [t for t in alerts.targets() if t.feed_health]
    masks = _Masks()
    for view in outbox.feed_health_views(session):
        if view.state != "down" and view.consecutive_failures >= alerts.feed_failure_threshold:
            episode = view.episode + 1
            if outbox.set_feed_state(session, view.feed_id, expect=view.state, state="down", episode=episode,
                                     now=now):
                log.warning("feed %s is down (%d failed polls)", view.url, view.consecutive_failures)
                _queue_feed_event(session, view, "down", episode, targets, now, masks)
        elif view.state == "down" and view.consecutive_failures == 0 and outbox.set_feed_state(
            session, view.feed_id, expect="down", state="ok", episode=view.episode, now=now
        ):
            log.info("feed %s recovered", view.url)
            _queue_feed_event(session, view, "recovered", view.episode, targets, now, masks)


def _queue_feed_event(session: Session, view: outbox.FeedHealthView, kind: str, episode: int,
                      targets: Sequence[TargetSpec], now: datetime, masks: _Masks) -> None:
    payload = {"kind": kind, "feed_url": view.url, "feed_name": view.name,
               "failures": view.consecutive_failures, "error": (view.last_error or "")[:500],
               "since": view.last_success_at.isoformat() if view.last_success_at else None}
    prefix = "feed-down" if kind == "down" else "feed-up"
    for target in targets:
        outbox.enqueue_delivery(
            session, event_key=f"{prefix}:{view.feed_id}:{episode}", kind=prefix, story_id=None,
            target_key=target_key(target.url), target_masked=masks(target.url), mode="immediate", now=now,
            due_at=now, payload=payload,
        )


# -- delivery ---------------------------------------------------------------------------------------


def _plan(rows: Sequence[outbox.DeliveryRow], burst_limit: int) -> list[tuple[str, list[outbox.DeliveryRow]]]:
    """How one target's due rows go out: singles, one digest of digest-mode rows, and one burst
    digest when more than ``burst_limit`` immediate story alerts are due at once."""
    immediate = [r for r in rows if r.kind == "story" and r.mode == "immediate"]
    digest = [r for r in rows if r.kind == "story" and r.mode != "immediate"]
    other = [r for r in rows if r.kind != "story"]
    plan: list[tuple[str, list[outbox.DeliveryRow]]] = [("single", [r]) for r in other]
    if len(immediate) > burst_limit:
        plan.append(("burst", immediate))
    else:
        plan.extend(("single", [r]) for r in immediate)
    if digest:
        plan.append(("digest", digest))
    return plan


def _story_alerts(session: Session, story_ids: Sequence[int], alerts: AlertSettings) -> dict[int, StoryAlert]:
    sources = outbox.sources_of(session, story_ids)
    out: dict[int, StoryAlert] = {}
    alerting = alerts.alert_topics()
    for story_id in story_ids:
        story = session.get(outbox.Story, story_id)
        assert story is not None, f"delivery for missing story {story_id}"
        first = session.get(Article, story.first_article_id)
        members = sources.get(story_id, [])
        others = tuple(SourceRef(m.source, m.url, m.title) for m in members if m.article_id != story.first_article_id)
        topics = tuple(dict.fromkeys([*(t for t in story.topics if t in alerting), *story.topics]))
        out[story_id] = StoryAlert(
            title=story.title,
            url=first.url if first is not None else story.url,  # canonical: no tracking parameters
            source=first.source if first is not None else "",
            published=first.published_at if first is not None else None,
            topics=topics,
            alert_topics=tuple(t for t in story.topics if t in alerting),
            summary=summarize(first.text or first.summary) if first is not None else "",
            evidence=dict(first.evidence or {}) if first is not None else {},
            other_sources=others,
        )
    return out


def _feed_event(payload: dict[str, object]) -> FeedHealthEvent:
    since = payload.get("since")
    failures = payload.get("failures")
    return FeedHealthEvent(
        kind=str(payload.get("kind", "down")), feed_url=str(payload.get("feed_url", "")),
        feed_name=str(payload["feed_name"]) if payload.get("feed_name") else None,
        failures=failures if isinstance(failures, int) else 0,
        error=str(payload.get("error") or "") or None,
        since=datetime.fromisoformat(since) if isinstance(since, str) else None,
    )


_DIGEST_HEADINGS = {"daily": "daily digest", "weekly": "weekly digest"}


def _message(session: Session, rows: Sequence[outbox.DeliveryRow], sent_as: str, alerts: AlertSettings) -> Message:
    if rows[0].kind != "story":
        return render_feed_health(_feed_event(rows[0].payload))
    story_ids = [r.story_id for r in rows if r.story_id is not None]
    stories = _story_alerts(session, story_ids, alerts)
    if sent_as == "single":
        return render_alert(stories[story_ids[0]])
    if sent_as == "burst":
        heading = f"{len(story_ids)} new stories in one cycle (over burst_limit={alerts.burst_limit})"
    else:
        heading = " + ".join(sorted({_DIGEST_HEADINGS.get(r.mode, r.mode) for r in rows}))
    return render_digest([stories[s] for s in story_ids], heading=heading)


def _send_batch(db: Database, target: TargetSpec, rows: Sequence[outbox.DeliveryRow], sent_as: str,
                settings: Settings, now: datetime, token: str, run_id: str, report: DeliveryReport,
                dead_tokens: Sequence[str] = ()) -> None:
    alerts = settings.alerts
    with db.session() as s:
        won = outbox.claim_deliveries(s, [r.id for r in rows], token=token, now=now,
                                      lease_seconds=alerts.lease_seconds, dead_tokens=dead_tokens)
    if not won:
        return  # another run claimed (and is sending) them
    with db.session() as s:
        claimed = outbox.load_deliveries(s, won)
        message = _message(s, claimed, sent_as, alerts)
    masked = claimed[0].target_masked
    try:
        send_message(target.url, message)
    except DeliveryError as exc:
        _record_failure(db, claimed, exc, message, settings, now, token, run_id, report)
        return
    with db.session() as s:
        report.sent += outbox.record_sent(s, won, token=token, now=now, sent_as=sent_as)
    report.messages += 1
    report.digests += sent_as != "single"
    log.info("sent %r to %s (%d alert(s), %s)", message.subject, masked, len(won), sent_as)


def _record_failure(db: Database, claimed: Sequence[outbox.DeliveryRow], exc: DeliveryError, message: Message,
                    settings: Settings, now: datetime, token: str, run_id: str, report: DeliveryReport) -> None:
    alerts = settings.alerts
    attempts = max(r.attempts for r in claimed)
    next_at = now + timedelta(seconds=alerts.backoff_after(attempts))
    with db.session() as s:
        retry, gave_up = outbox.record_attempt_failure(
            s, [r.id for r in claimed], token=token, now=now, error=exc.reason,
            max_attempts=alerts.max_attempts, next_attempt_at=next_at,
        )
        state = "gave up (retry limit)" if gave_up else f"will retry after {next_at:%H:%M:%S} UTC"
        reason = f"{message.subject}: {exc.reason} (attempt {attempts}/{alerts.max_attempts}; {state})"
        repo.record_failure(s, run_id=run_id, stage="deliver", url=exc.target, reason=reason, now=now)
    report.retried += retry
    report.failed += gave_up
    report.failures.append((exc.target, reason))
    log.warning("delivery to %s failed: %s", exc.target, reason)


def deliver_pending(db: Database, settings: Settings, *, now: datetime, run_id: str) -> DeliveryReport:
    """Send every due delivery once: claim (compare-and-set), one apprise call per target, record.

    Never raises for a delivery failure: it is recorded on the row (attempts, last error, back-off or
    ``failed``), in ``failures`` and in the returned report.
    """
    alerts = settings.alerts
    targets = {target_key(t.url): t for t in alerts.targets()}
    report = DeliveryReport()
    token = outbox.owner_token(run_id)
    with outbox.owner_lock(db.engine, token):
        with db.session() as s:
            dead = outbox.dead_owner_tokens(s, now=now, lease_seconds=alerts.lease_seconds,
                                            target_keys=list(targets))
            due = outbox.due_deliveries(s, now=now, lease_seconds=alerts.lease_seconds,
                                        target_keys=list(targets), dead_tokens=dead)
            orphans = outbox.orphaned_pending(s, list(targets))
        if dead:
            log.warning("taking over alerts claimed by %d process(es) that are gone (crashed mid-delivery)",
                        len(dead))
        by_target: dict[str, list[outbox.DeliveryRow]] = defaultdict(list)
        for row in due:
            by_target[row.target_key].append(row)
        for key, rows in by_target.items():
            for sent_as, batch in _plan(rows, alerts.burst_limit):
                _send_batch(db, targets[key], batch, sent_as, settings, now, token, run_id, report, dead)
    for masked, count in orphans:
        report.failures.append((masked, f"{count} alert(s) pending for a target no longer configured; "
                                        "kept pending until it is configured again"))
    with db.session() as s:
        counts = outbox.count_by_status(s)
    report.pending = counts.get(outbox.PENDING, 0) + counts.get(outbox.SENDING, 0)
    return report


# -- test message and listing -----------------------------------------------------------------------


def notify_test(settings: Settings) -> list[TargetResult]:
    """Send one test message to every configured target (one apprise call each)."""
    message = render_test(datetime.now(UTC))
    results: list[TargetResult] = []
    for target in settings.alerts.targets():
        try:
            send_message(target.url, message)
        except DeliveryError as exc:
            results.append(TargetResult(exc.target, False, exc.reason))
        else:
            results.append(TargetResult(mask_url(target.url), True, None))
    return results


def iter_alert_rows(session: Session) -> Iterator[dict[str, object]]:
    """One dict per alert and target for ``newsmon alerts --jsonl`` (targets masked).

    Keys: url, title, topics, target, status (sent | pending | failed), attempts, sent_at, plus kind,
    mode, sources (how many outlets carried the story), last_error, next_attempt_at, created_at.
    """
    source_counts: dict[int, int] = {}
    for delivery, story in outbox.iter_delivery_rows(session):
        status = outbox.PENDING if delivery.status == outbox.SENDING else delivery.status
        payload = dict(delivery.payload or {})
        if story is not None:
            if story.id not in source_counts:
                source_counts[story.id] = len(outbox.sources_of(session, [story.id])[story.id])
            url, title, topics = story.url, story.title, list(story.topics)
        else:
            name = payload.get("feed_name") or payload.get("feed_url")
            url = str(payload.get("feed_url", ""))
            title = f"feed {'recovered' if delivery.kind == 'feed-up' else 'down'}: {name}"
            topics = []
        yield {
            "url": url,
            "title": title,
            "topics": topics,
            "target": delivery.target_masked,
            "status": status,
            "attempts": delivery.attempts,
            "sent_at": delivery.sent_at,
            "kind": delivery.kind,
            "mode": delivery.mode,
            "sources": source_counts.get(story.id, 0) if story is not None else 0,
            "last_error": delivery.last_error,
            "next_attempt_at": delivery.next_attempt_at,
            "created_at": delivery.created_at,
        }

"""The end-of-run summary: what was polled, stored, alerted, and what failed (with why)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["CycleSummary", "render_markdown", "render_summary"]


class _Poll(Protocol):
    @property
    def status(self) -> str: ...
    @property
    def error(self) -> str | None: ...
    @property
    def feed(self) -> Any: ...


class _Ingest(Protocol):
    stored_ids: list[int]
    duplicates: int
    failures: list[tuple[str, str]]


@dataclass(slots=True)
class CycleSummary:
    """Counters and failures of one run or backfill; ``as_dict`` is JSON-safe."""

    run_id: str
    kind: str
    feeds_total: int = 0
    feeds_new: int = 0
    feeds_unchanged: int = 0
    feed_failures: list[tuple[str, str]] = field(default_factory=list)
    new_items: int = 0
    stored: int = 0
    duplicates: int = 0
    page_failures: list[tuple[str, str]] = field(default_factory=list)
    alerts_queued: int = 0
    alerts_sent: int = 0
    alerts_pending: int = 0
    alerts_failed: int = 0
    delivery_failures: list[tuple[str, str]] = field(default_factory=list)
    new_by_topic: dict[str, int] = field(default_factory=dict)  # stored articles per topic ("" = none)
    stored_ids: list[int] = field(default_factory=list)  # not in as_dict: for new_by_topic

    def add_polls(self, results: Iterable[_Poll]) -> None:
        for r in results:
            if r.status == "failed":
                self.feed_failures.append((r.feed.name or r.feed.url, r.error or "unknown error"))
            elif r.status == "unchanged":
                self.feeds_unchanged += 1
            else:
                self.feeds_new += 1

    def add_ingest(self, report: _Ingest) -> None:
        self.stored += len(report.stored_ids)
        self.stored_ids.extend(report.stored_ids)
        self.duplicates += report.duplicates
        self.page_failures.extend(report.failures)

    def add_alerts(self, result: Mapping[str, Any]) -> None:
        self.alerts_queued += int(result.get("queued", 0))
        delivery = result.get("delivery")
        if delivery is None:
            return
        self.alerts_sent += int(getattr(delivery, "sent", 0))
        self.alerts_pending += int(getattr(delivery, "pending", 0))
        self.alerts_failed += int(getattr(delivery, "failed", 0))
        for target, error in getattr(delivery, "failures", []) or []:
            self.delivery_failures.append((str(target), str(error)))

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "kind": self.kind,
            "feeds_total": self.feeds_total,
            "feeds_new": self.feeds_new,
            "feeds_unchanged": self.feeds_unchanged,
            "feed_failures": [list(x) for x in self.feed_failures],
            "new_items": self.new_items,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "page_failures": [list(x) for x in self.page_failures],
            "alerts_queued": self.alerts_queued,
            "alerts_sent": self.alerts_sent,
            "alerts_pending": self.alerts_pending,
            "alerts_failed": self.alerts_failed,
            "delivery_failures": [list(x) for x in self.delivery_failures],
            "new_by_topic": dict(self.new_by_topic),
        }


def render_summary(d: Mapping[str, Any], *, max_listed: int = 20) -> str:
    """Human-readable summary of :meth:`CycleSummary.as_dict` output."""
    lines: list[str] = []
    if d.get("kind") == "run":
        lines.append(
            f"feeds: {d['feeds_total']} polled, {d['feeds_new']} with news, "
            f"{d['feeds_unchanged']} unchanged (304), {len(d['feed_failures'])} failed"
        )
    lines.append(
        f"articles: {d['new_items']} new link(s), {d['stored']} stored, "
        f"{d['duplicates']} already stored, {len(d['page_failures'])} failed"
    )
    lines.append(
        f"alerts: {d['alerts_queued']} queued, {d['alerts_sent']} sent, "
        f"{d['alerts_pending']} pending retry, {d['alerts_failed']} given up"
    )
    for title, key in (("failed feeds", "feed_failures"), ("failed pages", "page_failures"),
                       ("failed deliveries", "delivery_failures")):
        rows = d.get(key) or []
        if rows:
            lines.append(f"{title}:")
            lines.extend(f"  - {what}: {why}" for what, why in rows[:max_listed])
            if len(rows) > max_listed:
                lines.append(f"  … and {len(rows) - max_listed} more (see `newsmon failures`)")
    return "\n".join(lines)


def _md(text: object) -> str:
    """A markdown table cell: pipes escaped, one line."""
    return " ".join(str(text).split()).replace("|", "\\|")


def render_markdown(d: Mapping[str, Any], *, max_listed: int = 30) -> str:
    """The run summary as markdown (the Prefect artifact each cycle and backfill publishes)."""
    kind = "cycle" if d.get("kind") == "run" else str(d.get("kind", "run"))
    lines = [f"# newsmon {kind}", "", "| figure | value |", "|---|---|"]
    if d.get("kind") == "run":
        lines.append(f"| feeds polled | {d.get('feeds_total', 0)} ({d.get('feeds_new', 0)} with news, "
                     f"{d.get('feeds_unchanged', 0)} unchanged, {len(d.get('feed_failures') or [])} failed) |")
    lines += [
        f"| new links | {d.get('new_items', 0)} |",
        f"| articles stored | {d.get('stored', 0)} ({d.get('duplicates', 0)} already stored, "
        f"{len(d.get('page_failures') or [])} failed) |",
        f"| alerts queued | {d.get('alerts_queued', 0)} |",
        f"| alerts sent | {d.get('alerts_sent', 0)} |",
        f"| alerts pending | {d.get('alerts_pending', 0)} |",
        f"| alerts given up | {d.get('alerts_failed', 0)} |",
        "", "## New articles by topic", "",
    ]
    by_topic = d.get("new_by_topic") or {}
    if by_topic:
        lines += ["| topic | articles |", "|---|---:|"]
        lines += [f"| {_md(t or '(no topic)')} | {n} |" for t, n in sorted(by_topic.items(), key=lambda kv: -kv[1])]
    else:
        lines.append("No new articles.")
    for title, key, what in (("Failed feeds", "feed_failures", "feed"), ("Failed pages", "page_failures", "page"),
                             ("Failed deliveries", "delivery_failures", "target")):
        rows = d.get(key) or []
        if d.get("kind") != "run" and key == "feed_failures":
            continue
        lines += ["", f"## {title}", ""]
        if not rows:
            lines.append("None.")
            continue
        lines += [f"| {what} | reason |", "|---|---|"]
        lines += [f"| {_md(a)} | {_md(b)} |" for a, b in rows[:max_listed]]
        if len(rows) > max_listed:
            lines.append(f"\n… and {len(rows) - max_listed} more (`newsmon failures`)")
    return "\n".join(lines) + "\n"

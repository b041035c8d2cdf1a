"""The ``[alerts]`` section of the configuration: which topics alert, where alerts go, and how.

::

    [alerts]
    topics = ["chip-export", "cloud-policy"]     # the default
    notify = ["mailto://…", "slack://…"]          # immediate targets; $NEWSMON_NOTIFY_URLS overrides
    burst_limit = 50                              # more due alerts than this for one target in one
                                                  # cycle go out as one digest message
    max_attempts = 8                              # then the delivery is marked failed (still listed)
    retry_backoff = [0, 60, 300, 900, 3600]       # seconds before retry n (last value repeats)
    lease_seconds = 900                           # a claim older than this is taken over
    feed_failure_threshold = 3                    # feed-down alert after N failed polls in a row (0: off)
    cluster_window_days = 7                       # how far back a copy may join a story
    digest_hour = 7                               # UTC hour at which daily/weekly digests go out
    digest_weekday = "monday"                     # day of the weekly digest

    [[alerts.routes]]                             # more targets, each with its topics and mode
    notify = ["mailto://…?to=cloud-team@example.com"]
    topics = ["cloud-policy"]                     # default: [alerts] topics
    mode = "daily"                                # immediate | daily | weekly
    feed_health = false                           # also receive feed-down/recovered alerts
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from newsmon.errors import ConfigError

__all__ = [
    "DEFAULT_ALERT_TOPICS",
    "MODES",
    "AlertSettings",
    "Route",
    "TargetSpec",
    "check_targets",
    "parse_alerts_section",
]

DEFAULT_ALERT_TOPICS: tuple[str, ...] = ("chip-export", "cloud-policy")
MODES: tuple[str, ...] = ("immediate", "daily", "weekly")
WEEKDAYS: tuple[str, ...] = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DEFAULT_BACKOFF: tuple[float, ...] = (0.0, 60.0, 300.0, 900.0, 3600.0)


@dataclass(frozen=True, slots=True)
class Route:
    """One ``[[alerts.routes]]`` entry. ``notify`` holds secrets: never log it."""

    notify: tuple[str, ...]
    topics: tuple[str, ...]
    mode: str = "immediate"
    feed_health: bool = False

    def __repr__(self) -> str:
        return (
            f"Route(notify=<{len(self.notify)} target(s)>, topics={self.topics!r}, mode={self.mode!r}, "
            f"feed_health={self.feed_health})"
        )


@dataclass(frozen=True, slots=True)
class TargetSpec:
    """One notify URL with everything routed to it (merged over ``notify`` and every route)."""

    url: str
    topic_modes: tuple[tuple[str, str], ...]  # (topic, mode), first route that names the topic wins
    feed_health: bool

    def __repr__(self) -> str:
        return f"TargetSpec(<masked>, topic_modes={self.topic_modes!r}, feed_health={self.feed_health})"

    def mode_for(self, topics: tuple[str, ...] | list[str]) -> str | None:
        """The delivery mode for a story with these topics, or None when none is routed here.

        ``immediate`` wins over digests: one urgent topic makes the whole story urgent.
        """
        modes = {mode for topic, mode in self.topic_modes if topic in topics}
        if not modes:
            return None
        for mode in MODES:
            if mode in modes:
                return mode
        raise AssertionError(f"unknown modes {modes!r}")


@dataclass(frozen=True, slots=True)
class AlertSettings:
    """Validated ``[alerts]`` settings. ``notify`` holds secrets: never log it, use ``mask_url``."""

    topics: tuple[str, ...] = DEFAULT_ALERT_TOPICS
    notify: tuple[str, ...] = ()
    burst_limit: int = 50
    max_attempts: int = 8
    retry_backoff: tuple[float, ...] = DEFAULT_BACKOFF
    lease_seconds: float = 900.0
    feed_failure_threshold: int = 3
    cluster_window_days: float = 7.0
    digest_hour: int = 7
    digest_weekday: int = 0  # Monday
    digest_timezone: str = "UTC"  # IANA name: digest_hour and digest_weekday are read in this zone
    routes: tuple[Route, ...] = ()

    def __repr__(self) -> str:
        return (
            f"AlertSettings(topics={self.topics!r}, notify=<{len(self.notify)} target(s)>, "
            f"burst_limit={self.burst_limit}, max_attempts={self.max_attempts}, "
            f"retry_backoff={self.retry_backoff!r}, routes={self.routes!r})"
        )

    def targets(self) -> list[TargetSpec]:
        """Every configured target once, in config order, with the topics and modes routed to it.

        ``[alerts] notify`` receives ``[alerts] topics`` immediately, plus feed-health alerts.
        """
        entries: list[tuple[str, tuple[str, ...], str, bool]] = [
            (url, self.topics, "immediate", True) for url in self.notify
        ]
        for route in self.routes:
            entries.extend((url, route.topics, route.mode, route.feed_health) for url in route.notify)
        merged: dict[str, tuple[list[tuple[str, str]], bool]] = {}
        for url, topics, mode, health in entries:
            topic_modes, had_health = merged.setdefault(url, ([], False))
            known = {t for t, _ in topic_modes}
            topic_modes.extend((t, mode) for t in topics if t not in known)
            merged[url] = (topic_modes, had_health or health)
        return [TargetSpec(url, tuple(tm), health) for url, (tm, health) in merged.items()]

    def alert_topics(self) -> tuple[str, ...]:
        """Every topic that alerts somewhere (``[alerts] topics`` plus the routes' topics)."""
        seen = dict.fromkeys(self.topics)
        for route in self.routes:
            seen.update(dict.fromkeys(route.topics))
        return tuple(seen)

    def backoff_after(self, attempts: int) -> float:
        """Seconds to wait after the ``attempts``-th failed attempt (the last value repeats)."""
        if not self.retry_backoff:
            return 0.0
        return self.retry_backoff[min(max(attempts, 1), len(self.retry_backoff)) - 1]


_KEYS = {
    "topics", "notify", "burst_limit", "max_attempts", "retry_backoff", "lease_seconds",
    "feed_failure_threshold", "cluster_window_days", "digest_hour", "digest_weekday", "routes",
    "digest_timezone",
}
_ROUTE_KEYS = {"notify", "topics", "mode", "feed_health"}


def _str_list(raw: Any, path: str, key: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(x, str) and x.strip() for x in raw):
        raise ConfigError(path, key, "expected a list of non-empty strings")
    return tuple(x.strip() for x in raw)


def _int(raw: Any, path: str, key: str, *, minimum: int, maximum: int | None = None) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < minimum or (
        maximum is not None and raw > maximum
    ):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        raise ConfigError(path, key, f"expected an integer {bound}, got {raw!r}")
    return raw


def _positive_int(raw: Any, path: str, key: str) -> int:
    return _int(raw, path, key, minimum=1)


def _seconds(raw: Any, path: str, key: str, *, minimum: float = 0.0) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or raw < minimum:
        raise ConfigError(path, key, f"expected a number >= {minimum}, got {raw!r}")
    return float(raw)


def _backoff(raw: Any, path: str) -> tuple[float, ...]:
    key = "alerts.retry_backoff"
    if not isinstance(raw, list) or not raw:
        raise ConfigError(path, key, "expected a non-empty list of seconds, e.g. [0, 60, 300]")
    return tuple(_seconds(x, path, key) for x in raw)


def _topics(raw: Any, path: str, key: str, known_topics: tuple[str, ...] | None) -> tuple[str, ...]:
    topics = _str_list(raw, path, key)
    if known_topics is not None:
        for t in topics:
            if t not in known_topics:
                raise ConfigError(path, key, f"unknown topic {t!r}; expected one of {list(known_topics)}")
    return topics


def _weekday(raw: Any, path: str) -> int:
    if not isinstance(raw, str) or raw.strip().lower() not in WEEKDAYS:
        raise ConfigError(path, "alerts.digest_weekday", f"expected one of {list(WEEKDAYS)}, got {raw!r}")
    return WEEKDAYS.index(raw.strip().lower())


def _timezone(raw: Any, path: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if not isinstance(raw, str) or not raw.strip():
        raise ConfigError(path, "alerts.digest_timezone", f"expected an IANA time zone name such as "
                                                          f"'Europe/Berlin' or 'UTC', got {raw!r}")
    try:
        ZoneInfo(raw.strip())
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(path, "alerts.digest_timezone",
                          f"unknown time zone {raw!r}; expected an IANA name such as 'Europe/Berlin', "
                          "'America/New_York' or 'UTC'") from exc
    return raw.strip()


def _route(raw: Any, path: str, i: int, default_topics: tuple[str, ...],
           known_topics: tuple[str, ...] | None) -> Route:
    key = f"alerts.routes[{i}]"
    if not isinstance(raw, dict):
        raise ConfigError(path, key, "expected a table with notify, topics, mode, feed_health")
    unknown = sorted(set(raw) - _ROUTE_KEYS)
    if unknown:
        raise ConfigError(path, f"{key}.{unknown[0]}", f"unknown key; expected one of {sorted(_ROUTE_KEYS)}")
    if "notify" not in raw:
        raise ConfigError(path, f"{key}.notify", "missing; a route needs at least one apprise URL")
    notify = _str_list(raw["notify"], path, f"{key}.notify")
    topics = _topics(raw["topics"], path, f"{key}.topics", known_topics) if "topics" in raw else default_topics
    mode = raw.get("mode", "immediate")
    if mode not in MODES:
        raise ConfigError(path, f"{key}.mode", f"expected one of {list(MODES)}, got {mode!r}")
    health = raw.get("feed_health", False)
    if not isinstance(health, bool):
        raise ConfigError(path, f"{key}.feed_health", f"expected true or false, got {health!r}")
    return Route(notify=notify, topics=topics, mode=mode, feed_health=health)


def check_targets(alerts: AlertSettings, path: str) -> None:
    """Refuse a notify URL apprise cannot use, naming its key (``alerts.notify[0]`` …), never its secrets."""
    urls = [(f"alerts.notify[{i}]", url) for i, url in enumerate(alerts.notify)]
    for r, route in enumerate(alerts.routes):
        urls.extend((f"alerts.routes[{r}].notify[{i}]", url) for i, url in enumerate(route.notify))
    if not urls:
        return
    from alerts.deliver import target_problem  # imports apprise: only when there are targets

    for key, url in urls:
        problem = target_problem(url)
        if problem is not None:
            raise ConfigError(path, key, problem)


def parse_alerts_section(
    raw: Mapping[str, Any], path: str, *, known_topics: tuple[str, ...] | None = None
) -> AlertSettings:
    """Validate the ``[alerts]`` table of a config file into :class:`AlertSettings`.

    Raises :class:`ConfigError` naming the file, the key and what was expected. Error messages never
    contain a notify URL.
    """
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise ConfigError(path, f"alerts.{unknown[0]}", f"unknown key; expected one of {sorted(_KEYS)}")
    out = AlertSettings()
    topics = _topics(raw["topics"], path, "alerts.topics", known_topics) if "topics" in raw else out.topics
    notify = _str_list(raw["notify"], path, "alerts.notify") if "notify" in raw else ()
    routes_raw = raw.get("routes", [])
    if not isinstance(routes_raw, list):
        raise ConfigError(path, "alerts.routes", "expected an array of tables: [[alerts.routes]]")
    routes = tuple(_route(r, path, i, topics, known_topics) for i, r in enumerate(routes_raw))
    return AlertSettings(
        topics=topics,
        notify=notify,
        burst_limit=_positive_int(raw["burst_limit"], path, "alerts.burst_limit")
        if "burst_limit" in raw else out.burst_limit,
        max_attempts=_positive_int(raw["max_attempts"], path, "alerts.max_attempts")
        if "max_attempts" in raw else out.max_attempts,
        retry_backoff=_backoff(raw["retry_backoff"], path) if "retry_backoff" in raw else out.retry_backoff,
        lease_seconds=_seconds(raw["lease_seconds"], path, "alerts.lease_seconds", minimum=1.0)
        if "lease_seconds" in raw else out.lease_seconds,
        feed_failure_threshold=_int(raw["feed_failure_threshold"], path, "alerts.feed_failure_threshold",
                                    minimum=0) if "feed_failure_threshold" in raw
        else out.feed_failure_threshold,
        cluster_window_days=_seconds(raw["cluster_window_days"], path, "alerts.cluster_window_days",
                                     minimum=0.0) if "cluster_window_days" in raw
        else out.cluster_window_days,
        digest_hour=_int(raw["digest_hour"], path, "alerts.digest_hour", minimum=0, maximum=23)
        if "digest_hour" in raw else out.digest_hour,
        digest_weekday=_weekday(raw["digest_weekday"], path) if "digest_weekday" in raw else out.digest_weekday,
        digest_timezone=_timezone(raw["digest_timezone"], path) if "digest_timezone" in raw else out.digest_timezone,
        routes=routes,
    )

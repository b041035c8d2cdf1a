"""Configuration: TOML over built-in defaults, validated into frozen dataclasses.

Where the settings come from, first match wins::

    newsmon --config PATH  >  $NEWSMON_CONFIG  >  ./newsmon.toml  >  built-in defaults

Environment overrides, applied here and nowhere else: ``$NEWSMON_DATABASE_URL`` replaces
``database_url``; ``$NEWSMON_NOTIFY_URLS`` (space-separated) replaces ``[alerts] notify``.
Unknown keys, wrong types, malformed TOML and bad URLs raise :class:`ConfigError` naming the file,
the key and what was expected, before any work is done.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import platformdirs

from alerts.settings import AlertSettings, check_targets, parse_alerts_section
from newsmon.errors import ConfigError
from newsmon.models import FeedSpec

__all__ = [
    "ClassifySettings",
    "FetchSettings",
    "Settings",
    "default_database_url",
    "load_settings",
]

DEFAULT_TIMEOUT = 20.0
DEFAULT_MAX_BYTES = 5_000_000
DEFAULT_MAX_REDIRECTS = 5
DEFAULT_CONCURRENCY = 8
DEFAULT_PER_HOST = 4  # requests in flight to one host, per process
DEFAULT_MAX_ITEMS_PER_FEED = 200  # items taken from one feed per poll (a 50,000-item feed is cut)
MAX_TIMEOUT = 86_400.0  # [fetch] timeout above a day is a typo
MAX_FEED_URL = 2048  # the feeds.url column
MAX_FEED_NAME = 512  # the feeds.name column
DEFAULT_USER_AGENT = "newsmon/0.1 (news monitor; +https://pypi.org/project/newsmon/)"
BUILTIN_FEEDS_NAME = "built-in feeds (newsmon/data/feeds.toml)"


@dataclass(frozen=True, slots=True)
class FetchSettings:
    """``[fetch]``: how every HTTP request is made."""

    timeout: float = DEFAULT_TIMEOUT
    max_bytes: int = DEFAULT_MAX_BYTES
    allow_private_networks: bool = False
    max_redirects: int = DEFAULT_MAX_REDIRECTS
    concurrency: int = DEFAULT_CONCURRENCY
    user_agent: str = DEFAULT_USER_AGENT
    per_host: int = DEFAULT_PER_HOST
    max_items_per_feed: int = DEFAULT_MAX_ITEMS_PER_FEED


@dataclass(frozen=True, slots=True)
class ClassifySettings:
    """``[classify]``: where the topic definitions come from (None = the packaged file)."""

    topics_file: Path | None = None
    reclassify_alert_days: float = 2.0
    """``newsmon reclassify`` queues alerts for articles newer than this that newly meet
    ``[alerts].topics``; older ones are only re-filed."""


@dataclass(frozen=True, slots=True)
class ScheduleSettings:
    """``[schedule]``: when ``newsmon serve`` runs a cycle (``--interval``/``--cron`` override it).

    ``prefect_home`` is where the local Prefect server that ``serve`` starts keeps its state when
    no ``PREFECT_API_URL`` is set (default: ``prefect/`` in newsmon's data directory).
    """

    interval: int | None = None
    cron: str | None = None
    prefect_home: Path | None = None


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a run needs, validated. Passed down explicitly; nothing else reads the env."""

    database_url: str
    feeds: tuple[FeedSpec, ...]
    alerts: AlertSettings = field(default_factory=AlertSettings)
    fetch: FetchSettings = field(default_factory=FetchSettings)
    classify: ClassifySettings = field(default_factory=ClassifySettings)
    source: str = "built-in defaults"
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)

    def __repr__(self) -> str:
        return (
            f"Settings(source={self.source!r}, database_url={_mask_db_url(self.database_url)!r}, "
            f"feeds=<{len(self.feeds)}>, alerts={self.alerts!r}, fetch={self.fetch!r})"
        )


def _mask_db_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url


def default_database_url(data_dir: Path | None = None) -> str:
    """SQLite in the user's data directory (e.g. ``~/.local/share/newsmon/newsmon.db``)."""
    base = data_dir or Path(platformdirs.user_data_dir("newsmon", appauthor=False))
    return f"sqlite:///{base / 'newsmon.db'}"


_TOP_KEYS = {"database_url", "feeds", "alerts", "fetch", "classify", "feeds_options", "schedule"}
_FETCH_KEYS = {"timeout", "max_bytes", "allow_private_networks", "max_redirects", "concurrency", "user_agent",
               "per_host", "max_items_per_feed"}
DEFAULT_INTERVAL = 900
MIN_INTERVAL = 30


def default_data_dir() -> Path:
    """newsmon's data directory (e.g. ``~/.local/share/newsmon`` on Linux)."""
    return Path(platformdirs.user_data_dir("newsmon", appauthor=False))


def _check_http_url(url: Any, path: str, key: str) -> str:
    if not isinstance(url, str):
        raise ConfigError(path, key, f"expected a URL string, got {type(url).__name__}")
    if len(url.strip()) > MAX_FEED_URL:
        raise ConfigError(path, key, f"expected a URL of at most {MAX_FEED_URL} characters, "
                                     f"got {len(url.strip())}: {url[:80]!r}…")
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018  (raises ValueError for a bad port)
    except ValueError as exc:
        raise ConfigError(path, key, f"expected a valid http(s) URL, got {url!r} ({exc})") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(path, key, f"expected an http:// or https:// URL with a host, got {url!r}")
    return url.strip()


def _parse_feeds(raw: Any, path: str) -> tuple[FeedSpec, ...]:
    if not isinstance(raw, list):
        raise ConfigError(path, "feeds", "expected an array of tables: [[feeds]] url = \"https://…\"")
    feeds: list[FeedSpec] = []
    seen: set[str] = set()
    for i, entry in enumerate(raw):
        key = f"feeds[{i}]"
        if not isinstance(entry, dict):
            raise ConfigError(path, key, "expected a table with 'url' and optional 'name'")
        unknown = sorted(set(entry) - {"url", "name"})
        if unknown:
            raise ConfigError(path, f"{key}.{unknown[0]}", "unknown key; expected 'url' or 'name'")
        if "url" not in entry:
            raise ConfigError(path, f"{key}.url", "missing; every feed needs a url")
        url = _check_http_url(entry["url"], path, f"{key}.url")
        name = entry.get("name")
        if name is not None and (not isinstance(name, str) or len(name) > MAX_FEED_NAME):
            raise ConfigError(path, f"{key}.name", f"expected a string of at most {MAX_FEED_NAME} characters")
        if url in seen:
            raise ConfigError(path, f"{key}.url", f"duplicate feed {url!r}")
        seen.add(url)
        feeds.append(FeedSpec(url=url, name=name or None))
    return tuple(feeds)


def _number(raw: Any, path: str, key: str, *, minimum: float, integer: bool) -> float:
    ok_type = isinstance(raw, int) if integer else isinstance(raw, int | float)
    if isinstance(raw, bool) or not ok_type or not math.isfinite(raw) or raw < minimum:
        kind = "an integer" if integer else "a number"
        raise ConfigError(path, key, f"expected {kind} >= {minimum} (finite), got {raw!r}")
    return raw  # type: ignore[no-any-return]


def _parse_fetch(raw: Any, path: str) -> FetchSettings:
    if not isinstance(raw, dict):
        raise ConfigError(path, "fetch", "expected a table [fetch]")
    unknown = sorted(set(raw) - _FETCH_KEYS)
    if unknown:
        raise ConfigError(path, f"fetch.{unknown[0]}", f"unknown key; expected one of {sorted(_FETCH_KEYS)}")
    out = FetchSettings()
    numeric = {  # key: (minimum, integer)
        "timeout": (0.001, False), "max_bytes": (1024, True), "max_redirects": (0, True), "concurrency": (1, True),
        "per_host": (1, True), "max_items_per_feed": (1, True),
    }
    for key, (minimum, integer) in numeric.items():
        if key in raw:
            value = _number(raw[key], path, f"fetch.{key}", minimum=minimum, integer=integer)
            if key == "timeout" and value > MAX_TIMEOUT:
                raise ConfigError(path, "fetch.timeout", f"expected at most {MAX_TIMEOUT:g} seconds, got {value!r}")
            out = replace(out, **{key: int(value) if integer else float(value)})  # type: ignore[arg-type]
    if "allow_private_networks" in raw:
        value = raw["allow_private_networks"]
        if not isinstance(value, bool):
            raise ConfigError(path, "fetch.allow_private_networks", f"expected true or false, got {value!r}")
        out = replace(out, allow_private_networks=value)
    if "user_agent" in raw:
        value = raw["user_agent"]
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(path, "fetch.user_agent", "expected a non-empty string")
        out = replace(out, user_agent=value.strip())
    return out


_CRON_FIELD = re.compile(r"^[0-9A-Za-z*/,?#-]+$")


def check_cron(expr: str) -> str | None:
    """None when ``expr`` looks like a 5-field cron expression, else what is wrong with it.

    This is the shape check done at config load; Prefect's own parser checks the values when
    ``serve`` builds the schedule (a bad value is refused there, before anything runs).
    """
    fields = expr.split()
    if len(fields) != 5 or not all(_CRON_FIELD.match(f) for f in fields):
        return f"expected a 5-field cron expression such as '*/10 * * * *', got {expr!r}"
    return None


def _parse_schedule(raw: Any, path: str, data_dir: Path | None) -> ScheduleSettings:
    if not isinstance(raw, dict):
        raise ConfigError(path, "schedule", "expected a table [schedule]")
    keys = {"interval", "cron", "prefect_home"}
    unknown = sorted(set(raw) - keys)
    if unknown:
        raise ConfigError(path, f"schedule.{unknown[0]}", f"unknown key; expected one of {sorted(keys)}")
    interval = None
    if "interval" in raw:
        interval = int(_number(raw["interval"], path, "schedule.interval", minimum=MIN_INTERVAL, integer=True))
    cron = raw.get("cron")
    if cron is not None:
        if not isinstance(cron, str):
            raise ConfigError(path, "schedule.cron", "expected a cron expression string")
        problem = check_cron(cron.strip())
        if problem:
            raise ConfigError(path, "schedule.cron", problem)
        cron = cron.strip()
    if interval is not None and cron is not None:
        raise ConfigError(path, "schedule", "expected 'interval' or 'cron', not both")
    home = raw.get("prefect_home")
    if home is not None and not isinstance(home, str):
        raise ConfigError(path, "schedule.prefect_home", "expected a directory path string")
    prefect_home = Path(home).expanduser() if home else (data_dir or default_data_dir()) / "prefect"
    if not prefect_home.is_absolute() and path:
        prefect_home = Path(path).parent / prefect_home
    return ScheduleSettings(interval=interval, cron=cron, prefect_home=prefect_home)


def _parse_classify(raw: Any, path: str) -> ClassifySettings:
    if not isinstance(raw, dict):
        raise ConfigError(path, "classify", "expected a table [classify]")
    unknown = sorted(set(raw) - {"topics_file", "reclassify_alert_days"})
    if unknown:
        raise ConfigError(path, f"classify.{unknown[0]}",
                          "unknown key; expected 'topics_file' or 'reclassify_alert_days'")
    days = raw.get("reclassify_alert_days", 2.0)
    if isinstance(days, bool) or not isinstance(days, int | float) or days < 0:
        raise ConfigError(path, "classify.reclassify_alert_days", "expected a number of days >= 0")
    topics_file = raw.get("topics_file")
    if topics_file is None:
        return ClassifySettings(reclassify_alert_days=float(days))
    if not isinstance(topics_file, str):
        raise ConfigError(path, "classify.topics_file", "expected a path string")
    resolved = Path(topics_file).expanduser()
    if not resolved.is_absolute() and path:
        resolved = Path(path).parent / resolved
    if not resolved.is_file():
        raise ConfigError(path, "classify.topics_file", f"expected an existing file, {str(resolved)!r} not found")
    return ClassifySettings(topics_file=resolved, reclassify_alert_days=float(days))


def _include_default_feeds(raw: Any, path: str) -> bool:
    """``[feeds_options] include_defaults = true``: keep the built-in feeds next to your ``[[feeds]]``."""
    if not isinstance(raw, dict):
        raise ConfigError(path, "feeds_options", "expected a table [feeds_options]")
    unknown = sorted(set(raw) - {"include_defaults"})
    if unknown:
        raise ConfigError(path, f"feeds_options.{unknown[0]}", "unknown key; expected 'include_defaults'")
    value = raw.get("include_defaults", False)
    if not isinstance(value, bool):
        raise ConfigError(path, "feeds_options.include_defaults", f"expected true or false, got {value!r}")
    return value


def _merge_feeds(defaults: tuple[FeedSpec, ...], own: tuple[FeedSpec, ...]) -> tuple[FeedSpec, ...]:
    """Built-in feeds first, then yours; a URL in both is polled once, under your name."""
    mine = {f.url for f in own}
    return tuple(f for f in defaults if f.url not in mine) + own


def builtin_feeds() -> tuple[FeedSpec, ...]:
    """The packaged default feed list."""
    text = resources.files("newsmon").joinpath("data/feeds.toml").read_text(encoding="utf-8")
    return _parse_feeds(tomllib.loads(text).get("feeds", []), BUILTIN_FEEDS_NAME)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), "", f"cannot read the config file: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), "", f"expected a UTF-8 text file (TOML), but byte {exc.start} is "
                                         f"not UTF-8: {exc.object[exc.start:exc.start + 1]!r}") from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), "", f"malformed TOML: {exc}") from exc


def find_config_path(cli_path: str | None, env: Mapping[str, str], cwd: Path) -> Path | None:
    """Pick the config file: --config, then $NEWSMON_CONFIG, then ./newsmon.toml if present."""
    if cli_path:
        return Path(cli_path)
    if env.get("NEWSMON_CONFIG"):
        return Path(env["NEWSMON_CONFIG"])
    local = cwd / "newsmon.toml"
    return local if local.is_file() else None


def settings_from_mapping(
    data: Mapping[str, Any], *, path: str, env: Mapping[str, str], data_dir: Path | None = None
) -> Settings:
    """Validate a parsed TOML mapping and apply the environment overrides."""
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise ConfigError(path, unknown[0], f"unknown key; expected one of {sorted(_TOP_KEYS)}")
    database_url = default_database_url(data_dir)
    if "database_url" in data:
        value = data["database_url"]
        if not isinstance(value, str) or "://" not in value:
            raise ConfigError(path, "database_url", "expected an SQLAlchemy URL such as sqlite:///newsmon.db")
        database_url = value
    include_defaults = _include_default_feeds(data.get("feeds_options", {}), path)
    feeds = _parse_feeds(data["feeds"], path) if "feeds" in data else builtin_feeds()
    if "feeds" in data and include_defaults:
        feeds = _merge_feeds(builtin_feeds(), feeds)
    alerts_raw = data.get("alerts", {})
    if not isinstance(alerts_raw, dict):
        raise ConfigError(path, "alerts", "expected a table [alerts]")
    alerts = parse_alerts_section(alerts_raw, path)
    fetch = _parse_fetch(data.get("fetch", {}), path)
    classify = _parse_classify(data.get("classify", {}), path)
    schedule = _parse_schedule(data.get("schedule", {}), path, data_dir)

    if env.get("NEWSMON_DATABASE_URL"):
        if "://" not in env["NEWSMON_DATABASE_URL"]:
            raise ConfigError("$NEWSMON_DATABASE_URL", "database_url", "expected an SQLAlchemy URL")
        database_url = env["NEWSMON_DATABASE_URL"]
    if env.get("NEWSMON_NOTIFY_URLS", "").strip():
        alerts = replace(alerts, notify=tuple(env["NEWSMON_NOTIFY_URLS"].split()))
        check_targets(replace(alerts, routes=()), "$NEWSMON_NOTIFY_URLS")
    check_targets(alerts, path or "built-in defaults")
    return Settings(
        database_url=database_url, feeds=feeds, alerts=alerts, fetch=fetch, classify=classify,
        source=path or "built-in defaults", schedule=schedule,
    )


def load_settings(
    cli_path: str | None = None, *, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> Settings:
    """Find, read and validate the configuration. Raises :class:`ConfigError`."""
    env = os.environ if env is None else env
    path = find_config_path(cli_path, env, cwd or Path.cwd())
    data: dict[str, Any] = {} if path is None else _read_toml(path)
    return settings_from_mapping(data, path=str(path) if path else "", env=env)

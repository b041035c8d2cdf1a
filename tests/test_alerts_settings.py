"""The [alerts] section: defaults, routes, digest modes, retry settings, errors that name the key."""

from __future__ import annotations

import pytest

from alerts.settings import AlertSettings, Route, parse_alerts_section
from newsmon.config import settings_from_mapping
from newsmon.errors import ConfigError

SECRET = "mailtos://bob:hunter2secret@smtp.example.com?to=me@example.com"


def test_defaults() -> None:
    s = parse_alerts_section({}, "c.toml")
    assert s.topics == ("chip-export", "cloud-policy") and s.notify == ()
    assert (s.burst_limit, s.max_attempts, s.feed_failure_threshold) == (50, 8, 3)
    assert s.retry_backoff[0] == 0.0  # the first retry is on the next cycle
    assert s.backoff_after(1) == 0.0 and s.backoff_after(99) == s.retry_backoff[-1]


def test_routes_topics_and_modes() -> None:
    s = parse_alerts_section({
        "notify": ["json://a/x"],
        "routes": [
            {"notify": ["json://b/x"], "topics": ["cloud-policy"], "mode": "daily"},
            {"notify": ["json://a/x"], "topics": ["investment"], "mode": "weekly", "feed_health": False},
        ],
        "digest_hour": 6, "digest_weekday": "Friday", "retry_backoff": [0, 30], "burst_limit": 5,
    }, "c.toml")
    a, b = s.targets()
    assert a.url == "json://a/x" and a.feed_health
    assert a.mode_for(["chip-export"]) == "immediate"
    assert a.mode_for(["investment"]) == "weekly"
    assert a.mode_for(["investment", "chip-export"]) == "immediate"  # one urgent topic wins
    assert b.mode_for(["cloud-policy"]) == "daily" and b.mode_for(["chip-export"]) is None
    assert not b.feed_health
    assert (s.digest_hour, s.digest_weekday, s.retry_backoff, s.burst_limit) == (6, 4, (0.0, 30.0), 5)
    assert s.alert_topics() == ("chip-export", "cloud-policy", "investment")


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"burst_limit": 0}, "alerts.burst_limit"),
        ({"max_attempts": "3"}, "alerts.max_attempts"),
        ({"retry_backoff": []}, "alerts.retry_backoff"),
        ({"retry_backoff": [0, -1]}, "alerts.retry_backoff"),
        ({"digest_hour": 24}, "alerts.digest_hour"),
        ({"digest_weekday": "someday"}, "alerts.digest_weekday"),
        ({"routes": {}}, "alerts.routes"),
        ({"routes": [{"topics": ["chip-export"]}]}, "alerts.routes[0].notify"),
        ({"routes": [{"notify": ["json://x/y"], "mode": "hourly"}]}, "alerts.routes[0].mode"),
        ({"routes": [{"notify": ["json://x/y"], "colour": "red"}]}, "alerts.routes[0].colour"),
        ({"nofity": []}, "alerts.nofity"),
    ],
)
def test_bad_values_name_the_key(raw: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_alerts_section(raw, "c.toml")
    assert info.value.key == key and info.value.path == "c.toml"


def test_unknown_topic_in_route_is_refused_when_topics_are_known() -> None:
    with pytest.raises(ConfigError, match="unknown topic"):
        parse_alerts_section({"routes": [{"notify": ["json://x/y"], "topics": ["chips"]}]}, "c.toml",
                             known_topics=("chip-export",))


def test_repr_never_shows_a_notify_url() -> None:
    s = AlertSettings(notify=(SECRET,), routes=(Route(notify=(SECRET,), topics=("chip-export",)),))
    assert "hunter2secret" not in repr(s) and "hunter2secret" not in repr(s.targets())


def test_env_notify_urls_still_override_notify(tmp_path: object) -> None:
    settings = settings_from_mapping({"alerts": {"notify": ["json://a/x"], "burst_limit": 3}}, path="c.toml",
                                     env={"NEWSMON_NOTIFY_URLS": "json://b/x json://c/x"})
    assert settings.alerts.notify == ("json://b/x", "json://c/x") and settings.alerts.burst_limit == 3

"""Configuration: precedence, validation errors naming file/key/expectation, env overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsmon.config import builtin_feeds, load_settings
from newsmon.errors import ConfigError


def write(tmp_path: Path, text: str, name: str = "newsmon.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_any_config(tmp_path: Path) -> None:
    s = load_settings(None, env={}, cwd=tmp_path)
    assert s.database_url.startswith("sqlite:///") and s.database_url.endswith("newsmon.db")
    assert len(s.feeds) >= 10 and all(f.url.startswith("https://") for f in s.feeds)
    assert s.alerts.topics == ("chip-export", "cloud-policy")
    assert s.fetch.timeout == 20 and s.fetch.max_bytes == 5_000_000 and not s.fetch.allow_private_networks


def test_precedence_cli_then_env_then_cwd(tmp_path: Path) -> None:
    cwd_file = write(tmp_path, 'database_url = "sqlite:///cwd.db"')
    env_file = write(tmp_path, 'database_url = "sqlite:///env.db"', "env.toml")
    cli_file = write(tmp_path, 'database_url = "sqlite:///cli.db"', "cli.toml")
    assert load_settings(None, env={}, cwd=tmp_path).database_url == "sqlite:///cwd.db"
    env = {"NEWSMON_CONFIG": str(env_file)}
    assert load_settings(None, env=env, cwd=tmp_path).database_url == "sqlite:///env.db"
    assert load_settings(str(cli_file), env=env, cwd=tmp_path).database_url == "sqlite:///cli.db"
    assert cwd_file.exists()


def test_env_overrides_database_and_notify(tmp_path: Path) -> None:
    path = write(tmp_path, '[alerts]\nnotify = ["json://a.example/x"]\n')
    env = {"NEWSMON_DATABASE_URL": "postgresql+psycopg://u@h/db",
           "NEWSMON_NOTIFY_URLS": "mailto://u:p@h.example  slack://T/B/C"}
    s = load_settings(str(path), env=env, cwd=tmp_path)
    assert s.database_url == "postgresql+psycopg://u@h/db"
    assert s.alerts.notify == ("mailto://u:p@h.example", "slack://T/B/C")
    assert "u:p@" not in repr(s) and "slack://T/B/C" not in repr(s)


def test_full_contract_example_is_valid(tmp_path: Path) -> None:
    path = write(tmp_path, '''
database_url = "sqlite:///newsmon.db"
[[feeds]]
url = "https://example.org/rss"
name = "Example"
[alerts]
topics = ["chip-export", "cloud-policy"]
notify = ["mailto://user:pass@example.org", "slack://T000/B000/XXXX"]
[fetch]
timeout = 20
max_bytes = 5_000_000
allow_private_networks = false
''')
    s = load_settings(str(path), env={}, cwd=tmp_path)
    assert [f.url for f in s.feeds] == ["https://example.org/rss"] and s.feeds[0].name == "Example"


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ("colour = 'red'", "colour", "unknown key"),
        ("[fetch]\ntimeout = 'fast'", "fetch.timeout", "expected a number"),
        ("[fetch]\nmax_bytes = -1", "fetch.max_bytes", "expected an integer"),
        ("[fetch]\nallow_private_networks = 'yes'", "fetch.allow_private_networks", "true or false"),
        ("[fetch]\nretries = 3", "fetch.retries", "unknown key"),
        ("[[feeds]]\nurl = 'ftp://example.org/rss'", "feeds[0].url", "http:// or https://"),
        ("[[feeds]]\nname = 'no url'", "feeds[0].url", "missing"),
        ("[[feeds]]\nurl = 'https://e.org/rss'\nlink = 'x'", "feeds[0].link", "unknown key"),
        ("feeds = 'https://e.org/rss'", "feeds", "array of tables"),
        ("[alerts]\nnotify = 'mailto://x'", "alerts.notify", "list of non-empty strings"),
        ("[alerts]\nsend = true", "alerts.send", "unknown key"),
        ("database_url = 42", "database_url", "SQLAlchemy URL"),
        ("this is = not toml [", "", "malformed TOML"),
    ],
)
def test_bad_config_names_file_key_and_expectation(tmp_path: Path, text: str, key: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_settings(str(path), env={}, cwd=tmp_path)
    message = str(info.value)
    assert str(path) in message and expected in message
    assert info.value.key == key


def test_missing_config_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(str(tmp_path / "nope.toml"), env={}, cwd=tmp_path)


def test_builtin_feeds_are_unique_https() -> None:
    feeds = builtin_feeds()
    assert len({f.url for f in feeds}) == len(feeds)
    assert all(f.name for f in feeds)

"""``[schedule]`` in the config and the ``serve`` options that override it: bad values are refused
before anything starts (exit 2, naming the key)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from newsmon.config import load_settings
from newsmon.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "newsmon.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_schedule_defaults_to_none_and_a_prefect_home_in_the_data_directory(tmp_path: Path) -> None:
    settings = load_settings(str(write(tmp_path, "")), env={})
    assert settings.schedule.interval is None and settings.schedule.cron is None
    assert settings.schedule.prefect_home is not None and settings.schedule.prefect_home.name == "prefect"
    assert settings.schedule.prefect_home.parent.name == "newsmon"


def test_schedule_section_is_read(tmp_path: Path) -> None:
    settings = load_settings(str(write(tmp_path, '[schedule]\ncron = "*/10 * * * *"\nprefect_home = "state"\n')),
                             env={})
    assert settings.schedule.cron == "*/10 * * * *" and settings.schedule.interval is None
    assert settings.schedule.prefect_home == tmp_path / "state"   # relative to the config file
    assert load_settings(str(write(tmp_path, "[schedule]\ninterval = 600\n")), env={}).schedule.interval == 600


@pytest.mark.parametrize(("body", "key", "expected"), [
    ("interval = 5", "schedule.interval", "integer >= 30"),
    ("interval = \"soon\"", "schedule.interval", "integer >= 30"),
    ("cron = \"every day\"", "schedule.cron", "5-field cron"),
    ("cron = 5", "schedule.cron", "cron expression string"),
    ("interval = 60\ncron = \"* * * * *\"", "schedule", "not both"),
    ("every = 60", "schedule.every", "unknown key"),
])
def test_bad_schedule_is_refused_with_the_key(tmp_path: Path, body: str, key: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(str(write(tmp_path, f"[schedule]\n{body}\n")), env={})
    assert info.value.key == key and expected in str(info.value)


@pytest.mark.parametrize(("args", "message"), [
    (["--cron", "61 * * * *"], "invalid cron expression"),
    (["--cron", "* * *"], "5-field cron"),
    (["--interval", "10"], "10 is not in the range x>=30"),
    (["--interval", "60", "--cron", "* * * * *"], "not both"),
])
def test_serve_refuses_a_bad_schedule_before_starting(tmp_path: Path, args: list[str], message: str) -> None:
    config = write(tmp_path, f'database_url = "sqlite:///{tmp_path / "n.db"}"\n')
    done = subprocess.run([sys.executable, "-m", "newsmon", "--config", str(config), "serve", *args],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert not (tmp_path / "n.db").exists()   # nothing started, nothing created

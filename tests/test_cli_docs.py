"""Every command explains itself (--help with an example) and is documented in the README."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from newsmon.cli import cli
from tests.conftest import REPO

COMMANDS = sorted(cli.commands)
CONTRACT_COMMANDS = {"run", "serve", "backfill", "extract", "classify", "articles", "alerts", "topics",
                     "notify-test", "search", "export", "report", "feeds", "runs"}


def test_contract_commands_exist() -> None:
    assert set(COMMANDS) >= CONTRACT_COMMANDS


@pytest.mark.parametrize("command", COMMANDS)
def test_command_help_has_an_example(command: str) -> None:
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.output and f"newsmon {command}" in result.output


@pytest.mark.parametrize("command", COMMANDS)
def test_command_documented_in_readme(command: str) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert re.search(rf"`newsmon {re.escape(command)}\b", readme), f"README does not document {command}"


def test_top_level_help_and_version() -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["--help"])
    assert result.exit_code == 0 and "Examples:" in result.output
    assert runner.invoke(cli, ["--version"]).output.startswith("newsmon, version")


def test_help_never_shows_notify_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSMON_NOTIFY_URLS", "mailtos://bob:s3cretpw@smtp.example.com slack://T1/B2/tok3n")
    for command in [None, *COMMANDS]:
        args = [command, "--help"] if command else ["--help"]
        output = CliRunner().invoke(cli, args).output
        assert "s3cretpw" not in output and "tok3n" not in output


def test_topics_lists_every_topic_and_marks_alerting_ones(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["topics"], env={"NEWSMON_CONFIG": ""})
    assert result.exit_code == 0, result.output
    for topic in ("chip-export", "cloud-policy", "cloud-competition", "foundation-models", "investment",
                  "regulation", "talent"):
        assert topic in result.output
    assert "chip-export  (alerts)" in result.output and "talent  (alerts)" not in result.output


def test_notify_test_without_targets_says_how_to_configure(tmp_path: Path) -> None:
    config = tmp_path / "n.toml"
    config.write_text(f'database_url = "sqlite:///{tmp_path / "n.db"}"\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(config), "notify-test"])
    assert result.exit_code == 1 and "no alert targets configured" in result.output


def test_backfill_names_the_first_bad_line_and_fetches_nothing(tmp_path: Path) -> None:
    listing = "# my archive\nhttps://example.com/a\n\nnot a url\nftp://example.com/b\n"
    env = {"NEWSMON_DATABASE_URL": f"sqlite:///{tmp_path / 'b.db'}", "NEWSMON_CONFIG": ""}
    result = CliRunner().invoke(cli, ["backfill", "-"], input=listing, env=env)
    assert result.exit_code == 2
    assert "line 4: 'not a url' is not an http(s) URL (2 such lines); nothing was fetched" in result.output
    assert not (tmp_path / "b.db").exists()

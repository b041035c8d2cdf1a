"""The look-and-manage commands (search, export, report, feeds, runs) on a stored world, both databases."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from alerts.pipeline import enqueue_alerts
from newsmon.cli import cli
from storage.db import open_database
from storage.schema import Article
from tests.alerts_support import NOW, STORIES, add_article, make_settings, reword

NOTIFY = "json://127.0.0.1:9/hook"


@dataclass
class World:
    config: Path
    db_url: str
    tmp: Path

    def run(self, *args: str) -> Result:
        return CliRunner().invoke(cli, ["--config", str(self.config), *args], catch_exceptions=False)

    def jsonl(self, *args: str) -> list[dict[str, object]]:
        result = self.run(*args)
        assert result.exit_code == 0, result.output
        return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


@pytest.fixture
def world(db_url: str, tmp_path: Path) -> Iterator[World]:
    """Three stories (one carried by a second outlet), one off-topic page, alerts queued for one target."""
    db = open_database(db_url)
    add_article(db, url="https://wire.example/entity", title=STORIES["entity"][0], text=STORIES["entity"][1],
                topics=("chip-export",), source="Example Wire")
    add_article(db, url="https://copy.example/entity", title=STORIES["entity"][0], text=reword(STORIES["entity"][1]),
                topics=("chip-export",), source="Copy Daily")
    add_article(db, url="https://wire.example/cloud", title=STORIES["cloud"][0], text=STORIES["cloud"][1],
                topics=("cloud-policy",), source="Example Wire",
                evidence={"cloud-policy": ("know-your-customer", "cloud providers")})
    add_article(db, url="https://snack.example/chips", title="Potato chips <b>exporter</b> grows",
                text="A snack maker exporting potato chips & crisps opened a plant.", topics=(),
                source="Snack <News>")
    settings = make_settings(db_url, notify=[NOTIFY])
    with db.session() as s:
        ids = list(s.scalars(select(Article.id).order_by(Article.id)))
        enqueue_alerts(s, ids, settings, now=NOW)
    db.dispose()
    config = tmp_path / "newsmon.toml"
    config.write_text(f'database_url = "{db_url}"\n[alerts]\nnotify = ["{NOTIFY}"]\n'
                      'topics = ["chip-export", "cloud-policy"]\n', encoding="utf-8")
    yield World(config, db_url, tmp_path)


def test_search_jsonl_best_first_with_snippets(world: World) -> None:
    rows = world.jsonl("search", '"entity list" OR supercomput*', "--jsonl")
    assert [r["url"] for r in rows][:1] in (["https://wire.example/entity"], ["https://copy.example/entity"])
    assert {r["url"] for r in rows} == {"https://wire.example/entity", "https://copy.example/entity"}
    assert list(rows[0]) == ["url", "title", "source", "published", "topics", "snippet", "score"]
    assert rows[0]["topics"] == ["chip-export"] and "**" in str(rows[0]["snippet"])
    assert rows[0]["score"] >= rows[1]["score"]  # type: ignore[operator]
    assert [r["url"] for r in world.jsonl("search", "chips -potato", "--jsonl")] == []
    assert [r["url"] for r in world.jsonl("search", "cloud", "--topic", "cloud-policy", "--jsonl")] == [
        "https://wire.example/cloud"]
    assert world.jsonl("search", "cloud", "--since", "2030-01-01", "--jsonl") == []


def test_search_text_output_names_topics_and_story(world: World) -> None:
    result = world.run("search", "entity list")
    assert result.exit_code == 0, result.output
    assert "[chip-export]" in result.output and "story #" in result.output
    assert "https://copy.example/entity" in result.output


@pytest.mark.parametrize("args", [
    ("search", "chips", "--topic", "nosuch"),
    ("articles", "--jsonl", "--topic", "nosuch"),
])
def test_unknown_topic_is_a_usage_error(world: World, args: tuple[str, ...]) -> None:
    result = world.run(*args)
    assert result.exit_code == 2
    assert "unknown topic 'nosuch'" in result.output and "chip-export" in result.output


def test_bad_search_query_is_a_usage_error(world: World) -> None:
    result = world.run("search", "NOT chips")
    assert result.exit_code == 2 and "NOT needs something" in result.output

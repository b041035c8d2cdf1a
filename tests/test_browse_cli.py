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


# -- feeds ----------------------------------------------------------------------------------------

OPML = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0"><head><title>my reader</title></head><body>
  <outline text="Chips"><outline type="rss" text="Chip Wire" xmlUrl="https://chipwire.example/rss"/>
    <outline type="rss" title="Fab News" text="fab" xmlUrl="https://fab.example/feed.xml"/></outline>
  <outline type="rss" text="dup" xmlUrl="https://chipwire.example/rss"/>
</body></opml>"""


def test_feeds_lists_health_from_the_polls(world: World) -> None:
    from newsmon.models import FeedSpec
    from storage import repo

    world.config.write_text(world.config.read_text(encoding="utf-8") + (
        '[[feeds]]\nurl = "https://good.example/rss"\nname = "Good"\n'
        '[[feeds]]\nurl = "https://bad.example/rss"\n[[feeds]]\nurl = "https://new.example/rss"\n'),
        encoding="utf-8")
    db = open_database(world.db_url)
    with db.session() as s:
        good, bad = repo.ensure_feeds(s, [FeedSpec("https://good.example/rss", "Good"),
                                          FeedSpec("https://bad.example/rss")])
        repo.record_feed_poll(s, good.id, now=NOW, ok=True, status=200)
        repo.record_feed_poll(s, bad.id, now=NOW, ok=True, status=200)
        for hours in (3, 2, 1):
            at = NOW.replace(hour=NOW.hour + hours)
            repo.record_feed_poll(s, bad.id, now=at, ok=False, error="HTTP 503")
            repo.record_failure(s, run_id="r", stage="feed", url="https://bad.example/rss", reason="HTTP 503", now=at)
        s.execute(Article.__table__.update().where(Article.url == "https://wire.example/cloud")
                  .values(feed_id=good.id))
    db.dispose()
    rows = {r["url"]: r for r in world.jsonl("feeds", "--jsonl")}
    assert list(rows) == ["https://good.example/rss", "https://bad.example/rss", "https://new.example/rss"]
    assert rows["https://good.example/rss"] | {"last_polled": None, "last_success": None} == {
        "url": "https://good.example/rss", "name": "Good", "state": "ok", "last_polled": None,
        "last_success": None, "consecutive_failures": 0, "last_error": None, "failing_since": None,
        "items_seen": 1}
    bad_row = rows["https://bad.example/rss"]
    assert (bad_row["state"], bad_row["consecutive_failures"], bad_row["last_error"]) == ("failing", 3, "HTTP 503")
    assert bad_row["failing_since"] == NOW.replace(hour=NOW.hour + 1).isoformat()
    assert rows["https://new.example/rss"]["state"] == "new"
    text = world.run("feeds").output
    assert "FAILING https://bad.example/rss" in text and "3 failure(s) in a row" in text and "HTTP 503" in text


def test_feeds_import_appends_to_the_config_and_keeps_builtins(world: World) -> None:
    from newsmon.config import builtin_feeds, load_settings

    before = world.config.read_text(encoding="utf-8")
    opml = world.tmp / "subs.opml"
    opml.write_bytes(OPML)
    result = world.run("feeds", "import", str(opml))
    assert result.exit_code == 0, result.output
    assert "added 2 feed(s)" in result.output and "built-in feeds stay" in result.output
    after = world.config.read_text(encoding="utf-8")
    assert after.startswith(before)  # appended, nothing rewritten
    settings = load_settings(str(world.config), env={})
    urls = [f.url for f in settings.feeds]
    assert urls[-2:] == ["https://chipwire.example/rss", "https://fab.example/feed.xml"]
    assert len(urls) == len(builtin_feeds()) + 2
    assert settings.feeds[-1].name == "Fab News"
    again = world.run("feeds", "import", str(opml))
    assert "added 0 feed(s)" in again.output and "2 already listed" in again.output
    assert world.config.read_text(encoding="utf-8") == after


@pytest.mark.parametrize("body, says", [
    (b"<html><body>nope</body></html>", "not an OPML"),
    (b"<opml><body><outline", "not well-formed"),
    (b'<opml><body><outline xmlUrl="file:///etc/passwd"/></body></opml>', "is not an http(s) URL"),
    (b"<opml><body></body></opml>", "lists no feed"),
])
def test_feeds_import_refuses_bad_opml_and_changes_nothing(world: World, body: bytes, says: str) -> None:
    before = world.config.read_text(encoding="utf-8")
    opml = world.tmp / "bad.opml"
    opml.write_bytes(body)
    result = world.run("feeds", "import", str(opml))
    assert result.exit_code == 2 and says in result.output
    assert world.config.read_text(encoding="utf-8") == before


def test_feeds_export_round_trips(world: World) -> None:
    from extractors.opml import parse_opml
    from newsmon.config import load_settings

    result = world.run("feeds", "export")
    assert result.exit_code == 0 and result.output.startswith("<?xml")
    assert 'version="2.0"' in result.output
    assert parse_opml(result.output.encode(), "export") == list(load_settings(str(world.config), env={}).feeds)


def test_include_defaults_keeps_builtin_feeds(tmp_path: Path) -> None:
    from newsmon.config import builtin_feeds, load_settings
    from newsmon.errors import ConfigError

    cfg = tmp_path / "c.toml"
    own = builtin_feeds()[0].url
    cfg.write_text(f'[feeds_options]\ninclude_defaults = true\n[[feeds]]\nurl = "https://mine.example/rss"\n'
                   f'[[feeds]]\nurl = "{own}"\nname = "Mine"\n', encoding="utf-8")
    feeds = load_settings(str(cfg), env={}).feeds
    assert len(feeds) == len(builtin_feeds()) + 1 and [f.name for f in feeds if f.url == own] == ["Mine"]
    cfg.write_text('[[feeds]]\nurl = "https://mine.example/rss"\n', encoding="utf-8")
    assert len(load_settings(str(cfg), env={}).feeds) == 1  # default: your feeds replace the built-ins
    cfg.write_text('[feeds_options]\ninclude_defaults = "yes"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"feeds_options\.include_defaults"):
        load_settings(str(cfg), env={})


# -- export ---------------------------------------------------------------------------------------


def test_export_atom_of_alerts_parses_back_with_feedparser(world: World) -> None:
    import feedparser

    out = world.tmp / "alerts.xml"
    result = world.run("export", "--format", "atom", "--out", str(out))
    assert result.exit_code == 0, result.output
    parsed = feedparser.parse(out.read_bytes())
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10" and parsed.feed.title == "newsmon alerts"
    entries = parsed.entries
    # two alerted stories (the copy joined the first); the off-topic page alerts nobody
    assert sorted(e.link for e in entries) == ["https://wire.example/cloud", "https://wire.example/entity"]
    entity = next(e for e in entries if e.link == "https://wire.example/entity")
    assert entity.id == "https://wire.example/entity" and entity.title.startswith("[chip-export] US adds 14")
    assert entity.author == "Example Wire" and [t.term for t in entity.tags] == ["chip-export"]
    body = entity.content[0].value
    assert "Why it matched" in body and "Entity List" in body
    assert "Also reported by" in body and "https://copy.example/entity" in body and "Copy Daily" in body
    cloud = next(e for e in entries if e.link == "https://wire.example/cloud")
    assert "know-your-customer" in cloud.content[0].value and "Also reported by" not in cloud.content[0].value
    # --topic narrows; stdout works too
    only = feedparser.parse(world.run("export", "--format", "atom", "--topic", "cloud-policy").stdout.encode())
    assert [e.link for e in only.entries] == ["https://wire.example/cloud"]


def test_export_csv_opens_as_a_spreadsheet(world: World) -> None:
    import csv
    import io

    out = world.tmp / "articles.csv"
    assert world.run("export", "--what", "articles", "--format", "csv", "--out", str(out)).exit_code == 0
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: spreadsheets read it as UTF-8
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert list(rows[0]) == ["url", "title", "source", "published", "fetched_at", "topics", "story_id", "text"]
    by_url = {r["url"]: r for r in rows}
    assert len(rows) == 4 and by_url["https://snack.example/chips"]["source"] == "Snack <News>"
    assert by_url["https://wire.example/entity"]["topics"] == "chip-export"
    assert "\n" in by_url["https://wire.example/entity"]["text"]  # multi-line cells survive quoting
    assert by_url["https://wire.example/entity"]["story_id"] == by_url["https://copy.example/entity"]["story_id"]
    stdout = world.run("export", "--what", "alerts", "--format", "csv").stdout
    alerts = list(csv.DictReader(io.StringIO(stdout)))
    assert [a["url"] for a in alerts] == ["https://wire.example/cloud", "https://wire.example/entity"]  # newest first
    entity = next(a for a in alerts if a["url"] == "https://wire.example/entity")
    assert entity["also_reported_by"] == "Copy Daily <https://copy.example/entity>"
    assert entity["evidence"].startswith("chip-export: Entity List") and entity["deliveries"] == "pending=1"


def test_export_jsonl_stories_and_filters(world: World) -> None:
    stories = world.jsonl("export", "--what", "stories", "--format", "jsonl")
    assert len(stories) == 3
    entity = next(s for s in stories if s["url"] == "https://wire.example/entity")
    assert [x["source"] for x in entity["sources"]] == ["Example Wire", "Copy Daily"]  # type: ignore[union-attr]
    assert {s["alert_state"] for s in stories} == {"queued", "none"}
    articles = world.jsonl("export", "--what", "articles", "--topic", "cloud-policy")
    assert [a["url"] for a in articles] == ["https://wire.example/cloud"]
    assert world.jsonl("export", "--what", "articles", "--since", "2030-01-01") == []
    assert world.run("export", "--what", "articles", "--format", "atom").exit_code == 2
    assert world.run("export", "--topic", "nosuch").exit_code == 2


def test_csv_cells_that_look_like_formulas_are_defused(world: World) -> None:
    db = open_database(world.db_url)
    add_article(db, url="https://evil.example/x", title='=HYPERLINK("http://evil.example","click")',
                text="Body.", topics=())
    db.dispose()
    stdout = world.run("export", "--what", "articles", "--format", "csv").stdout
    assert "'=HYPERLINK" in stdout and ",=HYPERLINK" not in stdout


# -- a precise CLI ----------------------------------------------------------------------------------


@pytest.mark.parametrize("notify, key, says", [
    ('["notaservice://foo"]', "alerts.notify[0]", "not a notification service"),
    ('["json://127.0.0.1:9/ok", "mailto://127.0.0.1:25?to=a@example.com"]', "alerts.notify[1]", "needs a sender"),
    ('["slack://"]', "alerts.notify[0]", "slack://"),
    ('["no-scheme-s3cretpw"]', "alerts.notify[0]", "no '://'"),
])
def test_bad_alert_targets_are_refused_when_the_config_loads(tmp_path: Path, notify: str, key: str,
                                                             says: str) -> None:
    cfg = tmp_path / "newsmon.toml"
    cfg.write_text(f"[alerts]\nnotify = {notify}\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(cfg), "topics"])
    assert result.exit_code == 2, result.output
    assert str(cfg) in result.output and key in result.output and says in result.output
    assert "s3cretpw" not in result.output


def test_bad_target_in_routes_and_environment_named(tmp_path: Path) -> None:
    cfg = tmp_path / "newsmon.toml"
    cfg.write_text('[[alerts.routes]]\nnotify = ["mailtos://smtp.example.com?to=a@example.com&pass=s3cretpw"]\n'
                   'topics = ["talent"]\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(cfg), "topics"])
    assert result.exit_code == 2 and "alerts.routes[0].notify[0]" in result.output and "s3cretpw" not in result.output
    env = {"NEWSMON_NOTIFY_URLS": "json://127.0.0.1:9/x notaservice://tok3n"}
    result = CliRunner().invoke(cli, ["topics"], env=env)
    assert result.exit_code == 2 and "$NEWSMON_NOTIFY_URLS" in result.output and "alerts.notify[1]" in result.output
    assert "tok3n" not in result.output
    ok = CliRunner().invoke(cli, ["topics"], env={"NEWSMON_NOTIFY_URLS":
                                                  "mailto://127.0.0.1:25?to=a@example.com&from=n@example.com"})
    assert ok.exit_code == 0, ok.output


def test_failures_say_whether_they_were_resolved(world: World) -> None:
    from datetime import timedelta

    from newsmon.models import FeedSpec
    from storage import outbox, repo

    before, after = NOW - timedelta(hours=1), NOW + timedelta(hours=1)
    db = open_database(world.db_url)
    with db.session() as s:
        (feed,) = repo.ensure_feeds(s, [FeedSpec("https://feed.example/rss")])
        repo.record_failure(s, run_id="r1", stage="feed", url="https://feed.example/rss", reason="HTTP 503", now=before)
        repo.record_feed_poll(s, feed.id, now=NOW, ok=True, status=200)
        repo.record_failure(s, run_id="r1", stage="fetch", url="https://wire.example/entity", reason="timeout",
                            now=before)
        repo.record_failure(s, run_id="r1", stage="fetch", url="https://gone.example/x", reason="HTTP 404", now=before)
        target = s.scalar(select(outbox.Delivery.target_masked).limit(1))
        repo.record_failure(s, run_id="r1", stage="deliver", url=str(target), reason="connection refused",
                            now=before)
        s.execute(outbox.Delivery.__table__.update().where(outbox.Delivery.target_masked == target)
                  .values(status="sent", sent_at=after))
    db.dispose()
    rows = {(r["stage"], r["url"]): r for r in world.jsonl("failures", "--jsonl")}
    assert rows[("feed", "https://feed.example/rss")]["resolved_at"] == NOW.isoformat()
    assert rows[("fetch", "https://wire.example/entity")]["resolved"] is True
    assert rows[("fetch", "https://gone.example/x")] | {"at": None} == {
        "at": None, "stage": "fetch", "url": "https://gone.example/x", "reason": "HTTP 404", "run_id": "r1",
        "resolved": False, "resolved_at": None}
    assert rows[("deliver", str(target))]["resolved_at"] == after.isoformat()
    text = world.run("failures").output
    assert "UNRESOLVED" in text and "resolved 2026-11-23 10:00" in text


def test_classify_without_jsonl_prints_a_table() -> None:
    lines = ('{"id": 1, "title": "US adds SMIC units to Entity List", "text": "The Commerce Department added SMIC '
             'to the Entity List, restricting exports of chips and chipmaking tools to China."}\n'
             '{"id": "b2", "title": "Potato chips maker grows", "text": "Snacks sell well."}\n')
    result = CliRunner().invoke(cli, ["classify"], input=lines, env={"NEWSMON_CONFIG": ""})
    assert result.exit_code == 0, result.output
    header, rule, first, second = result.stdout.splitlines()
    assert header.split() == ["id", "alert", "topics", "title"] and set(rule.replace(" ", "")) == {"-"}
    assert first.startswith("1 ") and " yes " in first and "chip-export 0." in first and first.endswith("Entity List")
    assert second.startswith("b2") and " no " in second and " - " in second
    jsonl = CliRunner().invoke(cli, ["classify", "--jsonl"], input=lines, env={"NEWSMON_CONFIG": ""})
    assert [json.loads(x)["alert"] for x in jsonl.stdout.splitlines()] == [True, False]


def test_digests_follow_the_configured_time_zone() -> None:
    from datetime import UTC, datetime

    from alerts.pipeline import next_digest_time
    from alerts.settings import parse_alerts_section
    from newsmon.errors import ConfigError

    berlin = parse_alerts_section({"digest_hour": 7, "digest_timezone": "Europe/Berlin",
                                   "digest_weekday": "monday"}, "c.toml")
    # 06:30 UTC on a winter Wednesday is 07:30 in Berlin: today's 07:00 has passed -> tomorrow 06:00 UTC
    assert next_digest_time("daily", datetime(2026, 12, 2, 6, 30, tzinfo=UTC), berlin) == datetime(
        2026, 12, 3, 6, 0, tzinfo=UTC)
    # summer time: 07:00 in Berlin is 05:00 UTC
    assert next_digest_time("daily", datetime(2026, 7, 1, 4, 0, tzinfo=UTC), berlin) == datetime(
        2026, 7, 1, 5, 0, tzinfo=UTC)
    # weekly on Monday, Berlin wall clock, across the October change
    assert next_digest_time("weekly", datetime(2026, 10, 22, 12, 0, tzinfo=UTC), berlin) == datetime(
        2026, 10, 26, 6, 0, tzinfo=UTC)
    utc = parse_alerts_section({"digest_hour": 7}, "c.toml")
    assert next_digest_time("daily", datetime(2026, 12, 2, 6, 30, tzinfo=UTC), utc) == datetime(
        2026, 12, 2, 7, 0, tzinfo=UTC)
    with pytest.raises(ConfigError, match=r"alerts\.digest_timezone"):
        parse_alerts_section({"digest_timezone": "Mars/Olympus"}, "c.toml")


# -- report ---------------------------------------------------------------------------------------


def _report(world: World, *args: str) -> str:
    out = world.tmp / "report.html"
    result = world.run("report", "--out", str(out), *args)
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


def _days_since_world() -> str:
    """A --days that reaches back to the world's NOW (whatever today is)."""
    from newsmon.pipeline import utcnow

    return str(max(1, (utcnow().date() - NOW.date()).days + 2))


def _tags(page: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    from html.parser import HTMLParser

    found: list[tuple[str, list[tuple[str, str | None]]]] = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.append((tag, attrs))

    Collect().feed(page)
    return found


def test_report_is_self_contained_and_escapes_what_feeds_sent(world: World) -> None:
    import re
    from datetime import timedelta

    db = open_database(world.db_url)
    from newsmon.pipeline import utcnow

    today = utcnow()
    for i, topics in enumerate([("chip-export",), ("chip-export", "investment"), ()]):
        add_article(db, url=f"https://recent.example/{i}", title=f"Recent <script>alert({i})</script>",
                    text="Body text about chips.", topics=topics, source='Evil "Source" <img src=x onerror=1>',
                    now=today - timedelta(days=i))
    db.dispose()
    page = _report(world, "--days", "7")
    # nothing is loaded or run: no script, stylesheet, image or frame element, no src or on* attribute
    tags = _tags(page)
    assert not {t for t, _ in tags} & {"script", "link", "img", "iframe", "object", "embed", "video", "audio"}
    attrs = [(name, value or "") for _, a in tags for name, value in a]
    assert not [a for a in attrs if a[0] == "src" or a[0].startswith("on")]
    assert all(v.startswith(("http://", "https://")) for n, v in attrs if n == "href")
    assert "Evil &quot;Source&quot; &lt;img src=x onerror=1&gt;" in page  # top sources, escaped
    assert "default-src 'none'" in page
    bars = re.findall(r'<rect class="bar" data-day="([\d-]+)" data-topic="([^"]+)" data-count="(\d+)"', page)
    counts = {(day, topic): int(n) for day, topic, n in bars}
    day0 = today.date().isoformat()
    assert counts[(day0, "chip-export")] == 1
    assert counts[((today - timedelta(days=1)).date().isoformat(), "investment")] == 1
    assert counts[((today - timedelta(days=2)).date().isoformat(), "(no topic)")] == 1
    # the world's stories are dated NOW (2026-11-23): outside a 7-day window unless it is that week
    page30 = _report(world, "--days", _days_since_world())
    assert "Also reported by" in page30 and "Copy Daily" in page30 and "Entity List" in page30
    assert "Potato chips &lt;b&gt;exporter&lt;/b&gt; grows" not in page30  # off-topic: never alerted
    assert "Recent &lt;script&gt;" not in page30  # stored without a story: counted, never listed as an alert


@pytest.mark.skipif(__import__("tests.browser", fromlist=["CHROMIUM"]).CHROMIUM is None,
                    reason="chromium is not installed: scripts/test installs it when run as root "
                           "(apt-get install -y chromium chromium-driver)")
def test_report_renders_in_headless_chromium_without_console_errors(world: World) -> None:
    from tests.browser import HeadlessChromium

    if "postgresql" in world.db_url:
        pytest.skip("the page does not depend on the database; one browser run is enough")
    page = world.tmp / "report.html"
    _report(world, "--days", _days_since_world())
    with HeadlessChromium() as browser:
        browser.open(page.as_uri())
        assert browser.evaluate("document.title").startswith("newsmon report")
        bars = browser.evaluate("""Array.from(document.querySelectorAll('#chart-topics rect.bar'))
            .map(r => { const b = r.getBoundingClientRect(); return [b.width, b.height]; })""")
        assert bars and all(w > 0 and h > 0 for w, h in bars), bars  # the chart is drawn, every bar visible
        chart = browser.evaluate("JSON.stringify(document.querySelector('#chart-topics').getBoundingClientRect())")
        assert json.loads(chart)["width"] > 500
        sections = browser.evaluate("Array.from(document.querySelectorAll('h2')).map(h => h.textContent)")
        assert sections == ["Articles per topic per day", "Top sources", "Latest alerts", "Feed health"]
        assert browser.evaluate("document.querySelectorAll('.alert').length") == 2
        assert browser.problems() == []
        shot = world.tmp / "report.png"
        browser.screenshot(shot)
        assert shot.read_bytes().startswith(b"\x89PNG")


@pytest.mark.skipif(__import__("tests.browser", fromlist=["CHROMIUM"]).CHROMIUM is None,
                    reason="chromium is not installed")
def test_the_browser_check_sees_console_errors_and_blocked_loads(tmp_path: Path) -> None:
    from tests.browser import HeadlessChromium

    noisy = tmp_path / "noisy.html"
    noisy.write_text('<!DOCTYPE html><title>x</title><script>console.error("boom"); undefinedFn();</script>')
    blocked = tmp_path / "blocked.html"
    blocked.write_text("<!DOCTYPE html><meta http-equiv='Content-Security-Policy' content=\"default-src 'none'\">"
                       '<title>y</title><img src="https://example.com/x.png">')
    with HeadlessChromium() as browser:
        browser.open(noisy.as_uri())
        problems = " ".join(browser.problems())
        assert "boom" in problems and "undefinedFn" in problems
    with HeadlessChromium() as browser:
        browser.open(blocked.as_uri())
        assert any("Content Security Policy" in p for p in browser.problems()), browser.problems()

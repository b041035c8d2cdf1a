"""The real ``newsmon`` CLI, end to end, against loopback feeds, pages, SMTP and a json:// sink.

Each CLI call is a subprocess that talks to the session's Prefect test server (PREFECT_API_URL),
so no test pays Prefect's cold start.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e_site import (
    STORY_ASML,
    STORY_CLOUD,
    STORY_ENTITY,
    STORY_ENTITY_COPY,
    STORY_MODEL,
    STORY_SNACK,
    atom,
    rss,
    serve_story,
)
from tests.support import LoopbackHTTP, SMTPSink

pytestmark = pytest.mark.e2e

CHROME = ["archive page", "opens in a new window", "Related Articles", "sourdough", "Sign up for our",
          "error signing you up", "Accept all cookies", "All rights reserved", "Post comment", "Podcasts"]


class CLI:
    """Runs ``python -m newsmon`` with a config file and the session's Prefect server."""

    def __init__(self, tmp: Path, prefect_api_url: str) -> None:
        self.tmp = tmp
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSMON_", "PREFECT_"))}
        self.env.update(PREFECT_API_URL=prefect_api_url, PREFECT_HOME=str(tmp / "prefect-home"),
                        PREFECT_SERVER_ANALYTICS_ENABLED="false", HOME=str(tmp / "home"),
                        XDG_DATA_HOME=str(tmp / "xdg-data"))

    def __call__(self, *args: str, stdin: str | None = None, config: Path | None = None,
                 timeout: float = 240) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "newsmon"]
        if config is not None:
            cmd += ["--config", str(config)]
        return subprocess.run([*cmd, *args], input=stdin, capture_output=True, text=True,
                              env=self.env, cwd=self.tmp, timeout=timeout, check=False)

    def jsonl(self, *args: str, config: Path) -> list[dict[str, Any]]:
        done = self(*args, config=config)
        assert done.returncode == 0, done.stderr
        return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


@pytest.fixture
def cli(tmp_path: Path, prefect_api_url: str) -> Iterator[CLI]:
    yield CLI(tmp_path, prefect_api_url)


def build_world(http: LoopbackHTTP) -> dict[str, str]:
    """Feeds: an RSS desk (with ETag), an Atom wire carrying a syndicated copy, a broken and a fake feed."""
    base = http.base
    for site, story in [("Example Policy Desk", STORY_ENTITY), ("Example Policy Desk", STORY_CLOUD),
                        ("Example Policy Desk", STORY_SNACK), ("Wire Service", STORY_ENTITY_COPY),
                        ("Example Tech", STORY_MODEL)]:
        serve_story(http, site, story)
    http.add("/news/report.pdf", b"%PDF-1.7\n%binary", content_type="application/pdf")
    http.add("/news/huge.html", "<html><body>" + "<p>padding text</p>" * 30_000 + "</body></html>")
    policy_items = [(s.title, s.path, s.published) for s in (STORY_ENTITY, STORY_CLOUD, STORY_SNACK)]
    policy_items += [("A page that is gone", "/news/missing.html", STORY_SNACK.published),
                     ("Annual report (PDF)", "/news/report.pdf", STORY_SNACK.published),
                     ("An enormous page", "/news/huge.html", STORY_SNACK.published)]
    http.add("/feeds/policy.rss", rss("Example Policy Desk", base, policy_items),
             content_type="application/rss+xml", etag='"policy-v1"')
    wire_items = [(s.title, s.path, s.published) for s in (STORY_ENTITY_COPY, STORY_MODEL)]
    http.add("/feeds/wire.atom", atom("Wire Service", base, wire_items), content_type="application/atom+xml")
    http.add("/feeds/broken.xml", "internal error", status=500, content_type="text/plain")
    http.add("/feeds/not-a-feed", "<html><body><h1>Home</h1></body></html>")
    return {"policy": http.url("/feeds/policy.rss"), "wire": http.url("/feeds/wire.atom"),
            "broken": http.url("/feeds/broken.xml"), "fake": http.url("/feeds/not-a-feed")}


def write_config(tmp: Path, feeds: dict[str, str], smtp: SMTPSink, http: LoopbackHTTP,
                 database_url: str | None = None) -> Path:
    mail = f"mailto://127.0.0.1:{smtp.port}?mode=insecure&from=newsmon@example.com&to=analyst@example.com"
    hook = f"json://127.0.0.1:{http.port}/notify"
    db = database_url or f"sqlite:///{tmp / 'newsmon.db'}"
    feed_tables = "\n".join(f'[[feeds]]\nurl = "{url}"\nname = "{name}"\n' for name, url in feeds.items())
    path = tmp / "newsmon.toml"
    path.write_text(f'''database_url = "{db}"
{feed_tables}
[alerts]
notify = ["{mail}", "{hook}"]

[fetch]
timeout = 5
max_bytes = 200_000
allow_private_networks = true
''', encoding="utf-8")
    return path


def test_cycle_end_to_end(cli: CLI, http: LoopbackHTTP, smtp: SMTPSink, tmp_path: Path) -> None:
    feeds = build_world(http)
    config = write_config(tmp_path, feeds, smtp, http)

    # -- first cycle: everything new --------------------------------------------------------------
    first = cli("run", config=config)
    assert first.returncode == 0, first.stderr
    out = first.stdout
    assert "broken" in out and "HTTP 500" in out            # each failed feed named, with why
    assert "fake" in out and "not an RSS or Atom feed" in out
    assert "/news/missing.html" in out and "HTTP 404" in out  # each failed page named, with why
    assert "/news/report.pdf" in out and "/news/huge.html" in out and "max_bytes=200000" in out

    stored = cli.jsonl("articles", "--jsonl", config=config)
    urls = [a["url"] for a in stored]
    assert len(urls) == len(set(urls)) == 5
    by_path = {a["url"].removeprefix(http.base): a for a in stored}
    assert set(by_path) == {STORY_ENTITY.path, STORY_ENTITY_COPY.path, STORY_CLOUD.path,
                            STORY_SNACK.path, STORY_MODEL.path}   # tracking params and #top gone
    entity = by_path[STORY_ENTITY.path]
    assert entity["title"] == STORY_ENTITY.title
    assert entity["published"].startswith("2026-11-20T14:05")
    assert "chip-export" in entity["topics"]
    assert "cloud-policy" in by_path[STORY_CLOUD.path]["topics"]
    assert by_path[STORY_SNACK.path]["topics"] == []
    for article in stored:
        for phrase in CHROME:
            assert phrase not in article["text"], (article["url"], phrase)
    assert STORY_ENTITY.paragraphs[2] in entity["text"]

    # one alert per story (the wire copy folds into the Entity List story), per target
    assert len(smtp.messages) == 2
    subjects = sorted(smtp.subjects())
    assert any("chip-export" in s and STORY_ENTITY.title[:40] in s for s in subjects), subjects
    assert any("cloud-policy" in s for s in subjects), subjects
    assert len(http.json_posts("/notify")) == 2

    # -- second cycle: nothing new, nothing sent; the RSS feed answers 304 ------------------------
    polls_before = http.hits("/feeds/policy.rss")
    second = cli("run", config=config)
    assert second.returncode == 0, second.stderr
    assert http.hits("/feeds/policy.rss") == polls_before + 1
    assert [h for m, p, h in http.requests if p == "/feeds/policy.rss"][-1].get("If-None-Match") == '"policy-v1"'
    assert "unchanged (304)" in second.stdout
    assert len(cli.jsonl("articles", "--jsonl", config=config)) == 5
    assert len(smtp.messages) == 2 and len(http.json_posts("/notify")) == 2

    # -- a new item in a feed produces exactly its own alert --------------------------------------
    serve_story(http, "Example Policy Desk", STORY_ASML)
    items = [(s.title, s.path, s.published) for s in (STORY_ASML, STORY_ENTITY, STORY_CLOUD, STORY_SNACK)]
    http.add("/feeds/policy.rss", rss("Example Policy Desk", http.base, items),
             content_type="application/rss+xml", etag='"policy-v2"')
    third = cli("run", config=config)
    assert third.returncode == 0, third.stderr
    assert len(cli.jsonl("articles", "--jsonl", config=config)) == 6
    new_subjects = smtp.subjects()[2:]
    stories = [s for s in new_subjects if "feed down" not in s]
    assert len(stories) == 1 and STORY_ASML.title[:40] in stories[0], new_subjects
    # the two feeds that failed three cycles in a row raise one feed-health alert each
    assert sorted(s for s in new_subjects if "feed down" in s) == [
        "[newsmon] feed down · broken", "[newsmon] feed down · fake"]
    assert len(http.json_posts("/notify")) == 5

    alerts = cli.jsonl("alerts", "--jsonl", config=config)
    assert {a["status"] for a in alerts} == {"sent"}
    assert all(set(a) >= {"url", "title", "topics", "target", "status", "attempts", "sent_at"} for a in alerts)
    story_alerts = [a for a in alerts if a["topics"]]
    assert len(story_alerts) == 6  # 3 stories × 2 targets; the wire copy is a source of the first story
    entity_rows = [a for a in story_alerts if a["url"].endswith(STORY_ENTITY.path)]
    assert len(entity_rows) == 2 and all(a["sources"] == 2 for a in entity_rows)
    chip = cli.jsonl("articles", "--jsonl", "--topic", "chip-export", config=config)
    assert {a["url"].removeprefix(http.base) for a in chip} >= {STORY_ENTITY.path, STORY_ASML.path}
    assert all("chip-export" in a["topics"] for a in chip)


def test_bad_config_exits_2_naming_file_key_and_expectation(cli: CLI, tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[fetch]\ntimeout = "soon"\n', encoding="utf-8")
    done = cli("run", config=config)
    assert done.returncode == 2
    assert str(config) in done.stderr and "fetch.timeout" in done.stderr and "expected a number" in done.stderr
    unknown = tmp_path / "unknown.toml"
    unknown.write_text('[alerts]\ntopics = ["chips"]\n', encoding="utf-8")
    done = cli("run", config=unknown)
    assert done.returncode == 2 and "alerts.topics" in done.stderr and "chip-export" in done.stderr


def test_no_network_run_finishes_names_failed_feeds_exit_0(cli: CLI, tmp_path: Path) -> None:
    config = tmp_path / "offline.toml"
    config.write_text(f'''database_url = "sqlite:///{tmp_path / 'off.db'}"
[[feeds]]
url = "http://127.0.0.1:9/closed-port.rss"
name = "Closed port"
[[feeds]]
url = "https://feeds.unresolvable.invalid/rss"
name = "No such host"
''', encoding="utf-8")
    done = cli("run", config=config)
    assert done.returncode == 0, done.stderr
    assert "Closed port" in done.stdout and "No such host" in done.stdout
    assert "2 failed" in done.stdout
    listed = cli("failures", config=config)
    assert "closed-port.rss" in listed.stdout and "unresolvable.invalid" in listed.stdout


def test_unreachable_database_exits_1(cli: CLI, tmp_path: Path) -> None:
    config = tmp_path / "pg.toml"
    config.write_text('database_url = "postgresql+psycopg://newsmon:hunter2@127.0.0.1:9/newsmon"\n',
                      encoding="utf-8")
    done = cli("run", config=config)
    assert done.returncode == 1
    assert "cannot use the database" in done.stderr and "hunter2" not in done.stderr + done.stdout


def test_backfill_with_progress_is_resumable_and_silent(cli: CLI, http: LoopbackHTTP, smtp: SMTPSink,
                                                        tmp_path: Path) -> None:
    feeds = build_world(http)
    config = write_config(tmp_path, {"policy": feeds["policy"]}, smtp, http)
    listing = "\n".join(["# stories to backfill", "", http.url(STORY_ENTITY.path) + "?utm_source=x",
                         http.url(STORY_CLOUD.path), http.url("/news/missing.html")])
    first = cli("backfill", "-", stdin=listing, config=config)
    assert first.returncode == 0, first.stderr
    assert "2 stored" in first.stdout and "1 failed" in first.stdout and "HTTP 404" in first.stdout
    assert "backfill" in first.stderr  # the progress bar
    assert smtp.messages == [] and http.json_posts("/notify") == []   # no alerts without --alert
    again = cli("backfill", "-", "--alert", stdin=listing, config=config)
    assert again.returncode == 0, again.stderr
    assert "0 stored" in again.stdout and "2 already stored" in again.stdout
    assert smtp.messages == []
    assert len(cli.jsonl("articles", "--jsonl", config=config)) == 2


def test_extract_and_classify_need_no_database(cli: CLI, http: LoopbackHTTP, tmp_path: Path) -> None:
    serve_story(http, "Example Policy Desk", STORY_ENTITY)
    pages = tmp_path / "pages"
    pages.mkdir()
    from tests.e2e_site import article_page
    (pages / "a.html").write_text(article_page("Site", STORY_CLOUD), encoding="utf-8")
    (pages / "b.html").write_text("", encoding="utf-8")
    done = cli("extract", "--jsonl", http.url(STORY_ENTITY.path), str(pages))
    assert done.returncode == 0, done.stderr
    lines = [json.loads(x) for x in done.stdout.splitlines()]
    assert [x["input"] for x in lines] == [http.url(STORY_ENTITY.path), str(pages / "a.html"), str(pages / "b.html")]
    assert lines[0]["title"] == STORY_ENTITY.title and "Entity List" in lines[0]["text"]
    assert lines[1]["published"].startswith("2026-11-21") and "error" in lines[2]
    assert not list(tmp_path.glob("**/*.db"))

    stdin = "\n".join(json.dumps({"id": i, "title": s.title, "text": "\n\n".join(s.paragraphs)})
                      for i, s in enumerate([STORY_ENTITY, STORY_SNACK, STORY_CLOUD]))
    done = cli("classify", "--jsonl", stdin=stdin + "\nnot json\n")
    assert done.returncode == 0, done.stderr
    out = [json.loads(x) for x in done.stdout.splitlines()]
    assert [o["id"] for o in out] == [0, 1, 2, None]
    assert "chip-export" in out[0]["topics"] and out[0]["alert"] is True
    assert out[1]["topics"] == [] and out[1]["alert"] is False
    assert "cloud-policy" in out[2]["topics"]
    assert set(out[0]["scores"]) >= {"chip-export", "cloud-policy", "talent"}
    assert "error" in out[3]


def wait_for_deployment(name: str, proc: subprocess.Popen[str], timeout: float = 120) -> None:
    """Wait (polling the API, no fixed sleep) until `newsmon serve` has registered its deployment."""
    import time

    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            assert proc.poll() is None, "newsmon serve exited early"
            try:
                client.read_deployment_by_name(name)
                return
            except ObjectNotFound:
                time.sleep(0.5)
    raise AssertionError(f"deployment {name} was not registered within {timeout} s")


def test_serve_runs_the_cycle_as_a_served_deployment(cli: CLI, http: LoopbackHTTP, smtp: SMTPSink,
                                                     tmp_path: Path, prefect_api_url: str) -> None:
    from prefect.deployments import run_deployment

    feeds = build_world(http)
    config = write_config(tmp_path, {"wire": feeds["wire"]}, smtp, http)
    cmd = [sys.executable, "-m", "newsmon", "--config", str(config), "serve", "--interval", "3600",
           "--name", "e2e-serve"]
    proc = subprocess.Popen(cmd, env=cli.env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        wait_for_deployment("newsmon-cycle/e2e-serve", proc)
        run = run_deployment("newsmon-cycle/e2e-serve", timeout=180, poll_interval=2)
        assert run.state is not None and run.state.is_completed(), run.state
    finally:
        proc.terminate()
        output = proc.communicate(timeout=60)[0]
    assert "serving deployment 'e2e-serve'" in output
    assert len(cli.jsonl("articles", "--jsonl", config=config)) == 2

"""The real ``newsmon`` CLI in a hostile world (issue 14): clear errors instead of tracebacks, bounded
extraction, capped .gz input, deep pages, worker processes that die with their parent, a cycle that
survives bad links. Each runs ``python -m newsmon`` (or a small script) in a subprocess."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest

from extractors.article import extract_article
from extractors.feeds import html_to_text
from tests.e2e_site import STORY_ENTITY, serve_story
from tests.support import LoopbackHTTP, SMTPSink
from tests.test_e2e_cli import CLI

ENV = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSMON_", "PREFECT_"))}


def newsmon(tmp: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = dict(ENV, HOME=str(tmp / "home"), XDG_DATA_HOME=str(tmp / "xdg"), PREFECT_HOME=str(tmp / "ph"))
    return subprocess.run([sys.executable, "-m", "newsmon", *args], capture_output=True, text=True, env=env,
                          cwd=tmp, timeout=timeout, check=False)


def no_traceback(done: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout, done.stderr[-2000:]


# -- item 8: clear errors, exit 2 (config/usage) or 1 (database), never a traceback --------------------


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e9"])
def test_non_finite_or_absurd_timeout_is_a_config_error(tmp_path: Path, value: str) -> None:
    (tmp_path / "newsmon.toml").write_text(f"[fetch]\ntimeout = {value}\n", encoding="utf-8")
    done = newsmon(tmp_path, "extract", "nothing.html")
    no_traceback(done)
    assert done.returncode == 2 and "fetch.timeout" in done.stderr and "newsmon.toml" in done.stderr


def test_a_config_file_that_is_not_utf8_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "newsmon.toml").write_bytes(b'[[feeds]]\nurl = "https://example.org/\xff\xfe"\n')
    done = newsmon(tmp_path, "topics")
    no_traceback(done)
    assert done.returncode == 2 and "UTF-8" in done.stderr and "newsmon.toml" in done.stderr


def test_since_before_year_one_in_utc_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "newsmon.toml").write_text(f'database_url = "sqlite:///{tmp_path}/n.db"\n', encoding="utf-8")
    done = newsmon(tmp_path, "articles", "--jsonl", "--since", "0001-01-01T00:00:00+01:00")
    no_traceback(done)
    assert done.returncode == 2 and "--since" in done.stderr


def test_an_sqlite_directory_that_cannot_be_created_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "newsmon.toml").write_text('database_url = "sqlite:////proc/newsmon-no/n.db"\n', encoding="utf-8")
    done = newsmon(tmp_path, "articles", "--jsonl")
    no_traceback(done)
    assert done.returncode == 1 and "cannot create the directory '/proc/newsmon-no'" in done.stderr


def test_a_read_only_database_via_sqlite_uri_refuses_to_run_but_can_be_read(tmp_path: Path) -> None:
    db = tmp_path / "data" / "n.db"
    (tmp_path / "newsmon.toml").write_text(f'database_url = "sqlite:///{db}"\n', encoding="utf-8")
    assert newsmon(tmp_path, "articles", "--jsonl").returncode == 0  # creates it
    (tmp_path / "newsmon.toml").write_text(f'database_url = "sqlite:///file:{db}?mode=ro"\n[[feeds]]\n'
                                           'url = "http://127.0.0.1:9/feed"\n', encoding="utf-8")
    done = newsmon(tmp_path, "run")
    no_traceback(done)
    assert done.returncode == 1 and "cannot be written" in done.stderr and "readonly" in done.stderr
    listed = newsmon(tmp_path, "articles", "--jsonl")
    assert listed.returncode == 0, listed.stderr
    assert not (tmp_path / "file:").exists()  # the URI is not taken for a folder name


# -- item 5: html_to_text linear; extract bounded in time ----------------------------------------------


@pytest.mark.timeout(60)
def test_html_to_text_is_linear_on_unclosed_tags() -> None:
    start = time.perf_counter()
    assert html_to_text("a<" * 100_000) .startswith("a<a<")
    assert time.perf_counter() - start < 1.0  # was 2.6 s for 40k characters, quadratic


def slow_page(spans: int = 60_000) -> str:
    return ("<html><head><title>Spans</title></head><body><article><p>"
            + "<span>chip export rules </span>" * spans + "</p></article></body></html>")


def test_extract_is_bounded_in_time_per_input(tmp_path: Path) -> None:
    (tmp_path / "slow.html").write_text(slow_page(), encoding="utf-8")
    (tmp_path / "ok.html").write_text("<html><head><title>Short</title></head><body><article><p>"
                                      + "Chip export rules tightened again. " * 20 + "</p></article></body></html>",
                                      encoding="utf-8")
    start = time.monotonic()
    done = newsmon(tmp_path, "extract", "--jsonl", "--time-limit", "2", "slow.html", "ok.html")
    elapsed = time.monotonic() - start
    no_traceback(done)
    slow, ok = (json.loads(line) for line in done.stdout.splitlines())
    assert slow == {"input": "slow.html", "error": slow["error"]} and "longer than 2 s" in slow["error"]
    assert ok["input"] == "ok.html" and "Chip export rules" in ok["text"]
    assert elapsed < 40  # unbounded, the slow page alone takes minutes


# -- item 3: extract file.html.gz decompresses within max_bytes -----------------------------------------

_PEAK = """
import atexit, runpy, sys
def peak():
    hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
    print("PEAK_MB", int(hwm.split()[1]) // 1024, file=sys.stderr)
atexit.register(peak)
sys.argv = ["newsmon", *sys.argv[1:]]
runpy.run_module("newsmon", run_name="__main__")
"""


def test_extract_gz_is_capped_while_inflating(tmp_path: Path) -> None:
    z = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts = [z.compress(b"<html><body><p>")] + [z.compress(b"\0" * 1_000_000) for _ in range(300)] + [z.flush()]
    (tmp_path / "bomb.html.gz").write_bytes(b"".join(parts))  # ~300 KB on disk, 300 MB inflated
    env = dict(ENV, HOME=str(tmp_path), XDG_DATA_HOME=str(tmp_path / "xdg"), PREFECT_HOME=str(tmp_path / "ph"))
    done = subprocess.run([sys.executable, "-c", _PEAK, "extract", "--jsonl", "bomb.html.gz"], capture_output=True,
                          text=True, env=env, cwd=tmp_path, timeout=120, check=False)
    no_traceback(done)
    (line,) = done.stdout.splitlines()
    assert "more than max_bytes=5000000" in json.loads(line)["error"]
    peak = int(done.stderr.split("PEAK_MB")[1].split()[0])
    assert peak < 200, peak  # inflating all of it would take > 300 MB


# -- item 10: deep pages keep their text; workers die with their parent --------------------------------


@pytest.mark.parametrize("depth", [300, 3000, 20_000])
def test_pages_nested_deeper_than_lxml_allows_keep_their_text(depth: int) -> None:
    para = "<p>" + "Export controls on advanced chips to China were tightened again by Commerce. " * 4 + "</p>"
    html = ("<html><head><title>Deep</title></head><body>" + "<div>" * depth + "<article><h1>Deep</h1>"
            + para + "</article>" + "</div>" * depth + "</body></html>")
    article = extract_article(html, "https://example.org/deep")
    assert "Export controls on advanced chips" in article.text


_POOL = """
import sys, threading, time
from newsmon.pipeline import ExtractorPool, IngestItem
from newsmon.models import FetchedPage
html = open(sys.argv[1], encoding="utf-8").read().encode()
pool = ExtractorPool(workers=1, time_limit=600)
page = FetchedPage("http://x/slow", "http://x/slow", 200, html, "text/html")
item = IngestItem(url="http://x/slow", link="http://x/slow", source="x")
threading.Thread(target=pool.extract, args=(page, item), kwargs={"max_bytes": 10_000_000}, daemon=True).start()
while not pool._pool or not pool._pool._processes:
    time.sleep(0.05)
time.sleep(1.5)  # the worker is busy on the page now
print(*pool._pool._processes, flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def test_extraction_workers_die_with_their_parent_after_kill_9(tmp_path: Path) -> None:
    (tmp_path / "slow.html").write_text(slow_page(), encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-c", _POOL, str(tmp_path / "slow.html")], stdout=subprocess.PIPE,
                            text=True, env=ENV)
    try:
        assert proc.stdout is not None
        (worker,) = (int(p) for p in proc.stdout.readline().split())
        assert _alive(worker)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        deadline = time.monotonic() + 5
        while _alive(worker) and time.monotonic() < deadline:
            time.sleep(0.1)
        alive = _alive(worker)
    finally:
        proc.kill()
    if alive:
        os.kill(worker, signal.SIGKILL)
    assert not alive, "the extraction worker outlived its parent by more than 5 s"


# -- item 1: the whole cycle (the real CLI and Prefect) survives bad links --------------------------------


@pytest.mark.e2e
def test_run_with_bad_item_links_exits_0_and_records_them(tmp_path: Path, http: LoopbackHTTP, smtp: SMTPSink,
                                                          prefect_api_url: str) -> None:
    serve_story(http, "Desk", STORY_ENTITY)
    items = "".join(f"<item><title>t{i}</title><link>{link}</link></item>" for i, link in
                    enumerate([http.url(STORY_ENTITY.path), "http://a:99999/x", "http://[::1/x"]))
    http.add("/bad.rss", f'<?xml version="1.0"?><rss version="2.0"><channel><title>B</title>{items}</channel></rss>',
             content_type="application/rss+xml")
    config = tmp_path / "newsmon.toml"
    config.write_text(f'database_url = "sqlite:///{tmp_path}/n.db"\n[[feeds]]\nurl = "{http.url("/bad.rss")}"\n'
                      "[fetch]\ntimeout = 5\nallow_private_networks = true\n", encoding="utf-8")
    cli = CLI(tmp_path, prefect_api_url)
    done = cli("run", "--json", config=config)
    no_traceback(done)
    assert done.returncode == 0, done.stderr[-3000:]
    assert [a["url"] for a in cli.jsonl("articles", "--jsonl", config=config)] == [http.url(STORY_ENTITY.path)]
    recorded = cli.jsonl("failures", "--jsonl", config=config)
    assert sorted(f["url"] for f in recorded) == ["http://[::1/x", "http://a:99999/x"]
    assert all(f["stage"] == "feed-item" for f in recorded)


def test_backfill_list_with_an_unparseable_url_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "urls.txt").write_text("https://example.com/a\nhttp://[::1/x\n", encoding="utf-8")
    (tmp_path / "newsmon.toml").write_text(f'database_url = "sqlite:///{tmp_path}/n.db"\n', encoding="utf-8")
    done = newsmon(tmp_path, "backfill", "urls.txt")
    no_traceback(done)
    assert done.returncode == 2 and "line 2: 'http://[::1/x' is not a usable URL (not a valid URL: Invalid IPv6 URL)" \
        in done.stderr

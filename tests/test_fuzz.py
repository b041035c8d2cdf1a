"""Fuzzing (hypothesis): random input only ever gives a typed newsmon error or a recorded failure, never an
unexpected exception, and in bounded time. URL canonicalisation, feed parsing (through a real loopback
server and poll_feed), config loading and the extraction wrapper. Each test stays well under ~20 s."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from extractors.article import extract_article
from extractors.feeds import parse_feed_report
from extractors.urls import canonical_url
from newsmon.config import FetchSettings, load_settings, settings_from_mapping
from newsmon.errors import ConfigError, ExtractError, FeedParseError, FetchError, InvalidURL
from newsmon.httpclient import HttpClient
from newsmon.pipeline import poll_feed
from storage import repo
from tests.support import LoopbackHTTP

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

_URL_BITS = st.sampled_from([
    "http://", "https://", "HTTP://", "ftp://", "//", "[", "]", "::1", ":", "@", "%", "%zz", "%41", "?", "#", "&",
    "=", "/", "\\", "..", "amp", "/amp/", ".amp.html", "utm_source=x", "a", "example.com", "127.0.0.1",
    "99999", "-1", "0", "65535", "xn--", "\u00e9", "\u202e", " ", "\t", "\n", "\x00", "bing.com/news/apiclick",
    "url=", "www.google.com/url?q=", ".cdn.ampproject.org/c/s/",
])
URLS = st.one_of(st.text(max_size=200), st.lists(_URL_BITS, max_size=25).map("".join))


@FAST
@given(URLS)
def test_canonical_url_gives_a_url_or_invalid_url(raw: str) -> None:
    start = time.perf_counter()
    try:
        out = canonical_url(raw)
    except InvalidURL as exc:
        assert exc.reason
        return
    finally:
        assert time.perf_counter() - start < 1.0
    assert isinstance(out, str) and "#" not in out
    if out.startswith(("http://", "https://")):
        assert canonical_url(out) == canonical_url(canonical_url(out))  # settles after one more pass


_ITEM = st.builds(
    lambda title, link, date: f"<item><title>{title}</title><link>{link}</link><pubDate>{date}</pubDate></item>",
    st.text(max_size=60), URLS, st.text(max_size=30),
)
FEEDS = st.one_of(
    st.binary(max_size=2000),
    st.lists(_ITEM, max_size=8).map(
        lambda items: ('<?xml version="1.0"?><rss version="2.0"><channel><title>F</title>'
                       + "".join(items) + "</channel></rss>").encode("utf-8", "surrogatepass")),
    st.lists(st.sampled_from(["<", ">", "<rss>", "<feed>", "<entry>", "<link href='", "'/>", "&", "&amp;",
                              "<![CDATA[", "]]>", "<!DOCTYPE x [<!ENTITY a 'b'>]>", "&a;", "\x00", "\xff"]),
             max_size=40).map(lambda parts: "".join(parts).encode("utf-8", "surrogatepass")),
)


@FAST
@given(FEEDS)
def test_parse_feed_gives_items_or_feed_parse_error(body: bytes) -> None:
    start = time.perf_counter()
    try:
        parsed = parse_feed_report(body, {"content-type": "application/rss+xml"}, "https://feeds.example/f",
                                   max_items=50)
    except FeedParseError as exc:
        assert exc.reason
        return
    finally:
        assert time.perf_counter() - start < 2.0
    assert len(parsed.items) <= 50
    for item in parsed.items:
        assert item.url.startswith(("http://", "https://")) and len(item.url) <= 2048


@SLOW
@given(FEEDS)
def test_poll_feed_over_loopback_never_raises(http_server: LoopbackHTTP, body: bytes) -> None:
    http_server.add("/fuzz.rss", body, content_type="application/rss+xml")
    feed = repo.FeedState(1, http_server.url("/fuzz.rss"), "fuzz", None, None)
    with HttpClient(FetchSettings(timeout=5, allow_private_networks=True), retry_delays=()) as client:
        start = time.perf_counter()
        result = poll_feed(client, feed)  # a feed's own failure is a result, never an exception
        assert time.perf_counter() - start < 3.0
    assert result.status in ("new", "failed")
    assert result.status == "new" or result.error


_TOML_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=40),
                          st.sampled_from(["https://example.org/rss", "sqlite:///x.db", "mailto://a@b", "nan"]))
_KEYS = st.sampled_from(["database_url", "feeds", "alerts", "fetch", "classify", "url", "name", "timeout",
                         "max_bytes", "concurrency", "per_host", "max_items_per_feed", "allow_private_networks",
                         "user_agent", "notify", "topics", "routes", "lease_seconds", "topics_file", "bogus"])
_VALUES: Any = st.recursive(
    _TOML_SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_KEYS, inner, max_size=5)),
    max_leaves=20,
)


@FAST
@given(st.dictionaries(_KEYS, _VALUES, max_size=6))
def test_config_mapping_gives_settings_or_config_error(data: dict[str, Any]) -> None:
    try:
        settings_from_mapping(data, path="fuzz.toml", env={})
    except ConfigError as exc:
        assert "fuzz.toml" in str(exc)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.binary(max_size=500),
                 st.lists(st.sampled_from(["[fetch]\n", "timeout = ", "nan", "inf", "1e999", "-0.0", "\n",
                                           "[[feeds]]\n", 'url = "', "http://a:99999/x", "http://[::1/x", '"\n',
                                           "\xff", "max_bytes = 9223372036854775807\n", "=", "[", "]"]),
                          max_size=20).map(lambda p: "".join(p).encode("utf-8", "surrogateescape"))))
def test_config_file_gives_settings_or_config_error(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "fuzz.toml"
    path.write_bytes(raw)
    try:
        load_settings(str(path), env={}, cwd=tmp_path)
    except ConfigError as exc:
        assert str(path) in str(exc)


HTML = st.one_of(
    st.binary(max_size=3000),
    st.lists(st.sampled_from(["<html>", "<body>", "<p>", "</p>", "<div>", "</div>", "<span>", "<", ">",
                              "<script>", "</script>", "<title>", "</title>", "<meta charset='x-bogus'>",
                              "<article>", "chip export rules tightened. ", "\x00", "&#xD800;", "&nbsp;",
                              "<!--", "-->", "<![CDATA[", "\ufeff", "<table><tr><td>"]),
             max_size=200).map("".join),
)


@SLOW
@given(HTML)
def test_extraction_gives_an_article_or_a_typed_error(html: str | bytes) -> None:
    start = time.perf_counter()
    try:
        article = extract_article(html, "https://example.org/a", max_bytes=100_000)
    except (ExtractError, FetchError) as exc:  # FetchError: UnsupportedContent (binary, not HTML)
        assert getattr(exc, "reason", "")
        return
    finally:
        assert time.perf_counter() - start < 5.0
    assert isinstance(article.title, str) and isinstance(article.text, str)

"""Feed parsing on hand-written RSS 2.0, RSS 1.0, Atom, malformed and non-feed bodies."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from extractors.feeds import parse_feed
from newsmon.errors import FeedParseError
from tests.conftest import DATA

FEEDS = DATA / "feeds"


def load(name: str) -> bytes:
    return (FEEDS / name).read_bytes()


def test_rss2_items_canonical_deduplicated_and_plain_text() -> None:
    items = parse_feed(load("rss2.xml"), {"Content-Type": "application/rss+xml"}, "https://news.example.com/rss")
    assert [i.url for i in items] == [
        "https://news.example.com/policy/entity-list-additions",
        "https://news.example.com/china/compute-vouchers",
    ]
    first = items[0]
    assert first.title == "Commerce adds 14 Chinese chip firms to the Entity List"
    assert first.link.endswith("?utm_source=rss&utm_medium=feed")
    assert first.published == datetime(2026, 11, 20, 14, 5, tzinfo=UTC)
    assert first.guid == "ex-1001"
    assert "<" not in first.summary and "alert(1)" not in first.summary and "& SMIC" in first.summary
    assert items[1].published == datetime(2026, 11, 19, 8, 0, tzinfo=UTC)


def test_atom_entries_with_amp_links_and_offsets() -> None:
    items = parse_feed(load("atom.xml"), {}, "https://tech.example.org/atom")
    assert [i.url for i in items] == [
        "https://tech.example.org/2026/11/21/cloud-kyc",
        "https://tech.example.org/2026/11/20/model-benchmark",
    ]
    assert items[0].title.startswith("Cloud providers told to verify foreign customers &")
    assert items[0].published == datetime(2026, 11, 21, 9, 30, tzinfo=UTC)
    assert items[1].published == datetime(2026, 11, 20, 10, 0, tzinfo=UTC)  # +08:00 → UTC


def test_rss1_rdf() -> None:
    (item,) = parse_feed(load("rss1-rdf.xml"), {}, "https://rdf.example.net/rss")
    assert item.url == "https://rdf.example.net/a1"
    assert item.published == datetime(2026, 11, 18, 7, 0, tzinfo=UTC)


def test_malformed_feed_keeps_what_is_readable() -> None:
    items = parse_feed(load("bozo.xml"), {}, "https://broken.example.com/rss")
    assert "https://broken.example.com/hbm" in [i.url for i in items]


@pytest.mark.parametrize("body", [load("not-a-feed.html"), b"", b"\x89PNG\r\n\x1a\n\x00\x00"])
def test_non_feed_is_a_feed_parse_error_naming_the_url(body: bytes) -> None:
    with pytest.raises(FeedParseError) as info:
        parse_feed(body, {"Content-Type": "text/html"}, "https://example.com/not-a-feed")
    assert "https://example.com/not-a-feed" in str(info.value)
    assert "not an RSS or Atom feed" in str(info.value)

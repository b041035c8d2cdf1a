"""Feed parsing: RSS 0.9x/1.0/2.0 and Atom bytes → :class:`FeedItem` list.

feedparser only ever gets bytes we fetched ourselves (never a URL or a path: feedparser opens
those itself, without our timeout, byte cap or address rule). It never raises on malformed XML; it
sets ``bozo``. We keep the entries of a bozo feed and fail only when no feed is recognisable.

One bad entry never sinks the feed: an entry whose link cannot be parsed (``http://a:99999/x``,
``http://[::1/x``) or is longer than :data:`~extractors.urls.MAX_URL_LENGTH` is skipped and reported
in :attr:`ParsedFeed.skipped` (the poller records each in ``failures``). At most ``max_items`` entries
are taken (feeds list the newest first); the rest are counted in :attr:`ParsedFeed.dropped`.
"""

from __future__ import annotations

import calendar
import html
import io
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import feedparser

from extractors.urls import MAX_URL_LENGTH, canonical_url, join_url
from newsmon.errors import FeedParseError, InvalidURL
from newsmon.models import FeedItem

__all__ = ["DEFAULT_MAX_ITEMS", "ParsedFeed", "html_to_text", "parse_feed", "parse_feed_report"]

DEFAULT_MAX_ITEMS = 200  # entries taken from one feed per poll; the rest are dropped and counted
MAX_FRAGMENT_CHARS = 100_000  # a feed title/summary longer than this is cut before it is cleaned

log = logging.getLogger(__name__)

# ``[^<>]`` (not ``[^>]``): a ``<`` without ``>`` must not make every later ``<`` rescan to the end
# of the text (quadratic: 40k characters took 2.6 s); with it the substitution is linear.
_TAG = re.compile(r"<[^<>]*>")
_SPACE = re.compile(r"\s+")


def html_to_text(fragment: str) -> str:
    """Plain text of a small HTML fragment (feed titles and summaries), in linear time.

    Fragments longer than :data:`MAX_FRAGMENT_CHARS` are cut first: a feed title is never that long.
    """
    fragment = fragment[:MAX_FRAGMENT_CHARS]
    return _SPACE.sub(" ", html.unescape(_TAG.sub(" ", fragment))).strip()


def _entry_time(entry: Mapping[str, Any]) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        # dict.get: FeedParserDict.get maps updated_parsed to published_parsed with a DeprecationWarning
        value = dict.get(entry, key) if isinstance(entry, dict) else entry.get(key)
        if isinstance(value, time.struct_time):
            return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    return None


def _entry_link(entry: Mapping[str, Any], base: str) -> str | None:
    link = entry.get("link")
    if not link:
        for candidate in entry.get("links", []) or []:
            if candidate.get("rel", "alternate") == "alternate" and candidate.get("href"):
                link = candidate["href"]
                break
    if not link:
        guid = entry.get("id", "")
        if isinstance(guid, str) and guid.startswith(("http://", "https://")):
            link = guid
    if not link or not isinstance(link, str):
        return None
    absolute = join_url(base, link.strip())  # InvalidURL for a broken link
    return absolute if absolute.startswith(("http://", "https://")) else None


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """What one feed body gave: items, entries skipped (link, reason), entries beyond the cap."""

    items: tuple[FeedItem, ...]
    skipped: tuple[tuple[str, str], ...] = ()
    dropped: int = 0


def parse_feed(body: bytes, headers: Mapping[str, str], feed_url: str) -> list[FeedItem]:
    """Parse a feed body into items, canonical URLs deduplicated within the feed.

    Entries with a broken link are left out (see :func:`parse_feed_report` for the list of them).

    Raises:
        FeedParseError: the body holds no recognisable RSS/Atom feed.
    """
    return list(parse_feed_report(body, headers, feed_url, max_items=None).items)


def parse_feed_report(
    body: bytes, headers: Mapping[str, str], feed_url: str, *, max_items: int | None = DEFAULT_MAX_ITEMS
) -> ParsedFeed:
    """Parse a feed body: items (at most ``max_items``), skipped entries with reasons, dropped count.

    Raises:
        FeedParseError: the body holds no recognisable RSS/Atom feed.
    """
    parsed = feedparser.parse(
        io.BytesIO(body), response_headers={k.lower(): v for k, v in headers.items()}
    )
    entries = parsed.get("entries", [])
    if not parsed.get("version") and not entries:
        reason = "not an RSS or Atom feed"
        exc = parsed.get("bozo_exception")
        if exc is not None:
            reason += f" ({type(exc).__name__}: {str(exc)[:200]})"
        raise FeedParseError(feed_url, reason)
    if parsed.get("bozo"):
        log.info("feed %s is malformed but readable: %s", feed_url, parsed.get("bozo_exception"))
    base = parsed.get("href") or feed_url
    items: list[FeedItem] = []
    skipped: list[tuple[str, str]] = []
    seen: set[str] = set()
    dropped = 0
    for entry in entries:
        try:
            link = _entry_link(entry, base)
            if link is None:
                log.info("feed %s: entry %r has no usable link; skipped", feed_url,
                         str(entry.get("title", ""))[:80])
                continue
            url = canonical_url(link)
            if len(url) > MAX_URL_LENGTH or len(link) > 2 * MAX_URL_LENGTH:
                raise InvalidURL(link, f"link longer than {MAX_URL_LENGTH} characters; skipped")
        except InvalidURL as exc:
            raw = str(entry.get("link") or entry.get("id") or "")
            skipped.append((raw[:4096] or feed_url, f"feed {feed_url}: bad item link: {exc.reason}"))
            log.info("feed %s: entry skipped: %s", feed_url, exc)
            continue
        if url in seen:
            continue
        if max_items is not None and len(items) >= max_items:
            dropped += 1
            continue
        seen.add(url)
        summary = entry.get("summary") or ""
        items.append(
            FeedItem(
                feed_url=feed_url,
                url=url,
                link=link,
                title=html_to_text(entry.get("title") or ""),
                published=_entry_time(entry),
                summary=html_to_text(summary)[:2000],
                guid=str(entry.get("id") or "")[:4096] or None,
            )
        )
    return ParsedFeed(tuple(items), tuple(skipped), dropped)

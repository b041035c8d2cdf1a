"""Feed parsing: RSS 0.9x/1.0/2.0 and Atom bytes → :class:`FeedItem` list.

feedparser only ever gets bytes we fetched ourselves (never a URL or a path: feedparser opens
those itself, without our timeout, byte cap or address rule). It never raises on malformed XML; it
sets ``bozo``. We keep the entries of a bozo feed and fail only when no feed is recognisable.
"""

from __future__ import annotations

import calendar
import html
import io
import logging
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import feedparser

from extractors.urls import canonical_url
from newsmon.errors import FeedParseError
from newsmon.models import FeedItem

__all__ = ["html_to_text", "parse_feed"]

log = logging.getLogger(__name__)

_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


def html_to_text(fragment: str) -> str:
    """Plain text of a small HTML fragment (feed titles and summaries)."""
    return _SPACE.sub(" ", html.unescape(_TAG.sub(" ", fragment))).strip()


def _entry_time(entry: Mapping[str, Any]) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
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
    absolute = urljoin(base, link.strip())
    return absolute if absolute.startswith(("http://", "https://")) else None


def parse_feed(body: bytes, headers: Mapping[str, str], feed_url: str) -> list[FeedItem]:
    """Parse a feed body into items, canonical URLs deduplicated within the feed.

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
    seen: set[str] = set()
    for entry in entries:
        link = _entry_link(entry, base)
        if link is None:
            log.info("feed %s: entry %r has no usable link; skipped", feed_url, entry.get("title", "")[:80])
            continue
        url = canonical_url(link)
        if url in seen:
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
                guid=entry.get("id") or None,
            )
        )
    return items

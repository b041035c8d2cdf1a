"""OPML 2.0 feed lists, in and out (pure: bytes in, feeds out; feeds in, text out).

Reading takes every ``<outline>`` with an ``xmlUrl``, at any depth (readers nest feeds in folders),
named by its ``title`` or ``text``; outlines without ``xmlUrl`` are folders and contribute nothing.
External entities and DTDs are never loaded. Writing gives one flat ``<body>`` of
``<outline type="rss" text=… title=… xmlUrl=…/>``, which every reader imports.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from email.utils import format_datetime
from urllib.parse import urlsplit

from lxml import etree

from newsmon.errors import FeedParseError
from newsmon.models import FeedSpec

__all__ = ["parse_opml", "render_opml"]


def parse_opml(body: bytes, source: str) -> list[FeedSpec]:
    """The feeds listed in an OPML document, in document order, each URL once.

    Raises :class:`FeedParseError` naming ``source`` when the body is not OPML, or an outline's
    ``xmlUrl`` is not an http(s) URL (nothing is imported then).
    """
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError as exc:
        raise FeedParseError(source, f"not well-formed XML: {exc}") from exc
    if root is None or etree.QName(root).localname != "opml":
        raise FeedParseError(source, "not an OPML document (the root element is not <opml>)")
    feeds: list[FeedSpec] = []
    seen: set[str] = set()
    for outline in root.iter("{*}outline", "outline"):
        url = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
        if not url:
            continue
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            line = getattr(outline, "sourceline", "?")
            raise FeedParseError(source, f"line {line}: xmlUrl {url!r} is not an http(s) URL; nothing was imported")
        if url in seen:
            continue
        seen.add(url)
        name = (outline.get("title") or outline.get("text") or "").strip() or None
        feeds.append(FeedSpec(url=url, name=name))
    return feeds


def render_opml(feeds: Sequence[FeedSpec], *, title: str, now: datetime) -> str:
    """An OPML 2.0 document listing ``feeds``."""
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = title
    etree.SubElement(head, "dateCreated").text = format_datetime(now)
    body = etree.SubElement(root, "body")
    for feed in feeds:
        label = feed.name or feed.url
        etree.SubElement(body, "outline", type="rss", text=label, title=label, xmlUrl=feed.url)
    xml: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return xml.decode("utf-8")

"""Page metadata read cheaply from the already-parsed tree.

trafilatura's ``with_metadata=True`` costs ~1.7x the extraction; everything newsmon needs is in a
handful of ``<meta>``/``<link>`` tags, the JSON-LD block and the ``<h1>``, so we read those
ourselves in one pass.  Only when no date is declared anywhere do we ask htmldate (fast mode,
no extensive search), and the feed date is the last fallback.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin

from lxml.html import HtmlElement

__all__ = ["PageMetadata", "parse_datetime", "read_metadata", "split_title"]

_TITLE_SEPARATORS_RE = re.compile(r"\s+[|\-–—:•·»]\s+")
_WS_RE = re.compile(r"\s+")
_ISO_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?\s*"
    r"(Z|[+-]\d{2}:?\d{2})?)?")
_DATE_META_KEYS = (
    "article:published_time", "og:article:published_time", "datepublished",
    "publishdate", "publish-date", "pubdate", "date", "dc.date", "dc.date.issued",
    "dcterms.created", "sailthru.date", "parsely-pub-date", "article.published",
    "published_time", "og:published_time",
)
_ARTICLE_TYPES = {
    "newsarticle", "article", "reportagenewsarticle", "blogposting", "analysisnewsarticle",
    "webpage", "techarticle", "scholarlyarticle", "opinionnewsarticle", "report", "liveblogposting",
}


@dataclass(frozen=True, slots=True)
class PageMetadata:
    """What the page says about itself; ``title_candidates`` help strip a repeated headline."""

    title: str | None = None
    description: str | None = None
    published: datetime | None = None
    author: str | None = None
    site_name: str | None = None
    canonical_url: str | None = None
    language: str | None = None
    title_candidates: tuple[str, ...] = field(default=())


def _clean(text: str | None) -> str:
    """Collapse whitespace."""
    return _WS_RE.sub(" ", text or "").strip()


def _meta_map(tree: HtmlElement) -> dict[str, str]:
    """First ``content`` of each ``<meta name|property|itemprop>`` key, lower-cased keys."""
    found: dict[str, str] = {}
    for meta in tree.iterfind(".//meta"):
        key = meta.get("property") or meta.get("name") or meta.get("itemprop")
        content = meta.get("content")
        if key and content and content.strip():
            found.setdefault(key.strip().lower(), content.strip())
    return found


def _json_ld_objects(tree: HtmlElement) -> Iterator[dict[str, Any]]:
    """Every JSON object in the page's JSON-LD scripts, ``@graph`` members flattened."""
    for script in tree.iterfind(".//script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json":
            continue
        raw = (script.text or "").strip()
        if not raw:
            continue
        try:
            data = json.loads(raw)
        except ValueError:
            continue  # broken JSON-LD is common; the other metadata sources still apply
        stack = [data]
        while stack:
            item = stack.pop()
            if isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, dict):
                yield item
                graph = item.get("@graph")
                if graph is not None:
                    stack.append(graph)


def _is_article(obj: dict[str, Any]) -> bool:
    """Whether a JSON-LD object describes the article itself."""
    kind = obj.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return any(isinstance(k, str) and k.lower() in _ARTICLE_TYPES for k in kinds)


def _names(value: Any) -> list[str]:
    """Person/organisation names from a JSON-LD ``author``/``publisher`` value."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        name = value.get("name")
        return [name] if isinstance(name, str) else []
    if isinstance(value, list):
        return [n for v in value for n in _names(v)]
    return []


def parse_datetime(value: str | None) -> datetime | None:
    """Parse an ISO-8601-ish date (``2024-05-01``, ``2024-05-01T08:30:00+08:00``) to UTC."""
    if not value:
        return None
    match = _ISO_RE.search(value)
    if not match:
        return None
    year, month, day, hour, minute, second, zone = match.groups()
    try:
        parsed = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0),
                          int(second or 0), tzinfo=UTC)
        if zone and zone != "Z":
            zone = zone.replace(":", "")
            sign = -1 if zone[0] == "-" else 1
            offset = sign * (int(zone[1:3]) * 60 + int(zone[3:5]))
            return parsed - timedelta(minutes=offset)
    except ValueError:
        return None
    return parsed


def split_title(title: str, site_name: str | None) -> str:
    """Drop a site-name part from ``"Headline | Site"`` / ``"Site - Headline"``.

    Keeps the longest part when the page title is split by separators and no part is the site.
    """
    title = _clean(title)
    parts = [p for p in _TITLE_SEPARATORS_RE.split(title) if p]
    if len(parts) < 2:
        return title
    site = _clean(site_name).lower()
    if site:
        kept = [p for p in parts if p.lower() != site and p.lower() not in site]
        if kept and len(kept) < len(parts):
            return " - ".join(kept) if len(kept) > 1 else kept[0]
    first = parts[0]
    if len(first) >= 0.5 * len(title) or len(first.split()) >= 4:
        return first
    return max(parts, key=len)


def _site_from_title(head_title: str, headline: str) -> str | None:
    """The site part of ``"Headline | Site"`` when one part is the headline and one is short."""
    parts = [p for p in _TITLE_SEPARATORS_RE.split(head_title) if p]
    if len(parts) != 2:
        return None
    wanted = headline.lower()
    for this, other in (parts, parts[::-1]):
        if this.lower() == wanted and len(other.split()) <= 5:
            return other
    return None


def _first_h1(tree: HtmlElement) -> str:
    """Text of the first non-empty ``<h1>``."""
    for h1 in tree.iterfind(".//h1"):
        text = _clean(h1.text_content())
        if text:
            return text
    return ""


def _date_from_tree(tree: HtmlElement, meta: dict[str, str],
                    articles: list[dict[str, Any]]) -> datetime | None:
    """Published date from JSON-LD, ``<meta>``, then ``<time datetime>``."""
    for obj in articles:
        found = parse_datetime(str(obj.get("datePublished") or obj.get("dateCreated") or ""))
        if found:
            return found
    for key in _DATE_META_KEYS:
        found = parse_datetime(meta.get(key))
        if found:
            return found
    for time_el in tree.iterfind(".//time"):
        found = parse_datetime(time_el.get("datetime"))
        if found:
            return found
    return None


def _date_from_htmldate(tree: HtmlElement, url: str) -> datetime | None:
    """Ask htmldate (fast mode) for the original publication date."""
    from htmldate import find_date

    found = find_date(tree, url=url or None, extensive_search=False, original_date=True,
                      outputformat="%Y-%m-%d")
    return parse_datetime(found) if found else None


def _canonical(tree: HtmlElement, meta: dict[str, str], url: str) -> str | None:
    """``<link rel=canonical>`` or ``og:url``, made absolute against ``url``."""
    for link in tree.iterfind(".//link"):
        href = str(link.get("href") or "").strip()
        if href and "canonical" in str(link.get("rel") or "").lower().split():
            return urljoin(url, href)
    og_url = meta.get("og:url")
    return urljoin(url, og_url) if og_url else None


def _language(tree: HtmlElement, meta: dict[str, str]) -> str | None:
    """``<html lang>``, then ``og:locale``/``content-language``, as a lower-case 2-letter code."""
    for raw in (tree.get("lang"), tree.get("xml:lang"), meta.get("og:locale"),
                meta.get("content-language"), meta.get("language"), meta.get("dc.language")):
        if raw and re.match(r"^[A-Za-z]{2,3}\b", raw.strip()):
            return re.split(r"[-_]", raw.strip())[0].lower()
    return None


def read_metadata(
    tree: HtmlElement,
    url: str,
    *,
    fallback_title: str | None = None,
    fallback_published: datetime | None = None,
    use_htmldate: bool = True,
) -> PageMetadata:
    """Read title, date, author, site name, canonical URL and language from ``tree``."""
    meta = _meta_map(tree)
    articles = [obj for obj in _json_ld_objects(tree) if _is_article(obj)]
    site_name = meta.get("og:site_name") or meta.get("application-name")
    if not site_name:
        for obj in articles:
            names = _names(obj.get("publisher"))
            if names:
                site_name = names[0]
                break
    head_title_el = tree.find(".//title")
    head_title = _clean(head_title_el.text_content()) if head_title_el is not None else ""
    ld_headline = next((_clean(str(o["headline"])) for o in articles
                        if isinstance(o.get("headline"), str)), "")
    h1 = _first_h1(tree)
    og_title = _clean(meta.get("og:title") or meta.get("twitter:title"))
    candidates = tuple(dict.fromkeys(
        c for c in (og_title, ld_headline, h1, head_title, split_title(head_title, site_name),
                    split_title(og_title, site_name), _clean(fallback_title)) if c))
    title = (split_title(og_title, site_name) if og_title else "") or ld_headline or h1 \
        or split_title(head_title, site_name) or _clean(fallback_title) or None
    author = None
    for obj in articles:
        names = [n for n in _names(obj.get("author")) if n.strip()]
        if names:
            author = ", ".join(dict.fromkeys(_clean(n) for n in names))
            break
    if not author:
        raw_author = meta.get("author") or meta.get("article:author") or meta.get("dc.creator") \
            or meta.get("parsely-author") or meta.get("sailthru.author")
        if raw_author and not raw_author.startswith(("http://", "https://")):
            author = _clean(raw_author)
    published = _date_from_tree(tree, meta, articles)
    if published is None and use_htmldate:
        published = _date_from_htmldate(tree, url)
    if published is None and fallback_published is not None:
        published = fallback_published if fallback_published.tzinfo else \
            fallback_published.replace(tzinfo=UTC)
    if published is not None:
        published = published.astimezone(UTC)
    if not site_name and title:
        site_name = _site_from_title(head_title, title)
    description = _clean(meta.get("og:description") or meta.get("description")
                         or meta.get("twitter:description")) or None
    return PageMetadata(
        title=title, description=description, published=published, author=author or None,
        site_name=_clean(site_name).lstrip("@") or None, canonical_url=_canonical(tree, meta, url),
        language=_language(tree, meta), title_candidates=candidates)

"""Frozen value objects passed between the stages (fetch → extract → store → classify → alert).

They carry no database identity and no I/O; storage turns them into rows and back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

__all__ = [
    "Classification",
    "ExtractedArticle",
    "FeedItem",
    "FeedSpec",
    "FetchedPage",
]


@dataclass(frozen=True, slots=True)
class FeedSpec:
    """A configured feed."""

    url: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class FeedItem:
    """One entry of a parsed feed.

    ``url`` is the canonical URL (the dedup key); ``link`` is the link as the feed gave it.
    ``summary`` is plain text (HTML stripped).
    """

    feed_url: str
    url: str
    link: str
    title: str
    published: datetime | None = None
    summary: str = ""
    guid: str | None = None


@dataclass(frozen=True, slots=True)
class FetchedPage:
    """A fetched HTTP response body (already capped at ``max_bytes``)."""

    url: str
    final_url: str
    status: int
    body: bytes
    content_type: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ExtractedArticle:
    """The clean article extracted from one HTML page.

    ``published`` is timezone-aware (UTC) when known. ``text`` is paragraphs separated by
    blank lines, without page chrome (navigation, share widgets, related lists, newsletter prompts).
    """

    url: str
    title: str
    text: str
    published: datetime | None = None
    author: str | None = None
    site_name: str | None = None
    canonical_url: str | None = None
    language: str | None = None


@dataclass(frozen=True, slots=True)
class Classification:
    """Topics of one article, with a score per topic and the evidence that fired.

    ``topics`` are the topic ids assigned (possibly empty = off-topic), in a stable order.
    ``scores`` maps every known topic id to a float in [0, 1].
    ``evidence`` maps each assigned topic id to the phrases/rules that made it fire.
    """

    topics: tuple[str, ...]
    scores: Mapping[str, float]
    evidence: Mapping[str, tuple[str, ...]]

"""The Atom feed of alerts: one entry per alerted story, for any feed reader (built with feedgen).

Each entry links to the stored article (its canonical URL, which is also the entry id, so a reader
never shows a story twice), names the source, and says why it matched and who else reported it.
Everything from feeds and pages goes into the feed as text: feedgen escapes it.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime

from feedgen.feed import FeedGenerator

from alerts.render import summarize
from storage.views import StoryRow

__all__ = ["FEED_ID", "render_alerts_atom"]

FEED_ID = "urn:newsmon:alerts"


def _entry_html(story: StoryRow) -> str:
    parts = [f"<p>{html.escape(summarize(story.text))}</p>" if story.text else ""]
    why = "; ".join(f"{html.escape(topic)}: {html.escape(', '.join(phrases))}"
                    for topic, phrases in (story.evidence or {}).items() if phrases)
    if why:
        parts.append(f"<p><b>Why it matched</b>: {why}</p>")
    others = [s for s in story.sources if s.url != story.url]
    if others:
        items = "".join(f'<li><a href="{html.escape(s.url, quote=True)}">{html.escape(s.source or s.url)}</a>: '
                        f"{html.escape(s.title)}</li>" for s in others)
        parts.append(f"<p><b>Also reported by</b>:</p><ul>{items}</ul>")
    return "".join(parts)


def render_alerts_atom(stories: Sequence[StoryRow], *, now: datetime, title: str = "newsmon alerts",
                       self_url: str | None = None) -> bytes:
    """An Atom 1.0 document (UTF-8 bytes) with the entries in the given order (give newest first)."""
    fg = FeedGenerator()
    fg.id(FEED_ID)
    fg.title(title)
    fg.subtitle("Stories on the US–China AI, chip and cloud contest that met your alert topics")
    fg.author({"name": "newsmon"})
    fg.generator("newsmon")
    if self_url:
        fg.link(href=self_url, rel="self")
    fg.updated(max((s.created_at for s in stories), default=now))
    for story in stories:  # in the order given (newest first); feedgen would prepend by default
        fe = fg.add_entry(order="append")
        fe.id(story.url)
        topics = ", ".join(story.topics)
        fe.title(f"[{topics}] {story.title}" if topics else story.title)
        fe.link(href=story.url, rel="alternate")
        fe.author({"name": story.source or "unknown source"})
        fe.updated(story.created_at)
        if story.published is not None:
            fe.published(story.published)
        for topic in story.topics:
            fe.category(term=topic)
        fe.content(_entry_html(story), type="html")
    xml: bytes = fg.atom_str(pretty=True)
    return xml

"""Alert text for email (HTML, apprise adds the plain-text part) and Slack (mrkdwn). Pure, no I/O.

Everything that came from a feed (title, source name, summary, URL, evidence) is untrusted:

- HTML: every value goes through :func:`html.escape`; links are emitted only for ``http(s)`` URLs;
- Slack: ``<``, ``>``, ``|``, ``!``, ``@`` and the mrkdwn markers ``*``, ``_``, ``~``, `````` ` `````` in
  feed text are replaced by look-alikes, so a headline cannot open a link, close ours, format text
  (bold, italic, strike, code) or ping ``@channel``/a user (apprise escapes ``&``, ``<``, ``>``
  itself but turns ``<!channel>``/``<@U…>``/``<url|text>`` back into live syntax);
- subject lines: control characters and line breaks are removed (no header injection).
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import quote, urlsplit

__all__ = [
    "FeedHealthEvent",
    "Message",
    "SourceRef",
    "StoryAlert",
    "clean_line",
    "format_evidence",
    "render_alert",
    "render_digest",
    "render_feed_health",
    "render_test",
    "slack_text",
    "summarize",
]

SUBJECT_PREFIX = "[newsmon]"
MAX_HEADLINE = 180
MAX_EVIDENCE = 8


@dataclass(frozen=True, slots=True)
class SourceRef:
    """Another outlet that carried the story."""

    source: str
    url: str
    title: str = ""


@dataclass(frozen=True, slots=True)
class StoryAlert:
    """Everything an alert about one story shows."""

    title: str
    url: str
    source: str
    published: datetime | None
    topics: tuple[str, ...]  # the topics that made it alert, first
    summary: str
    evidence: Mapping[str, Sequence[str]] = field(default_factory=dict)
    other_sources: tuple[SourceRef, ...] = ()
    alert_topics: tuple[str, ...] = ()  # the topics that made it alert (subject line); default: topics


@dataclass(frozen=True, slots=True)
class FeedHealthEvent:
    """A feed went down (``down``) or came back (``recovered``)."""

    kind: str
    feed_url: str
    feed_name: str | None
    failures: int
    error: str | None
    since: datetime | None


@dataclass(frozen=True, slots=True)
class Message:
    """One message in every format; the sender picks the one its target reads."""

    subject: str
    html: str
    text: str
    slack: str


_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


def clean_line(text: str, limit: int = MAX_HEADLINE) -> str:
    """One line: control characters and line breaks become spaces, whitespace collapsed, cut."""
    line = " ".join(_CONTROL.sub(" ", text).split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def _safe_url(url: str) -> str | None:
    """The URL if it is http(s) with a host (safe to link), else None."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return quote(url.strip(), safe=":/?#[]@!$&'()*+,;=%~-._")


_SENTENCE = re.compile(r"(?<=[.!?])[\"”’']?\s+(?=[\"“‘'(]?[A-Z0-9])")


def summarize(text: str, *, sentences: int = 3, max_chars: int = 480) -> str:
    """The first 2–3 sentences of the article (datelines and one-word fragments skipped)."""
    flat = " ".join(text.split())
    picked: list[str] = []
    for sentence in _SENTENCE.split(flat):
        sentence = sentence.strip()
        if len(sentence.split()) < 4:
            continue
        if picked and len(" ".join([*picked, sentence])) > max_chars:
            break
        picked.append(sentence)
        if len(picked) >= sentences:
            break
    summary = " ".join(picked) or flat
    return summary if len(summary) <= max_chars else summary[: max_chars - 1].rstrip() + "…"


def format_evidence(evidence: Mapping[str, Sequence[str]], topics: Sequence[str] | None = None) -> str:
    """``matched: Entity List · SMIC · Commerce Department`` (unique phrases, alerting topics first)."""
    order = [t for t in (topics or ()) if t in evidence] + [t for t in evidence if t not in (topics or ())]
    phrases: list[str] = []
    for topic in order:
        for phrase in evidence.get(topic, ()):
            line = clean_line(str(phrase), 80)
            if line and line.lower() not in (p.lower() for p in phrases):
                phrases.append(line)
    if not phrases:
        return ""
    shown = phrases[:MAX_EVIDENCE]
    more = f" (+{len(phrases) - len(shown)} more)" if len(phrases) > len(shown) else ""
    return "matched: " + " · ".join(shown) + more


def _date(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "date unknown"


def _subject(topics: Sequence[str], headline: str) -> str:
    label = ", ".join(topics) if topics else "alert"
    return clean_line(f"{SUBJECT_PREFIX} {label} · {clean_line(headline)}", 250)


# -- Slack ----------------------------------------------------------------------------------------

# every character Slack's mrkdwn gives a meaning (links/mentions <…>, *bold*, _italic_, ~strike~,
# `code`, > quotes) becomes a look-alike that Slack shows as it is
_SLACK_MAP = str.maketrans({"<": "‹", ">": "›", "|": "¦", "!": "ǃ", "@": "＠", "`": "ˋ", "*": "∗",
                            "_": "＿", "~": "∼"})


def slack_text(text: str, limit: int = 400) -> str:
    """Feed text made inert for Slack mrkdwn (no links, mentions, formatting from the feed)."""
    return clean_line(text, limit).translate(_SLACK_MAP)


def _slack_link(url: str, label: str) -> str:
    safe = _safe_url(url)
    if safe is None:
        return slack_text(label)
    target = safe.replace("|", "%7C").replace(">", "%3E").replace("<", "%3C")
    return f"<{target}|{slack_text(label)}>"


# -- one story --------------------------------------------------------------------------------------


def _html_link(url: str, label: str) -> str:
    safe = _safe_url(url)
    if safe is None:
        return html.escape(label)
    return f'<a href="{html.escape(safe, quote=True)}">{html.escape(label)}</a>'


def _story_html(alert: StoryAlert, *, heading: str = "h2") -> str:
    why = format_evidence(alert.evidence, alert.topics)
    parts = [
        f"<{heading}>{_html_link(alert.url, clean_line(alert.title))}</{heading}>",
        f"<p><b>Source:</b> {html.escape(clean_line(alert.source, 120))} · <b>Date:</b> "
        f"{html.escape(_date(alert.published))} · <b>Topics:</b> {html.escape(', '.join(alert.topics))}</p>",
        f"<p>{html.escape(alert.summary)}</p>",
        f"<p><b>Link:</b> {_html_link(alert.url, alert.url)}</p>",
    ]
    if why:
        parts.append(f"<p><b>Why:</b> {html.escape(why)}</p>")
    if alert.other_sources:
        items = "".join(
            f"<li>{html.escape(clean_line(s.source, 120))}: {_html_link(s.url, clean_line(s.title or s.url))}</li>"
            for s in alert.other_sources
        )
        parts.append(f"<p><b>Also reported by:</b></p><ul>{items}</ul>")
    return "\n".join(parts)


def _story_text(alert: StoryAlert) -> str:
    why = format_evidence(alert.evidence, alert.topics)
    lines = [
        clean_line(alert.title),
        f"Source: {clean_line(alert.source, 120)} · Date: {_date(alert.published)} · Topics: {', '.join(alert.topics)}",
        "",
        alert.summary,
        "",
        f"Link: {alert.url}",
    ]
    if why:
        lines.append(f"Why: {why}")
    if alert.other_sources:
        lines.append("Also reported by:")
        lines.extend(f"  - {clean_line(s.source, 120)}: {_safe_url(s.url) or clean_line(s.title)}"
                     for s in alert.other_sources)
    return "\n".join(lines)


def _story_slack(alert: StoryAlert) -> str:
    why = format_evidence(alert.evidence, alert.topics)
    lines = [
        f"*{_slack_link(alert.url, clean_line(alert.title))}*",
        f"_{slack_text(alert.source, 120)}_ · {_date(alert.published)} · {', '.join(alert.topics)}",
        slack_text(alert.summary, 600),
    ]
    if why:
        lines.append(f"Why: {slack_text(why, 600)}")
    if alert.other_sources:
        lines.append("Also reported by: " + ", ".join(
            _slack_link(s.url, clean_line(s.source, 80)) for s in alert.other_sources
        ))
    return "\n".join(lines)


def render_alert(alert: StoryAlert) -> Message:
    """One story: subject ``[newsmon] chip-export · <headline>``, body in HTML, text and Slack."""
    return Message(
        subject=_subject(alert.alert_topics or alert.topics, alert.title),
        html=f"<html><body>\n{_story_html(alert)}\n{_FOOTER_HTML}</body></html>",
        text=_story_text(alert) + "\n\n" + _FOOTER_TEXT,
        slack=_story_slack(alert),
    )


_FOOTER_TEXT = "— newsmon (newsmon alerts --jsonl lists every alert and its delivery)"
_FOOTER_HTML = f"<p><small>{html.escape(_FOOTER_TEXT)}</small></p>"


def render_digest(alerts: Sequence[StoryAlert], *, heading: str) -> Message:
    """Several stories in one message (a daily/weekly digest, or a burst over ``burst_limit``)."""
    topics = list(dict.fromkeys(t for a in alerts for t in (a.alert_topics or a.topics[:1])))
    subject = clean_line(f"{SUBJECT_PREFIX} {heading} · {len(alerts)} stories ({', '.join(topics)})", 250)
    html_body = "\n<hr>\n".join(_story_html(a, heading="h3") for a in alerts)
    text_body = "\n\n----\n\n".join(_story_text(a) for a in alerts)
    slack_body = "\n\n".join(_story_slack(a) for a in alerts)
    return Message(
        subject=subject,
        html=f"<html><body>\n<h2>{html.escape(heading)}: {len(alerts)} stories</h2>\n{html_body}\n"
             f"{_FOOTER_HTML}</body></html>",
        text=f"{heading}: {len(alerts)} stories\n\n{text_body}\n\n{_FOOTER_TEXT}",
        slack=f"*{slack_text(heading)}: {len(alerts)} stories*\n\n{slack_body}",
    )


def render_feed_health(event: FeedHealthEvent) -> Message:
    """``[newsmon] feed down · <feed>`` after N failed polls, ``feed recovered`` when it answers again."""
    name = clean_line(event.feed_name or event.feed_url, 120)
    if event.kind == "down":
        subject = clean_line(f"{SUBJECT_PREFIX} feed down · {name}", 250)
        lead = f"The feed {name} failed {event.failures} polls in a row."
        detail = f"Last error: {clean_line(event.error or 'unknown', 300)}"
    else:
        subject = clean_line(f"{SUBJECT_PREFIX} feed recovered · {name}", 250)
        lead = f"The feed {name} answers again."
        detail = f"Down since: {_date(event.since)}" if event.since else "It had been failing."
    text = f"{lead}\n{detail}\nFeed: {event.feed_url}\n\n{_FOOTER_TEXT}"
    return Message(
        subject=subject,
        html=f"<html><body><p>{html.escape(lead)}</p><p>{html.escape(detail)}</p>"
             f"<p>Feed: {_html_link(event.feed_url, event.feed_url)}</p>{_FOOTER_HTML}</body></html>",
        text=text,
        slack=f"*{slack_text(lead)}*\n{slack_text(detail)}\nFeed: {_slack_link(event.feed_url, event.feed_url)}",
    )


def render_test(now: datetime) -> Message:
    """The ``newsmon notify-test`` message."""
    line = f"newsmon test message, sent {_date(now)}. If you can read this, alerts will reach you here."
    return Message(
        subject=f"{SUBJECT_PREFIX} test message",
        html=f"<html><body><p>{html.escape(line)}</p></body></html>",
        text=line,
        slack=slack_text(line),
    )

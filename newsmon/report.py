"""``newsmon report``: one self-contained HTML page (pure: data in, HTML text out).

The page loads nothing: the chart is inline SVG drawn here, the style is inline CSS, and a
Content-Security-Policy forbids every fetch and every script, so it opens the same offline, from
an e-mail attachment or a file share. Everything that came from a feed or a page (titles, sources,
evidence, errors, URLs) is escaped; links are made only for http(s) URLs.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from storage.views import Activity, FeedStatus, StoryRow

__all__ = ["ReportData", "render_report"]

# colour-blind-safe palette (Okabe–Ito), then greys
_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#7f7f7f", "#b0b0b0")
_NO_TOPIC = "(no topic)"

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0 auto;max-width:1000px;
padding:1.5rem;color:#1d1d1f;background:#fff}
h1{font-size:1.6rem;margin:.2rem 0}h2{font-size:1.2rem;margin:2rem 0 .6rem;border-bottom:1px solid #ddd}
.muted{color:#666}.small{font-size:12px}table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #eee;vertical-align:top}
th{background:#f6f6f6}.num{text-align:right}.legend{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.9rem}
.sw{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;vertical-align:-1px}
.alert{border:1px solid #e3e3e3;border-radius:6px;padding:.6rem .8rem;margin:.6rem 0}
.tag{display:inline-block;background:#eef3fb;color:#0b4a8b;border-radius:3px;padding:0 .35rem;margin-right:.25rem;
font-size:12px}.state-ok{color:#1a7f37}.state-failing,.state-down{color:#b42318;font-weight:600}.state-new{color:#666}
svg text{font-size:11px;fill:#444}
"""


@dataclass(frozen=True, slots=True)
class ReportData:
    generated_at: datetime
    days: int
    topics: Sequence[str]  # the topic ids in their defined order
    activity: Activity
    alerts: Sequence[StoryRow]
    feeds: Sequence[FeedStatus]
    database: str  # masked database URL


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _link(url: str, label: str) -> str:
    if urlsplit(url).scheme in ("http", "https"):
        return f'<a href="{_e(url)}" rel="noopener noreferrer">{_e(label)}</a>'
    return _e(label)


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "never"


def _series(data: ReportData) -> list[tuple[str, str, list[int]]]:
    """(label, colour, counts) per topic in the chart, defined topics first, then others, then no topic."""
    per = data.activity.per_topic
    order = [t for t in data.topics if t in per] + sorted(t for t in per if t not in data.topics and t)
    if "" in per:
        order.append("")
    return [(t or _NO_TOPIC, _COLOURS[min(i, len(_COLOURS) - 1)] if t else "#c7c7c7", per[t])
            for i, t in enumerate(order)]


def _chart(data: ReportData) -> str:
    """Articles per topic per day: grouped-in-a-stack bars (an article with two topics counts in both)."""
    days = data.activity.days
    series = _series(data)
    width, height, left, bottom, top = 940, 280, 44, 46, 12
    plot_w, plot_h = width - left - 10, height - bottom - top
    stacked = [sum(s[2][i] for s in series) for i in range(len(days))]
    peak = max([*stacked, 1])
    step = max(1, -(-peak // 5))
    ticks = list(range(0, peak + step, step))
    scale = plot_h / ticks[-1]
    slot = plot_w / max(len(days), 1)
    bar_w = max(2.0, slot * 0.72)
    parts = [f'<svg id="chart-topics" role="img" aria-label="Articles per topic per day" '
             f'xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%">']
    for tick in ticks:
        y = top + plot_h - tick * scale
        parts.append(f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{tick}</text>')
    label_every = max(1, len(days) // 12)
    for i, day in enumerate(days):
        x = left + i * slot + (slot - bar_w) / 2
        y = top + plot_h
        for label, colour, counts in series:
            n = counts[i]
            if not n:
                continue
            h = n * scale
            y -= h
            parts.append(f'<rect class="bar" data-day="{_e(day)}" data-topic="{_e(label)}" data-count="{n}" '
                         f'x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{colour}">'
                         f"<title>{_e(day)} · {_e(label)}: {n}</title></rect>")
        if i % label_every == 0:
            parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{top + plot_h + 16}" text-anchor="middle">'
                         f"{_e(day[5:])}</text>")
    parts.append(f'<line x1="{left}" x2="{width - 10}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="#999"/>')
    parts.append("</svg>")
    legend = "".join(f'<li><span class="sw" style="background:{colour}"></span>{_e(label)} ({sum(counts)})</li>'
                     for label, colour, counts in series)
    return "".join(parts) + f'<ul class="legend">{legend}</ul>'


def _sources(data: ReportData) -> str:
    if not data.activity.top_sources:
        return '<p class="muted">No articles in this period.</p>'
    rows = "".join(f'<tr><td>{_e(src)}</td><td class="num">{n}</td></tr>' for src, n in data.activity.top_sources)
    return f"<table><tr><th>source</th><th class=\"num\">articles</th></tr>{rows}</table>"


def _alerts(data: ReportData) -> str:
    if not data.alerts:
        return '<p class="muted">No alerts in this period.</p>'
    out: list[str] = []
    for st in data.alerts:
        tags = "".join(f'<span class="tag">{_e(t)}</span>' for t in st.topics)
        evidence = "".join(f"<li><b>{_e(topic)}</b>: {_e(', '.join(phrases))}</li>"
                           for topic, phrases in (st.evidence or {}).items() if phrases)
        others = [s for s in st.sources if s.url != st.url]
        also = ", ".join(_link(s.url, s.source or s.url) for s in others)
        status = ", ".join(f"{n} {_e(k)}" for k, n in sorted((st.deliveries or {}).items()))
        out.append(
            f'<div class="alert"><div>{tags}<b>{_link(st.url, st.title)}</b></div>'
            f'<div class="small muted">{_e(st.source)} · alerted {_when(st.created_at)}'
            f"{' · deliveries: ' + status if status else ''}</div>"
            f"{'<div>Why it matched:<ul>' + evidence + '</ul></div>' if evidence else ''}"
            f"{'<div>Also reported by: ' + also + '</div>' if others else ''}</div>")
    return "".join(out)


def _feeds(data: ReportData) -> str:
    if not data.feeds:
        return '<p class="muted">No feeds configured.</p>'
    rows = []
    for f in sorted(data.feeds, key=lambda f: (f.state not in ("down", "failing"), f.name or f.url)):
        failing = (f"{f.consecutive_failures} in a row since {_when(f.failing_since)}: {_e(f.last_error)}"
                   if f.consecutive_failures else "")
        rows.append(f'<tr><td class="state-{_e(f.state)}">{_e(f.state)}</td><td>{_link(f.url, f.name or f.url)}</td>'
                    f'<td>{_when(f.last_success)}</td><td class="num">{f.items_seen}</td><td>{failing}</td></tr>')
    return ("<table><tr><th>state</th><th>feed</th><th>last success</th><th class=\"num\">articles</th>"
            f"<th>failures</th></tr>{''.join(rows)}</table>")


def render_report(data: ReportData) -> str:
    """The whole page."""
    total = sum(data.activity.totals)
    failing = sum(1 for f in data.feeds if f.state in ("failing", "down"))
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        "img-src data:\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>newsmon report · last {data.days} days</title><style>{_CSS}</style></head><body>"
        f"<h1>newsmon report</h1><p class=\"muted\">Last {data.days} days "
        f"({_e(data.activity.days[0])} – {_e(data.activity.days[-1])}), generated {_when(data.generated_at)} "
        f"from {_e(data.database)}.</p>"
        f"<p><b>{total}</b> articles · <b>{len(data.alerts)}</b> alerted stories · "
        f"<b>{failing}</b> of {len(data.feeds)} feeds failing</p>"
        f"<h2>Articles per topic per day</h2>{_chart(data)}"
        f"<h2>Top sources</h2>{_sources(data)}"
        f"<h2>Latest alerts</h2>{_alerts(data)}"
        f"<h2>Feed health</h2>{_feeds(data)}"
        "<p class=\"small muted\">Made by newsmon. This page loads nothing from the network.</p>"
        "</body></html>\n"
    )

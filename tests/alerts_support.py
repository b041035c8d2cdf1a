"""Helpers for the alert tests: settings, stored + classified articles, story texts, mail targets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from alerts.settings import AlertSettings, Route
from newsmon.config import Settings
from newsmon.models import Classification, ExtractedArticle
from storage import repo
from storage.db import Database

__all__ = [
    "NOW",
    "STORIES",
    "SlackSink",
    "add_article",
    "mail_url",
    "make_settings",
    "reword",
]

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

# Hand-written stories in the shape of the beat (not copied from any outlet).
STORIES: dict[str, tuple[str, str]] = {
    "entity": (
        "US adds 14 Chinese firms to Entity List over AI supercomputing",
        "WASHINGTON — The Commerce Department on Tuesday added 14 Chinese companies to the Entity List, "
        "saying they supplied advanced computing capacity to military research institutes in Tianjin and Wuxi.\n\n"
        "The Bureau of Industry and Security named Sugon-linked server assemblers, two cloud operators and a "
        "supercomputing centre among the additions. Suppliers now need a licence to ship them any item subject "
        "to US export rules, and applications face a presumption of denial.\n\n"
        "Officials said the firms had used clusters of restricted GPUs from SMIC-built designs to train models "
        "for weapons simulation. The Chinese embassy called the listing an abuse of state power.\n\n"
        "The additions bring the number of Chinese entities listed this year to more than 140.",
    ),
    "drones": (
        "US blacklists nine Chinese firms accused of supplying drone parts to Russia",
        "WASHINGTON — The Commerce Department on Thursday placed nine Chinese companies on the Entity List for "
        "shipping drone engines, flight controllers and thermal cameras to Russian buyers.\n\n"
        "The Bureau of Industry and Security said the companies, most of them trading houses in Shenzhen and "
        "Hong Kong, routed the parts through Kyrgyzstan and the United Arab Emirates. Exporters now need a "
        "licence to sell them US-origin goods.\n\n"
        "China's commerce ministry said it firmly opposed the move. Analysts said the listing had little to do "
        "with artificial intelligence chips but showed the agency widening its enforcement net.",
    ),
    "cloud": (
        "US proposes know-your-customer rule for cloud providers serving foreign AI developers",
        "The Commerce Department proposed on Monday that American cloud providers verify the identity of "
        "foreign customers who rent large amounts of computing power to train AI models.\n\n"
        "Under the draft, infrastructure-as-a-service companies such as Amazon Web Services, Microsoft Azure "
        "and Google Cloud would have to report training runs above a compute threshold of 10^26 operations "
        "and keep records of customer beneficial ownership.\n\n"
        "Officials said Chinese developers had used remote access to controlled Nvidia GPUs in overseas data "
        "centres to sidestep export rules. Industry groups warned that the rule would burden smaller resellers.",
    ),
}

_SPIN = {
    "companies": "corporations", "said": "stated", "added": "included", "saying": "stating",
    "supplied": "offered", "advanced": "superior", "computing": "computation", "capacity": "functionality",
    "military": "navy", "research": "analysis", "named": "recognized", "among": "amongst",
    "additions": "new entries", "Suppliers": "Distributors", "need": "require", "ship": "send",
    "applications": "purposes", "face": "encounter", "Officials": "Authorities", "firms": "corporations",
    "used": "utilized", "restricted": "limited", "train": "prepare", "models": "fashions",
    "called": "described", "listing": "itemizing", "bring": "convey", "number": "quantity",
    "more than": "greater than", "this year": "this yr",
}


def reword(text: str) -> str:
    """A spinner's rewrite, as in seeds 003/004 ("AI fashions", "corporations")."""
    for word, new in _SPIN.items():
        text = text.replace(word, new)
    return text


def make_settings(db_url: str, *, notify: Sequence[str] = (), routes: Sequence[Route] = (),
                  **alerts: Any) -> Settings:
    """Settings for a test: no feeds, the given targets, retries without back-off by default."""
    alerts.setdefault("retry_backoff", (0.0,))
    return Settings(database_url=db_url, feeds=(),
                    alerts=replace(AlertSettings(), notify=tuple(notify), routes=tuple(routes), **alerts))


def add_article(db: Database, *, url: str, title: str, text: str, topics: Sequence[str] = ("chip-export",),
                source: str = "Example Wire", origin: str = "feed", now: datetime = NOW,
                evidence: Mapping[str, Sequence[str]] | None = None) -> int:
    """Store and classify one article (as the flow does before calling enqueue_alerts)."""
    article = ExtractedArticle(url=url, title=title, text=text, published=now)
    with db.session() as s:
        article_id = repo.insert_article(
            s, repo.NewArticle(url=url, link=url, source=source, origin=origin, article=article), now=now
        )
        assert article_id is not None, f"{url} already stored"
        ev = evidence if evidence is not None else {t: ("Entity List", "Commerce Department") for t in topics}
        repo.set_classification(
            s, article_id,
            Classification(tuple(topics), {t: 0.9 for t in topics}, {k: tuple(v) for k, v in ev.items()}),
            now=now,
        )
    return article_id


def mail_url(port: int, to: str = "analyst@example.com") -> str:
    """An apprise mailto:// URL for the loopback SMTP sink (no TLS, no login)."""
    return f"mailto://127.0.0.1:{port}?from=newsmon@example.com&to={to}&mode=insecure"


class SlackSink:
    """A loopback stand-in for hooks.slack.com: records each POST and answers ``ok`` like Slack does
    (or the statuses queued in ``statuses``)."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.requests: list[tuple[str, dict[str, str], bytes]] = []  # (path, headers, body)
        self.statuses: list[int] = []
        self._lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with sink._lock:
                    sink.requests.append((self.path, dict(self.headers.items()), body))
                    status = sink.statuses.pop(0) if sink.statuses else 200
                reply = b"ok" if status == 200 else b"server_error"
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> SlackSink:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

"""Real servers for the tests, all on 127.0.0.1 with port 0: HTTP (feeds, pages, json:// sink), SMTP."""

from __future__ import annotations

import email
import email.policy
import gzip
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["LoopbackHTTP", "Route", "SMTPSink", "free_port"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Route:
    """What the server answers on one path."""

    body: bytes | Callable[[], bytes] = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None          # answer 304 when If-None-Match matches
    delay: float = 0.0               # seconds before answering
    gzip: bool = False
    redirect_to: str | None = None


class LoopbackHTTP:
    """A threaded HTTP server with routes set by the tests, and a log of what it received."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, str, dict[str, str]]] = []  # (method, path, headers)
        self.posts: dict[str, list[bytes]] = {}
        self.post_status: dict[str, list[int]] = {}  # per path: statuses to answer in turn, then 200
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def do_GET(self) -> None:
                server._get(self)

            def do_POST(self) -> None:
                server._post(self)

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                import sys

                if isinstance(sys.exc_info()[1], ConnectionError):
                    return  # the client gave up (a timeout test): expected
                super().handle_error(request, client_address)

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = int(self.httpd.server_address[1])
        self.base = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> LoopbackHTTP:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def url(self, path: str) -> str:
        return self.base + path

    def add(self, path: str, body: bytes | str | Callable[[], bytes] = b"", **kw: Any) -> str:
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.routes[path] = Route(body=data, **kw)
        return self.url(path)

    def reset(self) -> None:
        with self._lock:
            self.routes.clear()
            self.requests.clear()
            self.posts.clear()
            self.post_status.clear()

    def hits(self, path: str) -> int:
        with self._lock:
            return sum(1 for _, p, _ in self.requests if p == path)

    def _get(self, h: BaseHTTPRequestHandler) -> None:
        path = h.path
        with self._lock:
            self.requests.append(("GET", path, dict(h.headers.items())))
        route = self.routes.get(path)
        if route is None:
            self._send(h, 404, b"not found", "text/plain")
            return
        if route.delay:
            time.sleep(route.delay)
        if route.redirect_to:
            h.send_response(302)
            h.send_header("Location", route.redirect_to)
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        if route.etag and h.headers.get("If-None-Match") == route.etag:
            h.send_response(304)
            h.send_header("ETag", route.etag)
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        body = route.body() if callable(route.body) else route.body
        headers = dict(route.headers)
        if route.etag:
            headers["ETag"] = route.etag
        if route.gzip:
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        self._send(h, route.status, body, route.content_type, headers)

    def _post(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        data = h.rfile.read(length)
        with self._lock:
            self.requests.append(("POST", h.path, dict(h.headers.items())))
            queue = self.post_status.get(h.path) or []
            status = queue.pop(0) if queue else 200
            if status < 400:
                self.posts.setdefault(h.path, []).append(data)
        self._send(h, status, b"{}", "application/json")

    def json_posts(self, path: str) -> list[dict[str, Any]]:
        with self._lock:
            return [json.loads(x) for x in self.posts.get(path, [])]

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, status: int, body: bytes, ctype: str,
              headers: dict[str, str] | None = None) -> None:
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(body)


class SMTPSink:
    """A real SMTP server (aiosmtpd) on loopback that keeps every message it accepts.

    ``refuse_next(n)`` makes it answer the next ``n`` DATA commands with a 451 temporary failure.
    """

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[EmailMessage] = []
        self.refusals = 0
        self._lock = threading.Lock()
        sink = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                with sink._lock:
                    if sink.refusals > 0:
                        sink.refusals -= 1
                        return "451 4.3.0 temporary failure, try again later"
                    msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
                    sink.messages.append(msg)
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def start(self) -> SMTPSink:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def refuse_next(self, n: int) -> None:
        with self._lock:
            self.refusals = n

    def reset(self) -> None:
        with self._lock:
            self.messages.clear()
            self.refusals = 0

    def subjects(self) -> list[str]:
        with self._lock:
            return [str(m["Subject"]) for m in self.messages]

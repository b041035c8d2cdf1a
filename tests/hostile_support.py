"""A raw TCP server on 127.0.0.1 for hostile HTTP behaviour that http.server cannot produce:
bytes dripped slowly (headers or body), stacked encodings, counted concurrency."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

__all__ = ["RawServer", "drip_body", "drip_headers", "http_response"]

Handler = Callable[[socket.socket, bytes], None]


class RawServer:
    """Accepts connections and hands each (socket, request head) to ``handler`` in a thread."""

    def __init__(self, handler: Handler, host: str = "127.0.0.1") -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(64)
        self.port = int(self.sock.getsockname()[1])
        self.base = f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"
        self.handler = handler
        self.stopped = threading.Event()
        self.active = 0
        self.max_active = 0
        self.requests = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> RawServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.sock.close()

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        with self._lock:
            self.active += 1
            self.requests += 1
            self.max_active = max(self.max_active, self.active)
        try:
            conn.settimeout(30)
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                head += chunk
            self.handler(conn, head)
        except OSError:
            pass  # the client gave up (what a timeout test wants)
        finally:
            with self._lock:
                self.active -= 1
            conn.close()


def http_response(body: bytes, headers: dict[str, str] | None = None, status: str = "200 OK") -> bytes:
    lines = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def drip_body(interval: float, total: float) -> Handler:
    """Headers at once, then one body byte every ``interval`` s for ``total`` s (never the whole body)."""

    def handler(conn: socket.socket, head: bytes) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: 100000\r\n\r\n")
        end = time.monotonic() + total
        while time.monotonic() < end:
            conn.sendall(b" ")
            time.sleep(interval)

    return handler


def drip_headers(interval: float, total: float) -> Handler:
    """The status line and then header bytes, one every ``interval`` s (headers never end)."""

    def handler(conn: socket.socket, head: bytes) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
        end = time.monotonic() + total
        while time.monotonic() < end:
            conn.sendall(b"a")
            time.sleep(interval)

    return handler

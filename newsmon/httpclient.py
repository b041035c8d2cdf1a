"""The one HTTP client newsmon fetches with (feeds and pages).

Built from ``[fetch]``: a timeout per request, a byte cap (larger bodies are cut off and refused,
decompressed size counts), a redirect limit, conditional GET (ETag / Last-Modified) and the
private-address rule: links found inside feeds that resolve to loopback, private, link-local or
otherwise non-public addresses are refused unless ``allow_private_networks = true``; URLs the user
gave (feeds, backfill lists) are fetched wherever they point. Each redirect hop is checked again.

Only this module imports httpx; its exceptions are translated here into :mod:`newsmon.errors`.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from extractors.urls import unfollowable_reason
from newsmon.config import FetchSettings
from newsmon.errors import (
    BlockedAddress,
    FetchError,
    FetchTimeout,
    HTTPStatusFailure,
    ResponseTooLarge,
    TooManyRedirects,
    UnsupportedContent,
)
from newsmon.models import FetchedPage

__all__ = ["HttpClient", "is_public_address"]

log = logging.getLogger(__name__)

_REDIRECTS = {301, 302, 303, 307, 308}
_HTML_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "application/xml", "text/xml")
_FEED_TYPES = (
    "xml", "rss", "atom", "text/html", "text/plain", "application/octet-stream", "application/json",
)
_RETRY_DELAYS = (0.5, 2.0)  # in-run retries of transient failures (timeouts, 5xx, 429)
_PER_HOST = 4
# name-resolution failures: retrying within the run does not help; the next cycle tries again
_DNS_FAILURES = ("Name or service not known", "Temporary failure in name resolution", "nodename nor servname")


_SocketOption = tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]


class _NonPublicAddress(Exception):
    """Raised inside the connection pool when a host resolves to a non-public address."""

    def __init__(self, host: str, ip: str) -> None:
        self.host = host
        self.ip = ip
        super().__init__(f"{host} resolves to non-public address {ip}")


class _PublicOnlyBackend(httpcore.NetworkBackend):
    """Resolve once, refuse non-public addresses, and connect to exactly the address checked.

    Checking an address and then letting the socket library resolve the name again leaves a
    window (DNS rebinding): the second answer can be 127.0.0.1. Here the check and the connect use
    the same answer; TLS still verifies the certificate against the host name (httpcore passes
    it as the server name).
    """

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
        socket_options: Iterable[_SocketOption] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        for ip in addresses:
            if not is_public_address(ip):
                raise _NonPublicAddress(host, ip)
        failure: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        for ip in addresses:
            try:
                return self._inner.connect_tcp(ip, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        if failure is None:
            raise httpcore.ConnectError(f"no address for host {host!r}")
        raise failure

    def connect_unix_socket(
        self, path: str, timeout: float | None = None,
        socket_options: Iterable[_SocketOption] | None = None,
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are never used for links from feeds")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _PublicOnlyTransport(httpx.HTTPTransport):
    """httpx's transport with its connection pool built on :class:`_PublicOnlyBackend`."""

    def __init__(self, limits: httpx.Limits) -> None:
        super().__init__(limits=limits)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_PublicOnlyBackend(),
        )


def is_public_address(ip: str) -> bool:
    """True when ``ip`` is a globally routable unicast address."""
    addr = ipaddress.ip_address(ip)
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return bool(addr.is_global) and not addr.is_multicast


@dataclass(frozen=True, slots=True)
class _Policy:
    trusted: bool  # the user gave this URL: no private-address check


class HttpClient:
    """Fetch feeds and pages with the limits of ``[fetch]``. Thread-safe; use as a context manager."""

    def __init__(self, settings: FetchSettings, *, retry_delays: tuple[float, ...] = _RETRY_DELAYS) -> None:
        self.settings = settings
        self.retry_delays = retry_delays
        limits = httpx.Limits(max_connections=max(4, settings.concurrency * 2))
        options: dict[str, Any] = {
            "timeout": httpx.Timeout(settings.timeout),
            "follow_redirects": False,
            "headers": {"User-Agent": settings.user_agent, "Accept-Encoding": "gzip, deflate"},
            "trust_env": False,
        }
        # URLs the user gave (feeds, backfill lists) go anywhere; links found inside feeds go
        # through a pool that connects only to public addresses, checked at connect time.
        self._client = httpx.Client(limits=limits, **options)
        self._public_client = (
            self._client if settings.allow_private_networks
            else httpx.Client(transport=_PublicOnlyTransport(limits), **options)
        )
        self._host_slots: defaultdict[str, threading.BoundedSemaphore] = defaultdict(
            lambda: threading.BoundedSemaphore(_PER_HOST)
        )
        self._lock = threading.Lock()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()
        if self._public_client is not self._client:
            self._public_client.close()

    # -- public API ---------------------------------------------------------------------------

    def fetch_feed(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchedPage:
        """GET a feed the user configured, with conditional-GET validators.

        Returns a page with status 304 and an empty body when the feed has not changed.
        """
        headers = {"Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.5"}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        page = self._get_with_retries(url, headers, _Policy(trusted=True))
        if page.status != 304:
            _check_type(page, _FEED_TYPES)
        return page

    def fetch_page(self, url: str, *, trusted: bool = False) -> FetchedPage:
        """GET an article page. ``trusted`` = the user gave this URL (a backfill list).

        Links known to need the site's JavaScript (Google News) fail at once, with a reason.
        """
        unfollowable = unfollowable_reason(url)
        if unfollowable:
            raise FetchError(url, unfollowable)
        headers = {"Accept": "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"}
        page = self._get_with_retries(url, headers, _Policy(trusted=trusted))
        _check_type(page, _HTML_TYPES)
        return page

    # -- internals ----------------------------------------------------------------------------

    def _get_with_retries(self, url: str, headers: dict[str, str], policy: _Policy) -> FetchedPage:
        for attempt, delay in enumerate((*self.retry_delays, None)):
            try:
                return self._get(url, headers, policy)
            except FetchError as exc:
                if not exc.transient or delay is None:
                    raise
                log.info("retrying %s in %.1fs after attempt %d: %s", url, delay, attempt + 1, exc.reason)
                time.sleep(delay)
        raise AssertionError("unreachable")

    def _get(self, url: str, headers: dict[str, str], policy: _Policy) -> FetchedPage:
        current = url
        for _hop in range(self.settings.max_redirects + 1):
            self._guard(current, policy)
            with self._slot(current), self._stream(current, headers, policy) as response:
                if response.status_code in _REDIRECTS and "location" in response.headers:
                    current = urljoin(current, response.headers["location"])
                    continue
                if response.status_code == 304:
                    return FetchedPage(url, current, 304, b"", "", dict(response.headers))
                if response.status_code >= 400:
                    raise HTTPStatusFailure(url, response.status_code)
                body = self._read_capped(url, response)
                return FetchedPage(
                    url=url,
                    final_url=current,
                    status=response.status_code,
                    body=body,
                    content_type=response.headers.get("content-type", ""),
                    headers=dict(response.headers),
                )
        raise TooManyRedirects(url, f"more than {self.settings.max_redirects} redirects")

    @contextmanager
    def _slot(self, url: str) -> Iterator[None]:
        host = urlsplit(url).hostname or ""
        with self._lock:
            sem = self._host_slots[host]
        with sem:
            yield

    @contextmanager
    def _stream(self, url: str, headers: dict[str, str], policy: _Policy) -> Iterator[httpx.Response]:
        client = self._client if policy.trusted else self._public_client
        try:
            with client.stream("GET", url, headers=headers) as response:
                yield response
        except _NonPublicAddress as exc:
            raise _blocked(url, exc.ip) from exc
        except httpx.TimeoutException as exc:
            raise FetchTimeout(url, f"no answer within {self.settings.timeout:g}s") from exc
        except httpx.InvalidURL as exc:
            raise FetchError(url, f"invalid URL: {exc}") from exc
        except httpx.UnsupportedProtocol as exc:
            raise FetchError(url, "only http:// and https:// URLs can be fetched") from exc
        except httpx.TooManyRedirects as exc:
            raise TooManyRedirects(url, str(exc)) from exc
        except httpx.DecodingError as exc:
            raise FetchError(url, f"cannot decode the response body: {exc}") from exc
        except httpx.TransportError as exc:
            text = str(exc) or type(exc).__name__
            if any(marker in text for marker in _DNS_FAILURES):
                host = urlsplit(url).hostname
                raise FetchError(url, f"cannot resolve host {host!r} (no DNS or no network?)") from exc
            err = FetchError(url, f"connection failed: {text}")
            err.transient = True
            raise err from exc

    def _read_capped(self, url: str, response: httpx.Response) -> bytes:
        limit = self.settings.max_bytes
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit and not response.headers.get(
            "content-encoding"
        ):
            raise ResponseTooLarge(url, limit)
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limit:
                    raise ResponseTooLarge(url, limit)
                chunks.append(chunk)
        except httpx.TimeoutException as exc:
            raise FetchTimeout(url, f"body not received within {self.settings.timeout:g}s") from exc
        except httpx.DecodingError as exc:
            raise FetchError(url, f"cannot decode the response body: {exc}") from exc
        except httpx.TransportError as exc:
            raise FetchError(url, f"connection broke while reading: {exc}") from exc
        return b"".join(chunks)

    def _guard(self, url: str, policy: _Policy) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchError(url, "only http:// and https:// URLs with a host can be fetched")
        if "\\" in url or "@" in parts.netloc:
            raise BlockedAddress(url, "URLs with credentials or backslashes are refused")
        if policy.trusted or self.settings.allow_private_networks:
            return
        literal = _ip_literal(parts.hostname)
        if literal is not None and not is_public_address(literal):
            raise _blocked(url, literal)  # no need to connect to know; names are checked at connect


def _ip_literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return None


def _blocked(url: str, ip: str) -> BlockedAddress:
    return BlockedAddress(
        url,
        f"resolves to non-public address {ip}; refused (set [fetch] "
        "allow_private_networks = true to allow links to private networks)",
    )


def _check_type(page: FetchedPage, allowed: tuple[str, ...]) -> None:
    ctype = page.content_type.split(";")[0].strip().lower()
    if ctype and not any(a in ctype for a in allowed):
        raise UnsupportedContent(page.url, f"content type {ctype!r} is not HTML or XML; skipped")
    head = page.body[:512].lstrip()
    if _looks_binary(head):
        raise UnsupportedContent(page.url, "the body is binary (not HTML or XML text); skipped")


def _looks_binary(head: bytes) -> bool:
    magic = (b"%PDF", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"PK\x03\x04", b"\x1f\x8b")
    if head.startswith(magic):
        return True
    return b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff"))

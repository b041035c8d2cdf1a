"""The one HTTP client newsmon fetches with (feeds and pages).

Built from ``[fetch]``. Every fetch is bounded:

- **time**: one deadline of ``timeout`` seconds covers connect, headers, every body read and every
  redirect hop of one attempt; a watchdog shuts the socket down when it passes, so a server that
  drips a byte a second cannot hold a fetch longer than the deadline. A fetch that ran out of time
  is not retried within the run (the next cycle tries again).
- **memory**: the body is read raw and decoded here, layer by layer (``Content-Encoding: gzip, gzip``
  too), with ``max_bytes`` enforced *while* inflating (:mod:`newsmon.decoding`).
- **addresses**: links found inside feeds that resolve to loopback, private, link-local or otherwise
  non-public addresses (IPv4 embedded in IPv6 included: mapped, compatible, NAT64 ``64:ff9b::/96``,
  6to4 ``2002::/16``) are refused unless ``allow_private_networks = true``, checked at connect time
  (no DNS-rebinding window). URLs the user gave (feeds, backfill lists, ``newsmon extract``) are
  fetched wherever they point, and so is a redirect that stays on the host the user named; a redirect
  from a user-given URL to *another* host is checked like a link from a feed. Every hop is checked.
- **politeness**: at most ``per_host`` requests in flight per host in this process; a 429 (or 503)
  with ``Retry-After`` is not retried in the run, and the host is left alone until then — through the
  :class:`HostGate` given (the cycle's gate records it in the database, so every process honours it).

Only this module imports httpx; its exceptions are translated here into :mod:`newsmon.errors`.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import socket
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpcore
import httpx

from extractors.urls import join_url, split_url, unfollowable_reason
from newsmon.config import FetchSettings
from newsmon.decoding import DecodedTooLarge, StackedDecoder, UnsupportedEncoding
from newsmon.errors import (
    BlockedAddress,
    FetchError,
    FetchTimeout,
    HostBackingOff,
    HTTPStatusFailure,
    InvalidURL,
    ResponseTooLarge,
    TooManyRedirects,
    UnsupportedContent,
)
from newsmon.models import FetchedPage

__all__ = ["HostGate", "HttpClient", "MemoryHostGate", "is_public_address", "parse_retry_after"]

log = logging.getLogger(__name__)

_REDIRECTS = {301, 302, 303, 307, 308}
_HTML_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "application/xml", "text/xml")
_FEED_TYPES = (
    "xml", "rss", "atom", "text/html", "text/plain", "application/octet-stream", "application/json",
)
_RETRY_DELAYS = (0.5, 2.0)  # in-run retries of transient failures (timeouts, 5xx, 429)
DEFAULT_BACKOFF = 60.0  # seconds to leave a host alone after a 429 without a usable Retry-After
MAX_BACKOFF = 86_400.0  # a Retry-After further away than a day is capped
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


_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def _embedded_ipv4(addr: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, compatible, NAT64, 6to4), if any."""
    if addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    if addr.sixtofour is not None:
        return addr.sixtofour
    if addr in _NAT64 or addr in _IPV4_COMPATIBLE:
        return ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
    return None


def is_public_address(ip: str) -> bool:
    """True when ``ip`` is a globally routable unicast address.

    An IPv6 address that embeds an IPv4 address (``::ffff:a.b.c.d``, ``::a.b.c.d``, NAT64
    ``64:ff9b::a.b.c.d``, 6to4 ``2002:aabb:ccdd::``) is public only if the IPv4 address is; the
    local-use NAT64 prefix ``64:ff9b:1::/48`` never is.
    """
    addr = ipaddress.ip_address(ip.split("%", 1)[0])
    if isinstance(addr, ipaddress.IPv6Address):
        if addr in _NAT64_LOCAL or addr.teredo is not None:
            return False
        inner = _embedded_ipv4(addr)
        if inner is not None:
            return bool(inner.is_global) and not inner.is_multicast and int(inner) != 0
    return bool(addr.is_global) and not addr.is_multicast


class HostGate(Protocol):
    """Where hosts that asked us to wait (429/503 + Retry-After) are remembered."""

    def blocked_until(self, host: str, now: datetime) -> datetime | None:
        """The time before which ``host`` must not be fetched, if it is in the future."""
        ...

    def back_off(self, host: str, until: datetime, reason: str) -> None:
        """Remember that ``host`` asked us to wait until ``until``."""
        ...


class MemoryHostGate:
    """A :class:`HostGate` for one process (``newsmon extract``, tests)."""

    def __init__(self) -> None:
        self._until: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def blocked_until(self, host: str, now: datetime) -> datetime | None:
        with self._lock:
            until = self._until.get(host)
        return until if until is not None and until > now else None

    def back_off(self, host: str, until: datetime, reason: str) -> None:
        with self._lock:
            if host not in self._until or self._until[host] < until:
                self._until[host] = until


def parse_retry_after(value: str | None, now: datetime) -> datetime:
    """When a 429/503's ``Retry-After`` (seconds or HTTP date) expires; a default when absent or bad.

    Capped at :data:`MAX_BACKOFF` seconds from ``now``.
    """
    delay = DEFAULT_BACKOFF
    text = (value or "").strip()
    if text.isdigit():
        delay = float(text[:9])
    elif text:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            when = None
        if when is not None:
            when = when if when.tzinfo else when.replace(tzinfo=UTC)
            delay = (when - now).total_seconds()
    return now + timedelta(seconds=min(max(delay, 0.0), MAX_BACKOFF))


class _Deadline:
    """One attempt's total time budget; at the end a watchdog shuts the socket down.

    The socket is learnt from httpcore's ``trace`` extension as soon as the connection is made (no
    keep-alive, so every request makes its own), so even a stall in the headers is cut off.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = float("inf")
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def start(self) -> None:
        """Start the clock (once): when the first request may go out, not while waiting for a host slot."""
        if self.at == float("inf"):
            self.at = time.monotonic() + self.seconds
            self._timer.start()

    def remaining(self) -> float:
        return max(0.001, min(self.seconds, self.at - time.monotonic()))

    def trace(self, name: str, info: dict[str, Any]) -> None:
        if name.endswith("connect_tcp.complete"):
            stream = info.get("return_value")
            sock = stream.get_extra_info("socket") if stream is not None else None
            if isinstance(sock, socket.socket):
                with self._lock:
                    self._sockets.append(sock)
                    fired = self.expired
                if fired:
                    _shutdown(sock)

    def _fire(self) -> None:
        with self._lock:
            self.expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shutdown(sock)

    def check(self) -> None:
        if self.expired or time.monotonic() >= self.at:
            self.expired = True
            raise _DeadlinePassed()

    def cancel(self) -> None:
        self._timer.cancel()


class _DeadlinePassed(Exception):
    """Internal: the attempt's deadline passed."""


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed: nothing left to interrupt
        sock.shutdown(socket.SHUT_RDWR)


@dataclass(frozen=True, slots=True)
class _Policy:
    trusted: bool  # the user gave this URL: no private-address check


class HttpClient:
    """Fetch feeds and pages with the limits of ``[fetch]``. Thread-safe; use as a context manager.

    ``gate`` remembers hosts that asked us to wait (default: this process only).
    """

    def __init__(
        self, settings: FetchSettings, *, retry_delays: tuple[float, ...] = _RETRY_DELAYS,
        gate: HostGate | None = None,
    ) -> None:
        self.settings = settings
        self.retry_delays = retry_delays
        self.gate: HostGate = gate if gate is not None else MemoryHostGate()
        # no keep-alive: each request makes its own connection, so the deadline's watchdog always
        # knows the socket to shut down (a reused connection is not announced by httpcore's trace)
        limits = httpx.Limits(max_connections=max(4, settings.concurrency * 2), max_keepalive_connections=0)
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
            lambda: threading.BoundedSemaphore(max(1, settings.per_host))
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
        if etag and _header_safe(etag):
            headers["If-None-Match"] = etag
        if last_modified and _header_safe(last_modified):
            headers["If-Modified-Since"] = last_modified
        page = self._get_with_retries(url, headers, _Policy(trusted=True))
        if page.status != 304:
            _check_type(page, _FEED_TYPES)
        return page

    def fetch_page(self, url: str, *, trusted: bool = False) -> FetchedPage:
        """GET an article page. ``trusted`` = the user gave this URL (a backfill list).

        Links known to need the site's JavaScript (Google News) fail at once, with a reason.
        """
        _parse_or_fail(url)
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
                # not retried in the run: a host that asked us to wait, and a fetch that used up its
                # whole deadline (a slow server stays slow; the next cycle tries again)
                in_run = (exc.transient and not isinstance(exc, HostBackingOff | FetchTimeout)
                          and not getattr(exc, "backed_off", False))
                if not in_run or delay is None:
                    raise
                log.info("retrying %s in %.1fs after attempt %d: %s", url, delay, attempt + 1, exc.reason)
                time.sleep(delay)
        raise AssertionError("unreachable")

    def _get(self, url: str, headers: dict[str, str], policy: _Policy) -> FetchedPage:
        deadline = _Deadline(self.settings.timeout)
        try:
            return self._get_hops(url, headers, policy, deadline)
        except _DeadlinePassed as exc:
            raise FetchTimeout(url, f"no answer within {self.settings.timeout:g}s "
                                    "(one deadline for connect, headers and body together)") from exc
        finally:
            deadline.cancel()

    def _get_hops(self, url: str, headers: dict[str, str], policy: _Policy, deadline: _Deadline) -> FetchedPage:
        current = url
        origin_host = _host_of(url)
        hop_policy = policy
        for _hop in range(self.settings.max_redirects + 1):
            self._guard(current, hop_policy)
            self._check_gate(url, current)
            with self._slot(current):
                deadline.start()
                page = self._hop(url, current, headers, hop_policy, deadline)
            if isinstance(page, FetchedPage):
                return page
            current = page
            if policy.trusted and _host_of(current) != origin_host:
                # the user named a host, not wherever it points to: another host is checked
                hop_policy = _Policy(trusted=False)
        raise TooManyRedirects(url, f"more than {self.settings.max_redirects} redirects")

    def _hop(
        self, url: str, current: str, headers: dict[str, str], policy: _Policy, deadline: _Deadline
    ) -> FetchedPage | str:
        """One request: the page, or the URL a redirect points to."""
        with self._stream(current, headers, policy, deadline) as response:
            if response.status_code in _REDIRECTS and "location" in response.headers:
                try:
                    return join_url(current, response.headers["location"])
                except InvalidURL as exc:
                    raise FetchError(url, f"redirect to an invalid URL: {exc.reason}") from exc
            if response.status_code == 304:
                return FetchedPage(url, current, 304, b"", "", dict(response.headers))
            if response.status_code >= 400:
                failure = HTTPStatusFailure(url, response.status_code)
                failure.backed_off = self._note_backoff(current, response)  # type: ignore[attr-defined]
                raise failure
            body = self._read_capped(url, response, deadline)
            return FetchedPage(
                url=url,
                final_url=current,
                status=response.status_code,
                body=body,
                content_type=response.headers.get("content-type", ""),
                headers=dict(response.headers),
            )

    def _check_gate(self, url: str, current: str) -> None:
        host = _host_of(current)
        until = self.gate.blocked_until(host, datetime.now(UTC))
        if until is not None:
            raise HostBackingOff(url, f"{host} asked us to wait (429/503 Retry-After) until "
                                      f"{until.isoformat(timespec='seconds')}; not fetched")

    def _note_backoff(self, current: str, response: httpx.Response) -> bool:
        """On 429 (or 503 with Retry-After) tell the gate to leave the host alone; True if so."""
        status = response.status_code
        if status == 429 or (status == 503 and "retry-after" in response.headers):
            now = datetime.now(UTC)
            until = parse_retry_after(response.headers.get("retry-after"), now)
            host = _host_of(current)
            log.warning("%s answered %d; leaving it alone until %s", host, status,
                        until.isoformat(timespec="seconds"))
            self.gate.back_off(host, until, f"HTTP {status}")
            return True
        return False

    @contextmanager
    def _slot(self, url: str) -> Iterator[None]:
        host = _host_of(url)
        with self._lock:
            sem = self._host_slots[host]
        with sem:
            yield

    @contextmanager
    def _stream(
        self, url: str, headers: dict[str, str], policy: _Policy, deadline: _Deadline
    ) -> Iterator[httpx.Response]:
        client = self._client if policy.trusted else self._public_client
        deadline.check()
        timeout = httpx.Timeout(min(self.settings.timeout, deadline.remaining()))
        try:
            with client.stream("GET", url, headers=headers, timeout=timeout,
                               extensions={"trace": deadline.trace}) as response:
                yield response
        except _NonPublicAddress as exc:
            raise _blocked(url, exc.ip) from exc
        except httpx.TimeoutException as exc:
            deadline.check()
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
            deadline.check()  # the watchdog shut the socket down: a timeout, not a broken server
            text = str(exc) or type(exc).__name__
            if any(marker in text for marker in _DNS_FAILURES):
                host = _host_of(url)
                raise FetchError(url, f"cannot resolve host {host!r} (no DNS or no network?)") from exc
            err = FetchError(url, f"connection failed: {text}")
            err.transient = True
            raise err from exc

    def _read_capped(self, url: str, response: httpx.Response, deadline: _Deadline) -> bytes:
        """The body, decoded here layer by layer with ``max_bytes`` enforced while inflating."""
        limit = self.settings.max_bytes
        encoding = response.headers.get("content-encoding", "")
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit and not encoding:
            raise ResponseTooLarge(url, limit)
        try:
            decoder = StackedDecoder(encoding, limit)
        except UnsupportedEncoding as exc:
            raise UnsupportedContent(url, str(exc)) from exc
        chunks: list[bytes] = []
        raw_size = 0
        try:
            for raw in response.iter_raw():
                deadline.check()
                raw_size += len(raw)
                if raw_size > limit + limit // 50 + 65536:
                    raise ResponseTooLarge(url, limit)
                chunks.extend(decoder.feed(raw))
            chunks.extend(decoder.finish())
            deadline.check()
        except DecodedTooLarge as exc:
            raise ResponseTooLarge(url, limit) from exc
        except UnsupportedEncoding as exc:
            raise FetchError(url, f"cannot decode the response body: {exc}") from exc
        except httpx.TimeoutException as exc:
            deadline.check()
            raise FetchTimeout(url, f"body not received within {self.settings.timeout:g}s") from exc
        except httpx.DecodingError as exc:
            raise FetchError(url, f"cannot decode the response body: {exc}") from exc
        except httpx.TransportError as exc:
            deadline.check()
            raise FetchError(url, f"connection broke while reading: {exc}") from exc
        return b"".join(chunks)

    def _guard(self, url: str, policy: _Policy) -> None:
        parts = _parse_or_fail(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchError(url, "only http:// and https:// URLs with a host can be fetched")
        if "\\" in url or "@" in parts.netloc:
            raise BlockedAddress(url, "URLs with credentials or backslashes are refused")
        if policy.trusted or self.settings.allow_private_networks:
            return
        literal = _ip_literal(parts.hostname)
        if literal is not None and not is_public_address(literal):
            raise _blocked(url, literal)  # no need to connect to know; names are checked at connect


def _parse_or_fail(url: str) -> Any:
    try:
        return split_url(url)
    except InvalidURL as exc:
        raise FetchError(url, exc.reason) from exc


def _host_of(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def _header_safe(value: str) -> bool:
    """A stored validator we can send back (short, printable ASCII, no CR/LF)."""
    return len(value) <= 1024 and value.isascii() and value.isprintable()


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

"""The HTTP client against a real loopback server: limits, conditional GET, the address rule."""

from __future__ import annotations

import gzip
import socket
from typing import Any

import pytest

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
from newsmon.httpclient import HttpClient, is_public_address
from tests.support import LoopbackHTTP

PAGE = "<html><head><title>t</title></head><body><p>Hello world.</p></body></html>"


def client(**kw: object) -> HttpClient:
    settings = FetchSettings(**{"timeout": 2.0, "allow_private_networks": True, **kw})  # type: ignore[arg-type]
    return HttpClient(settings, retry_delays=(0.0, 0.0))


def test_conditional_get_returns_304_and_keeps_validators(http: LoopbackHTTP) -> None:
    url = http.add("/feed", "<rss version='2.0'><channel></channel></rss>",
                   content_type="application/rss+xml", etag='"v1"')
    with client() as c:
        first = c.fetch_feed(url)
        assert first.status == 200 and first.headers["etag"] == '"v1"'
        second = c.fetch_feed(url, etag='"v1"')
    assert second.status == 304 and second.body == b""
    assert http.requests[-1][2].get("If-None-Match") == '"v1"'
    assert "newsmon" in http.requests[-1][2].get("User-Agent", "")


def test_timeout_is_a_fetch_timeout(http: LoopbackHTTP) -> None:
    url = http.add("/slow", PAGE, delay=1.5)
    with client(timeout=0.3) as c, pytest.raises(FetchTimeout, match=r"no answer within 0\.3s"):
        c.fetch_page(url)


def test_body_over_max_bytes_is_cut_off_and_refused(http: LoopbackHTTP) -> None:
    url = http.add("/huge", b"<html>" + b"x" * 200_000)
    with client(max_bytes=50_000) as c, pytest.raises(ResponseTooLarge, match="max_bytes=50000"):
        c.fetch_page(url)


def test_decompressed_size_counts_against_the_cap(http: LoopbackHTTP) -> None:
    bomb = b"<html>" + b" " * 5_000_000
    url = http.add("/bomb", bomb, gzip=True)
    assert len(gzip.compress(bomb)) < 50_000
    with client(max_bytes=100_000) as c, pytest.raises(ResponseTooLarge):
        c.fetch_page(url)


def test_redirects_followed_up_to_the_limit(http: LoopbackHTTP) -> None:
    final = http.add("/final", PAGE)
    http.add("/r1", redirect_to="/final")
    for i in range(2, 6):
        http.add(f"/r{i}", redirect_to=f"/r{i - 1}")
    with client(max_redirects=3) as c:
        page = c.fetch_page(http.url("/r3"))
        assert page.final_url == final and b"Hello world" in page.body
        with pytest.raises(TooManyRedirects):
            c.fetch_page(http.url("/r5"))


def test_status_errors_transient_ones_retried(http: LoopbackHTTP) -> None:
    http.add("/gone", "no", status=404)
    http.add("/busy", "no", status=503)
    with client() as c:
        with pytest.raises(HTTPStatusFailure) as gone:
            c.fetch_page(http.url("/gone"))
        assert gone.value.status == 404 and not gone.value.transient
        with pytest.raises(HTTPStatusFailure) as busy:
            c.fetch_page(http.url("/busy"))
        assert busy.value.transient
    assert http.hits("/gone") == 1 and http.hits("/busy") == 3


@pytest.mark.parametrize(
    ("body", "ctype"),
    [(b"%PDF-1.7 binary", "application/pdf"), (b"\x89PNG\r\n\x1a\n\x00\x00", "text/html"),
     (b"GIF89a\x00\x00", "image/gif")],
)
def test_binary_content_refused_with_reason(http: LoopbackHTTP, body: bytes, ctype: str) -> None:
    url = http.add("/bin", body, content_type=ctype)
    with client() as c, pytest.raises(UnsupportedContent):
        c.fetch_page(url)


def test_links_from_feeds_to_private_addresses_are_refused(http: LoopbackHTTP) -> None:
    url = http.add("/page", PAGE)
    with client(allow_private_networks=False) as c:
        with pytest.raises(BlockedAddress, match="allow_private_networks"):
            c.fetch_page(url)
        for private in ("http://10.0.0.8/a", "http://169.254.169.254/latest/meta-data/",
                        "http://[::1]/a", "http://localhost/a"):
            with pytest.raises(BlockedAddress):
                c.fetch_page(private)
        # URLs the user gave (feeds, backfill lists) are fetched wherever they point
        assert c.fetch_page(url, trusted=True).status == 200
    assert http.hits("/page") == 1


def test_dns_rebinding_cannot_reach_a_private_address(http: LoopbackHTTP, monkeypatch: pytest.MonkeyPatch) -> None:
    """A name that answers public first and loopback next never gets a request to loopback."""
    http.add("/page", PAGE)
    real_getaddrinfo = socket.getaddrinfo
    answers = iter(["93.184.216.34"])  # the first answer is public, every later one is loopback

    def rebinding(host: str, port: Any, *args: Any, **kw: Any) -> list[Any]:
        if host == "rebind.example":
            return real_getaddrinfo(next(answers, "127.0.0.1"), port, *args, **kw)
        return real_getaddrinfo(host, port, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    with client(allow_private_networks=False, timeout=1.0) as c, pytest.raises(FetchError):
        c.fetch_page(f"http://rebind.example:{http.port}/page")
    assert http.hits("/page") == 0


def test_credentials_in_links_refused() -> None:
    with client() as c, pytest.raises(BlockedAddress):
        c.fetch_page("http://user:pw@127.0.0.1/a")


def test_connection_refused_is_a_fetch_error() -> None:
    with client() as c, pytest.raises(FetchError, match="connection failed"):
        c.fetch_feed("http://127.0.0.1:9/feed")


@pytest.mark.parametrize(
    ("ip", "public"),
    [("8.8.8.8", True), ("127.0.0.1", False), ("10.1.2.3", False), ("172.16.0.1", False),
     ("192.168.1.1", False), ("169.254.169.254", False), ("100.64.0.1", False), ("::1", False),
     ("fe80::1", False), ("fc00::1", False), ("::ffff:127.0.0.1", False), ("2606:4700::1111", True),
     ("224.0.0.1", False), ("0.0.0.0", False)],
)
def test_is_public_address(ip: str, public: bool) -> None:
    assert is_public_address(ip) is public

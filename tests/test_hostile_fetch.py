"""Every fetch bounded in time and memory, every hop checked (issue 14, items 3, 4, 6, 7).

Real servers on loopback: the test-suite HTTP server and a raw TCP server for what http.server cannot do
(dripping bytes, stacked encodings); memory is measured in a separate process (peak RSS)."""

from __future__ import annotations

import gzip
import json
import socket
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import pytest

from extractors.urls import canonical_url
from newsmon.config import FetchSettings
from newsmon.errors import BlockedAddress, FetchError, FetchTimeout, ResponseTooLarge
from newsmon.httpclient import HttpClient, is_public_address
from tests.hostile_support import RawServer, drip_body, drip_headers, http_response
from tests.support import LoopbackHTTP

RSS = b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title></channel></rss>'


def client(**kw: object) -> HttpClient:
    return HttpClient(FetchSettings(**kw), retry_delays=(0.2, 0.2))  # type: ignore[arg-type]


def timed(fn: object) -> tuple[float, BaseException | None]:
    """Run ``fn`` in a thread, give it 20 s at most; (elapsed, exception)."""
    box: list[BaseException | None] = [None]

    def run() -> None:
        try:
            fn()  # type: ignore[operator]
        except BaseException as exc:  # handed back to the test
            box[0] = exc

    start = time.monotonic()
    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(20)
    return time.monotonic() - start, box[0] if not t.is_alive() else TimeoutError("still running after 20 s")


# -- item 4: one deadline for connect + headers + every read ----------------------------------------


@pytest.mark.parametrize("handler", [drip_body(0.1, 15), drip_headers(0.1, 15)], ids=["body", "headers"])
def test_a_dripping_server_cannot_hold_a_fetch_past_the_deadline(handler: object) -> None:
    with RawServer(handler) as server, client(timeout=1.0, allow_private_networks=True) as c:  # type: ignore[arg-type]
        elapsed, exc = timed(lambda: c.fetch_feed(server.base + "/feed.rss"))
    assert isinstance(exc, FetchTimeout), exc
    assert "no answer within 1s" in str(exc)
    assert elapsed < 2.5  # one deadline, not retried in the run (each read alone never timed out)
    assert server.requests == 1


# -- item 3: decoded-size cap enforced while decoding --------------------------------------------------

_PEAK = """
import json, sys
from newsmon.config import FetchSettings
from newsmon.httpclient import HttpClient
from newsmon.errors import NewsmonError
try:
    with HttpClient(FetchSettings(timeout=30, max_bytes=1_000_000, allow_private_networks=True)) as c:
        c.fetch_page(sys.argv[1], trusted=True)
    outcome = "ok"
except NewsmonError as exc:
    outcome = type(exc).__name__ + ": " + str(exc)
# VmHWM: this process's peak resident memory (ru_maxrss would include the forking parent's)
hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"peak_mb": int(hwm.split()[1]) / 1024, "outcome": outcome}))
"""


def gzip_of_zeros(size: int) -> bytes:
    """gzip of ``<html>`` + ``size`` zero bytes, made in 1 MB steps (never holding ``size`` bytes)."""
    z = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts = [z.compress(b"<html>")]
    block = b"\0" * 1_000_000
    parts += [z.compress(block) for _ in range(size // len(block))]
    parts.append(z.flush())
    return b"".join(parts)


def test_stacked_gzip_is_capped_while_decoding(tmp_path: Path) -> None:
    bomb = gzip.compress(gzip_of_zeros(400_000_000), compresslevel=9)  # under 1 KB on the wire
    assert len(bomb) < 50_000
    reply = http_response(bomb, {"Content-Type": "text/html", "Content-Encoding": "gzip, gzip"})
    with RawServer(lambda conn, head: conn.sendall(reply)) as server:
        done = subprocess.run([sys.executable, "-c", _PEAK, server.base + "/page.html"], capture_output=True,
                              text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["outcome"].startswith("ResponseTooLarge") and "max_bytes=1000000" in result["outcome"]
    assert result["peak_mb"] < 200, result  # 400 MB decoded would be > 400


def test_a_body_within_the_cap_still_decodes_through_two_layers() -> None:
    page = b"<html><body>" + b"<p>chips</p>" * 1000 + b"</body></html>"
    reply = http_response(gzip.compress(gzip.compress(page)),
                          {"Content-Type": "text/html", "Content-Encoding": "gzip, gzip"})
    with RawServer(lambda conn, head: conn.sendall(reply)) as server, \
            client(allow_private_networks=True) as c:
        assert c.fetch_page(server.base + "/p", trusted=True).body == page


def test_an_unknown_encoding_is_refused_with_a_reason() -> None:
    reply = http_response(b"xx", {"Content-Type": "text/html", "Content-Encoding": "br"})
    with RawServer(lambda conn, head: conn.sendall(reply)) as server, \
            client(allow_private_networks=True) as c, pytest.raises(FetchError, match="'br' is not supported"):
        c.fetch_page(server.base + "/p", trusted=True)


# -- item 6: IPv4 inside IPv6, redirects from configured feeds, IPv6 literals -------------------------


@pytest.mark.parametrize("ip", [
    "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "64:ff9b::a00:1",  # NAT64 of 127.0.0.1, 169.254.169.254, 10.0.0.1
    "2002:7f00:1::", "2002:a9fe:a9fe::1", "2002:c0a8:101::",  # 6to4 of 127.0.0.1, metadata, 192.168.1.1
    "::127.0.0.1", "::10.0.0.1", "::ffff:127.0.0.1", "::ffff:169.254.169.254", "64:ff9b:1::808:808",
])
def test_ipv4_embedded_in_ipv6_is_judged_by_the_ipv4(ip: str) -> None:
    assert not is_public_address(ip)


def test_public_ipv4_inside_ipv6_stays_public() -> None:
    assert is_public_address("64:ff9b::808:808") and is_public_address("2002:808:808::1")
    assert is_public_address("2606:4700:4700::1111")


@pytest.mark.parametrize("host", ["[64:ff9b::7f00:1]", "[2002:7f00:1::]", "[::127.0.0.1]"])
def test_feed_links_to_embedded_private_addresses_are_refused_before_connecting(host: str) -> None:
    with client() as c, pytest.raises(BlockedAddress, match="non-public address"):
        c.fetch_page(f"http://{host}:8080/x")


def test_a_configured_feed_redirecting_to_another_private_host_is_refused(http: LoopbackHTTP) -> None:
    target = f"http://localhost:{http.port}/secret"  # another host name, loopback address
    http.add("/secret", RSS, content_type="application/rss+xml")
    http.add("/feed.rss", redirect_to=target)
    http.add("/moved.rss", redirect_to=http.url("/secret"))  # same host as configured: followed
    with client() as c:
        with pytest.raises(BlockedAddress, match="non-public address"):
            c.fetch_feed(http.url("/feed.rss"))
        assert http.hits("/secret") == 0
        assert c.fetch_feed(http.url("/moved.rss")).body == RSS
    with client(allow_private_networks=True) as c:
        assert c.fetch_feed(http.url("/feed.rss")).final_url == target


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def test_canonical_url_keeps_ipv6_brackets() -> None:
    assert canonical_url("http://[2001:DB8::1]:8080/a?utm_source=x") == "http://[2001:db8::1]:8080/a"
    assert canonical_url("https://[2001:db8::1]:443/") == "https://[2001:db8::1]/"


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback here")
def test_an_ipv6_literal_link_is_fetched() -> None:
    page = b"<html><body><p>ipv6</p></body></html>"
    reply = http_response(page, {"Content-Type": "text/html"})
    with RawServer(lambda conn, head: conn.sendall(reply), host="::1") as server, \
            client(allow_private_networks=True) as c:
        assert c.fetch_page(canonical_url(server.base + "/a")).body == page


# -- item 7: a per-host concurrency cap -----------------------------------------------------------------


def test_per_host_cap_limits_requests_in_flight() -> None:
    # Counted inside the handler, before the answer is sent: the server's own connection count
    # drops only after close, which can lag the client's next request on a loaded machine.
    lock = threading.Lock()
    in_flight = [0, 0]  # now, most

    def slow(conn: socket.socket, head: bytes) -> None:
        with lock:
            in_flight[0] += 1
            in_flight[1] = max(in_flight[1], in_flight[0])
        time.sleep(0.3)
        with lock:
            in_flight[0] -= 1
        conn.sendall(http_response(b"<html><body>x</body></html>", {"Content-Type": "text/html"}))

    with RawServer(slow) as server, client(per_host=2, concurrency=8, allow_private_networks=True) as c:
        threads = [threading.Thread(target=c.fetch_page, args=(f"{server.base}/{i}",)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
    assert server.requests == 8 and in_flight[1] == 2


def test_too_large_is_still_refused_without_encoding(http: LoopbackHTTP) -> None:
    http.add("/big", b"<html>" + b"x" * 300_000)
    with client(max_bytes=100_000, allow_private_networks=True) as c, pytest.raises(ResponseTooLarge):
        c.fetch_page(http.url("/big"))


def test_waiting_for_a_host_slot_does_not_eat_the_deadline() -> None:
    def slow(conn: socket.socket, head: bytes) -> None:
        time.sleep(0.6)
        conn.sendall(http_response(b"<html><body>x</body></html>", {"Content-Type": "text/html"}))

    results: list[object] = []
    with RawServer(slow) as server, client(per_host=1, timeout=1.0, allow_private_networks=True) as c:
        def fetch(i: int) -> None:
            try:
                results.append(c.fetch_page(f"{server.base}/{i}").status)
            except FetchError as exc:
                results.append(exc)

        threads = [threading.Thread(target=fetch, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
    assert results == [200, 200]  # the second waited 0.6 s for the slot, then had its full second

#!/usr/bin/env python3
"""newsmon against a bare fetch → extract → store loop, on the same N local pages, in one run.

A loopback server (a child process, spread over 8 loopback addresses so a per-host politeness cap
still allows 32 requests in flight) serves N deterministic news pages of 60–200 KB with realistic
chrome (inline CSS/JS, JSON-LD, nav and footer link lists, related teasers, comments, cookie
banner); about one page in eight is a syndicated copy of an earlier story on another site. Each
round then runs, as real subprocesses, interleaved so they share the machine's load:

* (a) **bare**: a loop written here, the yardstick — asyncio HTTP/1.1 fetch with 32 in flight →
  ``trafilatura.extract`` (with metadata, as newsmon needs title and date) in a
  ``ProcessPoolExecutor(2)`` → ``sqlite3`` ``executemany`` in batches of 200 (WAL);
* (b) **backfill**: ``newsmon backfill`` of the same URLs into a fresh database;
* (c) **cycle**: ``newsmon run`` with a config whose feeds (50 items each) list the same pages,
  fresh database: poll, fetch, extract, store, classify, file into stories.

For each: wall time, articles/s, CPU ms per article of the whole process tree (the subprocess and
everything it started and reaped: extraction workers, Prefect's temporary server), peak PSS of the
process tree (sampled from ``/proc/*/smaps_rollup`` every 0.1 s) and the ratios (b)/(a), (c)/(a).
Prefect runs in ephemeral mode unless ``PREFECT_API_URL`` is set; a throw-away backfill of 2 pages
first creates Prefect's database so that no measured run pays for it.

    python benchmarks/pipeline.py                     # N = 2,000, one round
    python benchmarks/pipeline.py --articles 600 --rounds 2 --only bare,backfill
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import html
import json
import os
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HOSTS = tuple(f"127.0.0.{i}" for i in range(1, 9))
ITEMS_PER_FEED = 50
IN_FLIGHT = 32
WORKERS = 2
BATCH = 200

# -- the pages ---------------------------------------------------------------------------------

_WORDS = (
    "the of and to in a is that for it as was with be by on not this are or from at which but have an they "
    "were has would when if will more about can said its into than only other new some could these may "
    "export controls chips semiconductor license licences rules regulators ministry officials analysts "
    "market companies suppliers memory lithography tools equipment accelerator data centre cloud providers "
    "compute capacity training model models researchers investment fund funding venture round valuation "
    "startup talent engineers visa universities policy tariffs restrictions smuggling shipments customs "
    "revenue quarter guidance shares investors contract contracts deal agreement capital spending "
).split()
_NAMES = ("Nvidia", "Huawei", "SMIC", "TSMC", "ASML", "Alibaba", "Tencent", "Baidu", "ByteDance", "DeepSeek",
          "Moonshot", "Zhipu", "Microsoft", "Google", "Amazon", "Oracle", "OpenAI", "Anthropic", "Micron",
          "Samsung", "SK Hynix", "Applied Materials", "Lam Research", "Tokyo Electron", "Cambricon",
          "Commerce Department", "BIS", "MOFCOM", "Entity List", "H20", "H100", "B200", "Ascend 910C",
          "3A090", "HBM3E", "Gina Raimondo", "Howard Lutnick", "Wang Wentao", "Jensen Huang", "Lisa Su")
_SITES = ("Pacific Ledger", "Tech Policy Wire", "Capital Post", "Silicon Herald", "Asia Markets Daily",
          "The Compute Review", "Global Trade Journal", "Evening Standard Tech")
_SECTIONS = ("World", "Business", "Markets", "Tech", "Policy", "Opinion", "Video", "Podcasts", "Climate",
             "Science", "Health", "Culture", "Sport", "Travel", "Local")
BASE_DATE = datetime(2026, 11, 1, tzinfo=UTC)


def _sentence(r: random.Random) -> str:
    words = [r.choice(_WORDS) for _ in range(r.randint(10, 26))]
    for _ in range(r.randint(1, 3)):
        words.insert(r.randint(1, len(words) - 1), r.choice(_NAMES))
    if r.random() < 0.4:
        words.insert(r.randint(1, len(words) - 1), f"${r.randint(1, 900)} {r.choice(['million', 'billion'])}")
    return " ".join(words).capitalize() + "."


def story(i: int) -> tuple[str, list[str]]:
    """Headline and paragraphs of story ``i``; every 8th story is a copy of an earlier one."""
    if i % 8 == 7 and i >= 8:
        i -= 7 * (1 + (i // 8) % 3)
    r = random.Random(i * 7919)
    title = " ".join([r.choice(_NAMES), *(r.choice(_WORDS) for _ in range(r.randint(6, 11))), r.choice(_NAMES)])
    paras = [" ".join(_sentence(r) for _ in range(r.randint(2, 5))) for _ in range(r.randint(7, 14))]
    return title[0].upper() + title[1:], paras


def _links(r: random.Random, n: int, prefix: str) -> str:
    return "\n".join(f'<li><a href="/{prefix}/{r.randint(1, 99999)}">{r.choice(_SECTIONS)} '
                     f"{r.choice(_WORDS)} {r.choice(_WORDS)}</a></li>" for _ in range(n))


def page(i: int) -> bytes:
    """Article page ``i``: 60–200 KB of HTML, the story wrapped in a news site's chrome."""
    r = random.Random(i)
    title, paras = story(i)
    site = _SITES[i % len(_SITES)]
    published = BASE_DATE + timedelta(minutes=7 * i)
    target = r.randint(60_000, 200_000)
    t = html.escape(title)
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in paras)
    quote = html.escape(_sentence(r))
    ld = json.dumps({"@context": "https://schema.org", "@type": "NewsArticle", "headline": title,
                     "datePublished": published.isoformat(), "author": {"@type": "Person", "name": "Dana Lee"},
                     "publisher": {"@type": "Organization", "name": site}})
    head = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{t} | {site}</title>'
            f'<meta property="og:title" content="{t}"><meta property="og:site_name" content="{site}">'
            f'<meta property="article:published_time" content="{published.isoformat()}">'
            f'<meta name="author" content="Dana Lee"><script type="application/ld+json">{ld}</script>')
    chrome_top = (f'<body><div class="cookie-banner">We use cookies to improve your experience. '
                  f'<button>Accept all cookies</button></div><header><div class="brand">{site}</div>'
                  f'<nav><ul>{_links(r, 100, "section")}</ul></nav><div class="ticker">'
                  + " · ".join(f"{r.choice(_NAMES)} {r.uniform(-5, 5):+.2f}%" for _ in range(30))
                  + '</div></header><ol class="breadcrumbs"><li>Home</li><li>Tech</li><li>Policy</li></ol>')
    article = (f'<main><article><h1>{t}</h1><div class="byline">By <a href="/authors/dl">Dana Lee</a> '
               f'archive page</div><time datetime="{published.isoformat()}">{published:%B %d, %Y}</time>'
               f'<div class="share">Share on facebook, twitter, linkedin</div>'
               f'<figure><img src="/img/{i}.jpg" alt="photo"><figcaption>File photo. REUTERS</figcaption></figure>'
               f'{body}<blockquote>{quote}</blockquote>'
               f'<aside class="read-also">Read also: <a href="/r/{i + 1}">{html.escape(story(i + 1)[0])}</a></aside>'
               f"</article>")
    related = f'<section class="related"><h2>Related Articles</h2><ul>{_links(r, 20, "related")}</ul></section>'
    comments = ('<section class="comments"><h2>Comments</h2>'
                + "".join(f"<div class='comment'><b>reader{r.randint(1, 999)}</b> {html.escape(_sentence(r))}</div>"
                          for _ in range(6)) + "</section>")
    sidebar = f'<aside class="most-read"><h2>Most read</h2><ol>{_links(r, 10, "top")}</ol></aside></main>'
    footer = (f'<footer><ul>{_links(r, 70, "site")}</ul><p>© 2026 {site}. All rights reserved.</p>'
              '<div class="newsletter">Sign up for our China Tech newsletter. <input type="email"></div></footer>')
    parts = [head, "", "</head>", chrome_top, article, related, comments, sidebar, footer, "", "</body></html>"]
    size = sum(len(p) for p in parts)
    filler = max(0, target - size)
    css = ".c{color:#333;margin:0 auto;padding:4px}" * (filler // 2 // 42)
    js = ("window.dataLayer=window.dataLayer||[];dataLayer.push({event:'view',section:'tech'});"
          * (filler // 2 // 86))
    parts[1] = f"<style>{css}</style>"
    parts[9] = f"<script>{js}</script>"
    return "".join(parts).encode("utf-8")


def url_of(i: int) -> str:
    return f"http://{HOSTS[i % len(HOSTS)]}:{{port}}/news/2026/{i}.html"


def feed(k: int, n: int, port: int) -> bytes:
    items = []
    for i in range(k * ITEMS_PER_FEED, min(n, (k + 1) * ITEMS_PER_FEED)):
        title = html.escape(story(i)[0])
        link = html.escape(url_of(i).format(port=port))
        when = format_datetime(BASE_DATE + timedelta(minutes=7 * i))
        items.append(f"<item><title>{title}</title><link>{link}</link><guid>{link}</guid>"
                     f"<pubDate>{when}</pubDate><description>{title}.</description></item>")
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Bench {k}</title>'
            f"<link>http://127.0.0.1:{port}/</link>{''.join(items)}</channel></rss>").encode()


# -- the page server (child process) -----------------------------------------------------------


def serve(n: int, ready: Path) -> None:
    """Serve pages and feeds on HOSTS (HTTP/1.1, keep-alive), pages generated once, lazily."""
    cache: dict[int, bytes] = {}
    port = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                line, *headers = head.decode("latin-1").split("\r\n")
                path = line.split(" ")[1].split("?")[0]
                close = any(h.lower().replace(" ", "") == "connection:close" for h in headers)
                status, ctype, body = "404 Not Found", "text/plain", b"not found"
                if path.startswith("/news/2026/") and path.endswith(".html"):
                    i = int(path.rsplit("/", 1)[1][:-5])
                    if 0 <= i < n:
                        if i not in cache:
                            cache[i] = page(i)
                        status, ctype, body = "200 OK", "text/html; charset=utf-8", cache[i]
                elif path.startswith("/feed/") and path.endswith(".rss"):
                    status, ctype = "200 OK", "application/rss+xml"
                    body = feed(int(path[6:-4]), n, port)
                writer.write(f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
                             f"{'Connection: close' if close else 'Connection: keep-alive'}\r\n\r\n"
                             .encode("latin-1") + body)
                await writer.drain()
                if close:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        nonlocal port
        first = await asyncio.start_server(handle, HOSTS[0], 0, backlog=256)
        port = first.sockets[0].getsockname()[1]
        servers = [first] + [await asyncio.start_server(handle, h, port, backlog=256) for h in HOSTS[1:]]
        ready.write_text(str(port))
        await asyncio.gather(*(s.serve_forever() for s in servers))

    asyncio.run(main())


# -- (a) the bare loop (runs as `pipeline.py --bare-worker URLS DB`) --------------------------


def _extract(url: str, data: bytes) -> tuple[str, str | None]:
    import trafilatura

    return url, trafilatura.extract(data.decode("utf-8", "replace"), include_comments=False, with_metadata=True)


async def _get(host: str, port: int, path: str) -> bytes:
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode("latin-1"))
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(int(h.split(":", 1)[1]) for h in head.decode("latin-1").split("\r\n")
                  if h.lower().startswith("content-length:"))
    body = await reader.readexactly(length)
    writer.close()
    return body


def bare_worker(url_file: str, db_path: str) -> None:
    urls = Path(url_file).read_text().split()
    db = sqlite3.connect(db_path, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE articles (id INTEGER PRIMARY KEY, url TEXT NOT NULL, url_hash BLOB UNIQUE NOT NULL, "
               "text TEXT NOT NULL, fetched_at TEXT NOT NULL)")
    stored = 0

    async def run() -> None:
        nonlocal stored
        loop = asyncio.get_running_loop()
        todo = iter(urls)
        rows: list[tuple[str, bytes, str, str]] = []
        with ProcessPoolExecutor(WORKERS) as pool:
            async def worker() -> None:
                nonlocal stored, rows
                for url in todo:
                    rest = url.split("//", 1)[1]
                    hostport, path = rest.split("/", 1)
                    host, port = hostport.split(":")
                    data = await _get(host, int(port), "/" + path)
                    _, text = await loop.run_in_executor(pool, _extract, url, data)
                    if text:
                        rows.append((url, hashlib.sha256(url.encode()).digest()[:16], text,
                                     datetime.now(UTC).isoformat()))
                    if len(rows) >= BATCH:
                        batch, rows = rows, []
                        await loop.run_in_executor(None, _store, db, batch)
                        stored += len(batch)

            await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
        if rows:
            _store(db, rows)
            stored += len(rows)

    asyncio.run(run())
    print(json.dumps({"stored": stored}))


def _store(db: sqlite3.Connection, rows: list[tuple[str, bytes, str, str]]) -> None:
    with db:
        db.executemany("INSERT OR IGNORE INTO articles (url, url_hash, text, fetched_at) VALUES (?, ?, ?, ?)", rows)


# -- measuring a process tree ------------------------------------------------------------------


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            kids.setdefault(ppid, []).append(int(entry))
    return kids


def _tree(root: int) -> Iterator[int]:
    kids = _children()
    stack = [root]
    while stack:
        pid = stack.pop()
        yield pid
        stack.extend(kids.get(pid, ()))


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def measure(cmd: list[str], env: dict[str, str], articles_of: str) -> dict[str, float]:
    """Run ``cmd``; wall, CPU of it and its reaped descendants, peak PSS of its process tree."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = [0, 0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            pids = list(_tree(proc.pid))
            total = sum(_pss_kb(p) for p in pids)
            if total > peak[0]:
                peak[0], peak[1] = total, len(pids)
            done.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - t0
    done.set()
    sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])} … failed ({proc.returncode}):\n{err[-3000:]}")
    result = json.loads(out.strip().splitlines()[-1])
    stored = int(result[articles_of])
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"stored": stored, "wall_s": wall, "articles_per_s": stored / wall,
            "cpu_ms_per_article": 1000 * cpu / max(1, stored), "cpu_s": cpu, "peak_pss_mb": peak[0] / 1024,
            "processes": peak[1]}


# -- where the CPU goes (py-spy, every thread and process of a backfill) -----------------------

# (category, substrings of a frame); a sample is charged to the first rule that matches a frame,
# scanning from the innermost frame outwards.
CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("start-up imports", ("importlib._bootstrap", "<frozen importlib", "(<module>)")),
    ("HTML parse (lxml)", ("lxml/html/", "(load_html)", "lxml/etree")),
    ("our clean-up", ("extractors/cleanup",)),
    ("metadata", ("extractors/metadata", "htmldate/", "trafilatura/metadata")),
    ("trafilatura", ("trafilatura/", "justext/", "courlan/")),
    ("classify", ("classify/",)),
    ("cluster + alerts", ("alerts/", "datasketch/")),
    ("feed parse", ("feedparser/", "extractors/feeds")),
    ("store (SQLAlchemy, SQLite)", ("storage/", "sqlalchemy/", "sqlite3")),
    ("fetch (httpx)", ("httpx/", "httpcore/", "h11/", "newsmon/httpclient", "ssl.py", "socket.py")),
    ("Prefect client", ("prefect/", "uvicorn/", "starlette/", "fastapi/", "anyio/", "aiosqlite/",
                                     "pydantic", "httpx_", "websockets/")),
    ("worker IPC (pickle, pool)", ("multiprocessing/", "concurrent/futures", "pickle")),
    ("our extraction code", ("extractors/",)),
    ("pipeline glue", ("newsmon/", "flows/")),
)


# innermost frames of a thread blocked in a C call (waiting, not on the CPU): py-spy reports them here
IDLE = ("(threading.py:", "(selectors.py:", "(concurrent/futures/thread.py:81)", "(aiosqlite/core.py:59)",
        "(multiprocessing/connection.py:", "(queue.py:", "(socket.py:", "(ssl.py:", "(httpcore/_backends/sync.py:",
        "(asyncio/base_events.py:1884)", "(multiprocessing/queues.py:", "(concurrent/futures/_base.py:")


def breakdown(raw: Path, articles: int) -> list[tuple[str, float]]:
    """CPU ms per article by category from py-spy's raw (collapsed) output at 100 samples/s."""
    totals: dict[str, int] = {}
    for line in raw.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        frames = stack.split(";")[::-1]
        if any(k in frames[0] for k in IDLE):
            continue
        if "prefect.server" in stack or "uvicorn" in stack:  # Prefect's temporary server process
            totals["Prefect server"] = totals.get("Prefect server", 0) + int(count)
            continue
        category = next((name for frame in frames for name, keys in CATEGORIES if any(k in frame for k in keys)),
                        "other")
        totals[category] = totals.get(category, 0) + int(count)
    return sorted(((k, 10 * v / max(1, articles)) for k, v in totals.items()), key=lambda kv: -kv[1])


def profile(newsmon: list[str], cfg: Path, url_file: Path, env: dict[str, str], n: int, out: Path) -> None:
    spy = Path(sys.executable).with_name("py-spy")
    cmd = [str(spy), "record", "--subprocesses", "--format", "raw", "--gil", "--rate", "100", "--output", str(out),
           "--", *newsmon, "--config", str(cfg), "backfill", "--no-progress", "--json", str(url_file)]
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    rows = breakdown(out, n)
    total = sum(ms for _, ms in rows)
    print(f"\nCPU per article of `newsmon backfill` ({n} pages), py-spy samples of every thread and process "
          f"(raw stacks: {out}):")
    for name, ms in rows:
        print(f"  {name:30s} {ms:7.2f} ms  {100 * ms / total:5.1f} %")
    print(f"  {'total':30s} {total:7.2f} ms")
    extraction_profile(url_file, n)


def extraction_profile(url_file: Path, n: int) -> None:
    """What one extraction worker does per page, by stage: ``extract_article`` in this process under
    cProfile on the same pages (self time of each function, charged by its module)."""
    import cProfile
    import pstats

    from extractors.article import extract_article

    pages = [(url, page(int(url.rsplit("/", 1)[1][:-5]))) for url in url_file.read_text().split()[: min(n, 200)]]
    prof = cProfile.Profile()
    prof.enable()
    for url, body in pages:
        extract_article(body, url)
    prof.disable()
    def category(file: str, func: str) -> str:
        where = f"{file}({func})"
        name = next((c for c, keys in CATEGORIES if any(k in where for k in keys)), "")
        return name or ("HTML parse (lxml)" if "lxml" in where else "other")

    totals: dict[str, float] = {}
    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    for (file, _, func), (_, _, tottime, _, callers) in stats.items():
        if file == "~" and "lxml" not in func and callers:  # a C builtin (re, str, …): charged to its callers
            for (cfile, _, cfunc), (_, _, ctt, _) in callers.items():
                totals[category(cfile, cfunc)] = totals.get(category(cfile, cfunc), 0.0) + ctt
            continue
        totals[category(file, func)] = totals.get(category(file, func), 0.0) + tottime
    total = sum(totals.values())
    print(f"\nper page inside an extraction worker (cProfile of extract_article on {len(pages)} of the pages, "
          "one process):")
    for name, sec in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"  {name:30s} {1000 * sec / len(pages):7.2f} ms  {100 * sec / total:5.1f} %")
    print(f"  {'total':30s} {1000 * total / len(pages):7.2f} ms")


# -- driver ------------------------------------------------------------------------------------


def _config(path: Path, db: Path, feeds: list[str]) -> None:
    lines = [f'database_url = "sqlite:///{db}"', "feeds = ["]
    lines += [f'  {{ url = "{u}", name = "bench {k}" }},' for k, u in enumerate(feeds)]
    lines += ["]", "[fetch]", "allow_private_networks = true", f"concurrency = {IN_FLIGHT}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=2000, help="pages (default 2,000)")
    parser.add_argument("--rounds", type=int, default=1, help="interleaved rounds of (a), (b), (c)")
    parser.add_argument("--only", default="bare,backfill,cycle", help="comma-separated subset")
    parser.add_argument("--profile", action="store_true",
                        help="instead: profile one `newsmon backfill` with py-spy, CPU per article by stage")
    parser.add_argument("--bare-worker", nargs=2, metavar=("URLS", "DB"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_worker:
        bare_worker(*args.bare_worker)
        return
    which = [w.strip() for w in args.only.split(",") if w.strip()]
    n = args.articles
    tmp = Path(tempfile.mkdtemp(prefix="newsmon-bench-"))
    ready = tmp / "port"
    server = subprocess.Popen([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(REPO / 'benchmarks')!r}); "
                               f"import pipeline; pipeline.serve({n}, __import__('pathlib').Path({str(ready)!r}))"])
    try:
        for _ in range(600):
            if ready.exists() and ready.read_text():
                break
            time.sleep(0.1)
        port = int(ready.read_text())
        urls = [url_of(i).format(port=port) for i in range(n)]
        url_file = tmp / "urls.txt"
        url_file.write_text("\n".join(urls) + "\n")
        feeds = [f"http://127.0.0.1:{port}/feed/{k}.rss" for k in range((n + ITEMS_PER_FEED - 1) // ITEMS_PER_FEED)]
        env = dict(os.environ, PYTHONPATH=str(REPO), PREFECT_SERVER_ANALYTICS_ENABLED="false")
        env.pop("NEWSMON_CONFIG", None)
        env.setdefault("PREFECT_HOME", str(tmp / "prefect"))
        newsmon = [sys.executable, "-m", "newsmon"]
        sizes = [len(page(i)) for i in range(0, n, max(1, n // 50))]
        print(f"newsmon pipeline benchmark: {n} pages ({min(sizes) // 1000}–{max(sizes) // 1000} KB, "
              f"mean {sum(sizes) // len(sizes) // 1000} KB, sampled), {os.cpu_count()} cores, "
              f"Python {sys.version.split()[0]}, load average before {os.getloadavg()[0]:.2f}", flush=True)
        if args.profile:
            cfg = tmp / "profile.toml"
            _config(cfg, tmp / "profile.db", [])
            profile(newsmon, cfg, url_file, env, n, tmp / "profile.txt")
            return
        if "backfill" in which or "cycle" in which:  # Prefect's database created once, not measured
            warm = tmp / "warm.toml"
            _config(warm, tmp / "warm.db", [])
            (tmp / "warm.txt").write_text("\n".join(urls[:2]) + "\n")
            subprocess.run([*newsmon, "--config", str(warm), "backfill", "--no-progress", "--json",
                            str(tmp / "warm.txt")], env=env, check=True, capture_output=True)
        rows: dict[str, list[dict[str, float]]] = {w: [] for w in which}
        for rnd in range(args.rounds):
            for w in which:
                cfg = tmp / f"{w}{rnd}.toml"
                db = tmp / f"{w}{rnd}.db"
                if w == "bare":
                    r = measure([sys.executable, __file__, "--bare-worker", str(url_file), str(db)], env, "stored")
                elif w == "backfill":
                    _config(cfg, db, [])
                    r = measure([*newsmon, "--config", str(cfg), "backfill", "--no-progress", "--json",
                                 str(url_file)], env, "stored")
                else:
                    _config(cfg, db, feeds)
                    r = measure([*newsmon, "--config", str(cfg), "run", "--json"], env, "stored")
                rows[w].append(r)
                print(f"round {rnd + 1} {w:8s}: {r['stored']:.0f} articles in {r['wall_s']:.1f} s = "
                      f"{r['articles_per_s']:.1f} articles/s, {r['cpu_ms_per_article']:.1f} ms CPU/article, "
                      f"peak PSS {r['peak_pss_mb']:.0f} MB over {r['processes']:.0f} processes "
                      f"(load average {os.getloadavg()[0]:.2f})", flush=True)
        print("\nper round, ratio to (a) bare in the same round (throughput; CPU/article):")
        for rnd in range(args.rounds):
            if "bare" not in rows:
                break
            a = rows["bare"][rnd]
            for w in which:
                if w != "bare":
                    r = rows[w][rnd]
                    print(f"  round {rnd + 1} {w}/bare: {r['articles_per_s'] / a['articles_per_s']:.2f}x throughput, "
                          f"{r['cpu_ms_per_article'] / a['cpu_ms_per_article']:.2f}x CPU per article, "
                          f"{r['peak_pss_mb'] / a['peak_pss_mb']:.2f}x peak PSS")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()

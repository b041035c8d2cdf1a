#!/usr/bin/env python3
"""Full-text search at scale: query latency over N stored articles, and what the index adds to ingest.

Two measurements, on the database given by ``--db-url`` (default: a new SQLite file in a temporary
directory; for PostgreSQL give a URL to an empty database or schema, e.g.
``postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3Dbench``):

* **ingest cost**: ``--ingest-articles`` synthetic articles stored the way the pipeline stores them
  (``repo.insert_article`` + ``repo.set_classification``, 50 per transaction), into a new schema with the
  search index and into one without it (index dropped), alternated ``--rounds`` times; the median
  ratio is the extra time the index costs on the store step. Against the whole ingest of an article
  (fetch, extract, classify, store) the share is smaller; the classify time of the same texts is
  measured too, and so is the extraction of the pages in ``--pages`` (default ``tests/data/pages``;
  give a directory of real article pages for a realistic figure): the CPU part of the ingest without
  the network. The index's share of store+classify+extract is the last figure.
* **query latency**: ``--articles`` synthetic articles (≈3.5 KB of text each, a skewed vocabulary
  with the beat's words mixed in at realistic rates) loaded once, then each query of
  :data:`QUERIES` run ``--repeats`` times through ``storage.search.search_articles`` (limit 20,
  snippets included); median and worst are reported.

    python benchmarks/search.py --articles 100000
    python benchmarks/search.py --articles 100000 --db-url 'postgresql+psycopg://postgres@127.0.0.1:5432/test'

Timings on a shared machine are noisy: run paired, and read the median.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text

from newsmon.errors import NewsmonError
from newsmon.models import Classification, ExtractedArticle
from storage import repo
from storage.db import Database, open_database
from storage.search import search_articles
from storage.search_index import drop_search_index

REPO = Path(__file__).resolve().parents[1]

NOW = datetime(2026, 11, 20, tzinfo=UTC)

# (word, probability that an article contains it somewhere) — the beat's words at plausible rates
BEAT = [
    ("china", 0.55), ("chips", 0.30), ("export", 0.25), ("controls", 0.20), ("nvidia", 0.12),
    ("huawei", 0.08), ("entity list", 0.05), ("cloud", 0.20), ("smic", 0.02), ("ascend", 0.01),
    ("potato", 0.003), ("lithography", 0.02), ("deepseek", 0.03), ("subsidies", 0.04),
]
QUERIES = [
    "china",                                 # in over half of the articles
    "smic",                                  # rare
    '"entity list"',                         # phrase
    "export*",                               # prefix
    "(nvidia OR huawei) chips -potato",      # boolean
    "china chips export controls",           # four common words
]
WORDS_PER_ARTICLE = 550  # ≈3.5 KB of text, a typical news article
TOPICS = ["chip-export", "cloud-policy", "cloud-competition", "foundation-models", "investment"]


def _vocabulary(rng: random.Random, size: int = 20_000) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["".join(rng.choice(letters) for _ in range(rng.randint(3, 10))) for _ in range(size)]


def synthetic_articles(n: int, seed: int = 7) -> Iterator[tuple[str, str, list[str]]]:
    """(title, text, topics): filler words drawn from a Zipf-like vocabulary plus the beat's words."""
    rng = random.Random(seed)
    vocab = _vocabulary(rng)
    cum: list[float] = []
    total = 0.0
    for rank in range(len(vocab)):
        total += 1.0 / (rank + 1)
        cum.append(total)
    for _ in range(n):
        words = rng.choices(vocab, cum_weights=cum, k=WORDS_PER_ARTICLE)
        for word, p in BEAT:
            if rng.random() < p:
                for _ in range(rng.randint(1, 3)):
                    words.insert(rng.randrange(len(words)), word)
        title = " ".join(rng.choices(vocab[:2000], k=8)).capitalize()
        if rng.random() < 0.3:
            title += " " + rng.choice(BEAT)[0]
        body = ". ".join(" ".join(words[i : i + 20]) for i in range(0, len(words), 20))
        yield title, body, rng.sample(TOPICS, k=rng.randint(0, 2))


def store(db: Database, articles: list[tuple[str, str, list[str]]], *, start: int, batch: int = 50) -> float:
    """Store like the pipeline does (insert + classification update); returns seconds."""
    t0 = time.perf_counter()
    for i in range(0, len(articles), batch):
        with db.session() as s:
            for j, (title, body, topics) in enumerate(articles[i : i + batch], start=start + i):
                url = f"https://bench.example/{j}"
                new_id = repo.insert_article(s, repo.NewArticle(
                    url=url, link=url, source=f"source{j % 50}", origin="feed",
                    article=ExtractedArticle(url=url, title=title, text=body,
                                             published=NOW - timedelta(minutes=j))), now=NOW)
                assert new_id is not None
                repo.set_classification(s, new_id, Classification(tuple(topics), {t: 0.9 for t in topics}, {}),
                                        now=NOW)
    return time.perf_counter() - t0


def bulk_store(db: Database, articles: Iterator[tuple[str, str, list[str]]]) -> int:
    """PostgreSQL only: store the same rows as :func:`store` (minus stories) with one ``COPY``; the index
    trigger fires as for any insert. Loads 100,000 articles in minutes instead of most of an hour;
    the ingest cost is measured with :func:`store`."""
    import json

    cols = ("url", "link", "source", "origin", "title", "text", "summary", "published_at", "fetched_at",
            "topics", "scores", "evidence", "classified_at")
    count = 0

    def rows() -> Iterator[tuple[object, ...]]:
        nonlocal count
        for j, (title, body, topics) in enumerate(articles):
            count += 1
            url = f"https://bench.example/{j}"
            yield (url, url, f"source{j % 50}", "feed", title, body, "", NOW - timedelta(minutes=j), NOW,
                   json.dumps(topics), json.dumps({t: 0.9 for t in topics}), "{}", NOW)

    raw = db.engine.raw_connection()
    try:
        cur = raw.cursor()
        with cur.copy(f"COPY articles ({', '.join(cols)}) FROM STDIN") as copy:
            for row in rows():
                copy.write_row(row)
        raw.commit()
    finally:
        raw.close()
    return count


def _fresh_url(base: str | None, tmp: Path) -> tuple[str, str | None]:
    """A new empty database: a SQLite file, or a new schema in the given PostgreSQL database."""
    if base is None or base.startswith("sqlite"):
        return f"sqlite:///{tmp / f'{uuid.uuid4().hex}.db'}", None
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}", schema


def _drop_schema(base: str, schema: str | None) -> None:
    if schema is None:
        return
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _extract_seconds_per_page(pages_dir: Path) -> float:
    """Median seconds to extract one page of ``pages_dir`` (trafilatura + our clean-up), after a warm-up."""
    from extractors.article import extract_article

    pages = sorted([*pages_dir.glob("*.html"), *pages_dir.glob("*.html.gz")])[:100]
    times: list[float] = []
    for page in pages * 2:
        body = gzip.decompress(page.read_bytes()) if page.name.endswith(".gz") else page.read_bytes()
        t = time.perf_counter()
        with contextlib.suppress(NewsmonError):  # some test pages are meant to fail; their time counts
            extract_article(body, f"https://bench.example/{page.name}")
        times.append(time.perf_counter() - t)
    return statistics.median(times[len(pages):])


def measure_ingest(base: str | None, tmp: Path, n: int, rounds: int, pages_dir: Path) -> None:
    articles = list(synthetic_articles(n, seed=11))
    from classify.classifier import default_classifier

    classifier = default_classifier(None)
    t0 = time.perf_counter()
    for title, body, _ in articles:
        classifier.classify(title, body)
    classify_s = time.perf_counter() - t0
    extract_s = _extract_seconds_per_page(pages_dir) * n
    with_index: list[float] = []
    without: list[float] = []
    for _ in range(rounds):
        for indexed in (True, False):
            url, schema = _fresh_url(base, tmp)
            db = open_database(url)
            if not indexed:
                with db.engine.begin() as conn:
                    drop_search_index(conn)
            (with_index if indexed else without).append(store(db, articles, start=0))
            db.dispose()
            _drop_schema(base or "", schema)
    w, wo = statistics.median(with_index), statistics.median(without)
    print(f"ingest of {n} articles, {rounds} paired rounds (median): store with index {w:.2f} s, "
          f"without {wo:.2f} s -> +{(w / wo - 1) * 100:.1f} % on the store step; "
          f"classify {classify_s:.2f} s -> +{(w - wo) / (wo + classify_s) * 100:.1f} % on store+classify; "
          f"extract (est.) {extract_s:.1f} s -> +{(w - wo) / (wo + classify_s + extract_s) * 100:.1f} % "
          f"on store+classify+extract")
    print(f"  rounds with index: {[round(x, 2) for x in with_index]}, without: {[round(x, 2) for x in without]}")


def measure_queries(base: str | None, tmp: Path, n: int, repeats: int, keep: str | None = None,
                    bulk: bool = False) -> None:
    url, schema = (keep, None) if keep else _fresh_url(base, tmp)
    db = open_database(url)
    with db.session() as s:
        stored = repo.article_count(s)
    if stored:  # a kept database from an earlier run
        n = 0
        print(f"reusing {stored} stored articles")
    try:
        t0 = time.perf_counter()
        if bulk and n and db.dialect == "postgresql":
            bulk_store(db, synthetic_articles(n))
            n_left = 0
        else:
            n_left = n
        chunk: list[tuple[str, str, list[str]]] = []
        done = 0
        for art in synthetic_articles(n_left):
            chunk.append(art)
            if len(chunk) == 2000:
                store(db, chunk, start=done, batch=1000)
                done += len(chunk)
                chunk.clear()
        if chunk:
            store(db, chunk, start=done, batch=1000)
        if db.dialect == "postgresql":
            with db.engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE articles")
        if n:
            print(f"loaded {n} articles on {db.dialect} in {time.perf_counter() - t0:.1f} s")
        cases = [(q, None, None) for q in QUERIES] + [("export*", "chip-export", NOW - timedelta(days=7))]
        for query, topic, since in cases:
            times: list[float] = []
            hits = 0
            for _ in range(repeats):
                with db.session() as s:
                    t = time.perf_counter()
                    hits = len(search_articles(s, query, topic=topic, since=since, limit=20))
                    times.append((time.perf_counter() - t) * 1000)
            label = query + (f" --topic {topic} --since 7d" if topic else "")
            print(f"  {label:48} median {statistics.median(times):7.1f} ms  worst {max(times):7.1f} ms  "
                  f"({hits} hits shown)")
    finally:
        db.dispose()
        if not keep:
            _drop_schema(base or "", schema)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db-url", help="PostgreSQL base URL (a new schema is made and dropped); default SQLite")
    ap.add_argument("--articles", type=int, default=100_000, help="articles stored for the query latency")
    ap.add_argument("--repeats", type=int, default=15, help="runs of each query")
    ap.add_argument("--ingest-articles", type=int, default=3000, help="articles stored per ingest round")
    ap.add_argument("--rounds", type=int, default=3, help="paired ingest rounds (with / without index)")
    ap.add_argument("--pages", default=str(REPO / "tests" / "data" / "pages"),
                    help="HTML pages (*.html, *.html.gz) whose extraction time stands for the rest of the ingest; "
                         "e.g. a directory of real article pages")
    ap.add_argument("--keep", metavar="URL", help="load the articles into this database and keep it (reused "
                                                  "when it already holds articles); default: a throw-away one")
    ap.add_argument("--bulk", action="store_true", help="PostgreSQL: load the query-latency articles with one COPY "
                                                        "(the same rows, minutes instead of most of an hour)")
    ap.add_argument("--skip-ingest", action="store_true")
    ap.add_argument("--skip-queries", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="newsmon-search-bench-") as tmp:
        if not args.skip_ingest:
            measure_ingest(args.db_url, Path(tmp), args.ingest_articles, args.rounds, Path(args.pages))
        if not args.skip_queries:
            measure_queries(args.db_url, Path(tmp), args.articles, args.repeats, args.keep, args.bulk)


if __name__ == "__main__":
    main()

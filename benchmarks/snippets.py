#!/usr/bin/env python3
"""Score newsmon's extraction on the snippet benchmark (990 pages) beside other extractors.

Data: ``snippet-extraction/`` (990 real pages: news, blogs, institutions; about 70 % German, the
rest English, French, Spanish, Polish and others; each page with up to six text snippets that
must be in the output and up to six boilerplate snippets that must not), kept in
``../shared/benchmarks/snippet-extraction`` beside the repository (override with ``--data`` or
``NEWSMON_SNIPPET_BENCHMARK``).  Scoring is the benchmark's own, imported from
``snippet_eval.py`` in the folder above the data (whitespace-normalised substring matching;
P/R/F1 over all snippets of a split).

Splits by sorted page id: **tune** = the first 740 pages (develop here), **held_out** = the last
250 (score rarely, and count the looks).  The default is the tune split; ``--split all`` prints
tune, held_out and all.

Usage (from the repository root, with the project's venv)::

    python benchmarks/snippets.py                          # tune split, newsmon vs the others
    python benchmarks/snippets.py --split all --repeat 3   # every split (a held-out look!)
    python benchmarks/snippets.py --tune-cv 5              # tune only, 5 site-grouped folds
    python benchmarks/snippets.py --json out.json          # per-page misses and leaks too

``benchmarks/extraction.py`` runs this after the 181-page benchmark, so one command scores both.
The other extractors are the ``bench`` extra (``pip install -e '.[bench]'``); missing ones are
skipped with a note.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
SHARED_BENCHMARKS = REPO.parent / "shared" / "benchmarks"
TUNE_PAGES = 740
SPLITS = ("tune", "held_out", "all")

Extractor = Callable[[bytes, str], "str | None"]


def data_dir(explicit: Path | None = None) -> Path:
    """The benchmark folder: ``--data``, else ``$NEWSMON_SNIPPET_BENCHMARK``, else shared."""
    if explicit is not None:
        return explicit
    env = os.environ.get("NEWSMON_SNIPPET_BENCHMARK")
    if env:
        return Path(env)
    return SHARED_BENCHMARKS / "snippet-extraction"


def available(folder: Path) -> bool:
    """Whether ``folder`` holds the benchmark (annotations and pages)."""
    return (folder / "annotations.jsonl").is_file() and (folder / "pages").is_dir()


def load_eval_module(folder: Path) -> ModuleType:
    """Import ``snippet_eval.py`` (the benchmark's scoring) from beside ``folder``.

    Its page loader reads ``DATA``; that is pointed at ``folder``.
    """
    candidate = folder.parent / "snippet_eval.py"
    spec = importlib.util.spec_from_file_location("snippet_eval", candidate)
    if not candidate.is_file() or spec is None or spec.loader is None:
        raise FileNotFoundError(f"snippet_eval.py not found beside {folder}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.DATA = folder  # type: ignore[attr-defined]
    return module


def split_rows(rows: Sequence[dict[str, Any]], split: str) -> list[dict[str, Any]]:
    """The rows of ``split`` (``rows`` sorted by id: tune first, then held_out)."""
    ordered = sorted(rows, key=lambda r: str(r["id"]))
    return {"tune": ordered[:TUNE_PAGES], "held_out": ordered[TUNE_PAGES:],
            "all": ordered}[split]


def site_of(url: str) -> str:
    """The site of a page, for grouping folds: the host's last two labels.

    Some pages carry a pseudo-URL (``hard::jamaica.gleaner.com-victims.html``); the host-like
    head of it is used.
    """
    host = urlsplit(url).hostname if "://" in url else None
    if host is None:
        match = re.match(r"(?:\w+::)?([a-z0-9.-]+?\.[a-z]{2,})(?=[-/]|\.html?$|$)", url.lower())
        host = match.group(1) if match else url
    labels = host.removeprefix("www.").split(".")
    return ".".join(labels[-3:] if len(labels) > 2 and len(labels[-2]) <= 3 else labels[-2:])


def site_folds(rows: Sequence[dict[str, Any]], k: int) -> list[list[dict[str, Any]]]:
    """``k`` folds of ``rows`` grouped by site (largest sites dealt first, to the smallest fold)."""
    by_site: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_site.setdefault(site_of(str(row["url"])), []).append(row)
    folds: list[list[dict[str, Any]]] = [[] for _ in range(k)]
    for site in sorted(by_site, key=lambda s: (-len(by_site[s]), s)):
        min(folds, key=len).extend(by_site[site])
    return folds


# --------------------------------------------------------------------------------------------
# Extractors
# --------------------------------------------------------------------------------------------


def newsmon_extractor() -> Extractor:
    """newsmon's benchmark entry point (``extractors.article.extract_text``)."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from extractors.article import extract_text

    return extract_text


def _trafilatura() -> Extractor:
    """trafilatura with the benchmark's settings (no comments, tables kept)."""
    import trafilatura

    def run(html: bytes, url: str) -> str | None:
        return trafilatura.extract(html, url=url, include_comments=False, include_tables=True,
                                   include_formatting=False)
    return run


def _trafilatura_baseline() -> Extractor:
    """trafilatura's ``baseline``: JSON-LD articleBody, else ``<article>``, else all ``<p>``."""
    from trafilatura import baseline

    def run(html: bytes, url: str) -> str | None:
        return str(baseline(html)[1])
    return run


def _justext() -> Extractor:
    """jusText defaults with the stop list of the page's language (German if unknown)."""
    import justext  # type: ignore[import-untyped]

    lists = {"de": "German", "en": "English", "fr": "French", "es": "Spanish", "pl": "Polish",
             "it": "Italian", "pt": "Portuguese", "nl": "Dutch"}
    stoplists = {code: justext.get_stoplist(name) for code, name in lists.items()}
    lang_re = re.compile(rb"<html[^>]*\blang\s*=\s*[\"']?([a-zA-Z]{2})", re.I)

    def run(html: bytes, url: str) -> str | None:
        match = lang_re.search(html[:4096])
        code = match.group(1).decode().lower() if match else "de"
        paragraphs = justext.justext(html, stoplists.get(code, stoplists["de"]))
        return "\n".join(p.text for p in paragraphs if not p.is_boilerplate)
    return run


def _readability() -> Extractor:
    """readability-lxml's summary, as text with line breaks at blocks."""
    import lxml.html
    from readability import Document  # type: ignore[import-untyped]

    def run(html: bytes, url: str) -> str | None:
        summary = Document(html, url=url).summary(html_partial=True)
        if not summary.strip():
            return ""
        fragment = lxml.html.fragment_fromstring(summary, create_parent="div")
        for block in fragment.iter("p", "div", "li", "h1", "h2", "h3", "h4", "br", "tr"):
            block.tail = "\n" + (block.tail or "")
        return str(fragment.text_content())
    return run


OTHERS: dict[str, tuple[Callable[[], Extractor], str]] = {
    "trafilatura": (_trafilatura, "trafilatura"),
    "trafilatura-baseline": (_trafilatura_baseline, "trafilatura"),
    "justext": (_justext, "jusText"),
    "readability": (_readability, "readability-lxml"),
}


def build_extractors(names: Sequence[str]) -> dict[str, Extractor]:
    """newsmon and the named others that import (the rest skipped with a note)."""
    out: dict[str, Extractor] = {"newsmon": newsmon_extractor()}
    for name in names:
        factory, dist = OTHERS[name]
        try:
            out[name] = factory()
        except ImportError as exc:
            print(f"[{name}] skipped: {exc} (pip install -e '.[bench]' for {dist})",
                  file=sys.stderr)
    return out


# --------------------------------------------------------------------------------------------
# Running and scoring
# --------------------------------------------------------------------------------------------


def measure(ev: ModuleType, extractors: dict[str, Extractor], rows: Sequence[dict[str, Any]],
            repeat: int) -> tuple[dict[str, dict[str, str]], dict[str, list[float]],
                                  dict[str, dict[str, str]]]:
    """Run every extractor on every page, interleaved (order rotated per page), ``repeat`` times.

    Returns the texts of the first pass, pages/s per pass, and errors (a crash is a miss).
    """
    names = list(extractors)
    texts: dict[str, dict[str, str]] = {name: {} for name in names}
    errors: dict[str, dict[str, str]] = {name: {} for name in names}
    speeds: dict[str, list[float]] = {name: [] for name in names}
    pages = [(str(row["id"]), ev.page_html(row), str(row["url"])) for row in rows]
    for rep in range(max(1, repeat)):
        seconds = dict.fromkeys(names, 0.0)
        for index, (pid, html, url) in enumerate(pages):
            k = index % len(names)
            for name in names[k:] + names[:k]:
                start = time.perf_counter()
                try:
                    text = extractors[name](html, url) or ""
                except Exception as exc:  # a crash is a miss, as the benchmark counts it
                    text = ""
                    errors[name][pid] = f"{type(exc).__name__}: {exc}"[:200]
                seconds[name] += time.perf_counter() - start
                if rep == 0:
                    texts[name][pid] = text
        for name in names:
            speeds[name].append(len(pages) / seconds[name] if seconds[name] else 0.0)
    return texts, speeds, errors


def score(ev: ModuleType, rows: Sequence[dict[str, Any]], texts: dict[str, str],
          errors: dict[str, str] | None = None) -> dict[str, Any]:
    """The benchmark's figures for ``texts`` over ``rows``, plus the number of empty pages."""
    result: dict[str, Any] = ev.score("", "", rows, texts, errors or {}, 0)
    result["empty"] = sum(1 for row in rows if not (texts.get(str(row["id"])) or "").strip())
    return result


def newsmon_figures(folder: Path, splits: Sequence[str] = ("tune",)) -> dict[str, dict[str, Any]]:
    """Quality only (no timing, no other extractor): newsmon's figures on ``splits``.

    Used by ``tests/test_extract_quality_gate.py`` (tune split only, to keep CI short and the
    held-out split unlooked-at).
    """
    ev = load_eval_module(folder)
    rows = ev.load("all")
    extract = newsmon_extractor()
    wanted = {str(row["id"]) for split in splits for row in split_rows(rows, split)}
    texts = {str(row["id"]): extract(ev.page_html(row), str(row["url"])) or ""
             for row in rows if str(row["id"]) in wanted}
    out = {}
    for split in splits:
        fig = score(ev, split_rows(rows, split), texts)
        out[split] = {key: fig[key] for key in ("precision", "recall", "f1", "empty")}
    return out


def report(ev: ModuleType, rows: Sequence[dict[str, Any]], splits: Sequence[str],
           texts: dict[str, dict[str, str]], speeds: dict[str, list[float]],
           errors: dict[str, dict[str, str]]) -> dict[str, Any]:
    """Print the table; return the figures per extractor and split (with per-page detail)."""
    reference = speeds.get("trafilatura")
    header = (f"{'extractor':<22} {'split':<9} {'pages':>5} {'P':>6} {'R':>6} {'F1':>6} "
              f"{'empty':>5} {'pages/s':>8} {'x traf':>7}")
    print(header)
    print("-" * len(header))
    figures: dict[str, Any] = {}
    for name in texts:
        pps = statistics.median(speeds[name])
        ratio = (statistics.median(a / b for a, b in zip(speeds[name], reference, strict=True))
                 if reference else float("nan"))
        figures[name] = {"pages_per_s": pps, "ratio_to_trafilatura": ratio}
        for index, split in enumerate(splits):
            fig = score(ev, split_rows(rows, split), texts[name], errors[name])
            figures[name][split] = fig
            speed = f"{pps:8.1f} {ratio:7.2f}" if index == len(splits) - 1 else f"{'':8} {'':7}"
            print(f"{name:<22} {split:<9} {fig['pages']:>5} {fig['precision']:6.3f} "
                  f"{fig['recall']:6.3f} {fig['f1']:6.3f} {fig['empty']:>5} {speed}")
    print(f"snippet benchmark: tune = first {TUNE_PAGES} ids, held_out = the rest; pages/s = "
          "median over passes of the pages run, same interleaved run")
    return figures


def tune_cv(ev: ModuleType, k: int) -> int:
    """newsmon per site-grouped fold of the tune split (held-out pages are not run)."""
    rows = split_rows(ev.load("all"), "tune")
    extract = newsmon_extractor()
    texts = {str(row["id"]): extract(ev.page_html(row), str(row["url"])) or "" for row in rows}
    print(f"{'fold':<6} {'pages':>5} {'sites':>5} {'P':>6} {'R':>6} {'F1':>6} {'empty':>5}")
    figs = []
    for number, fold in enumerate(site_folds(rows, k)):
        fig = score(ev, fold, texts)
        figs.append(fig)
        sites = len({site_of(str(row["url"])) for row in fold})
        print(f"{number:<6} {len(fold):>5} {sites:>5} {fig['precision']:6.3f} "
              f"{fig['recall']:6.3f} {fig['f1']:6.3f} {fig['empty']:>5}")
    whole = score(ev, rows, texts)
    print(f"{'tune':<6} {len(rows):>5} {'':>5} {whole['precision']:6.3f} {whole['recall']:6.3f} "
          f"{whole['f1']:6.3f} {whole['empty']:>5}")
    for metric in ("precision", "recall", "f1"):
        values = [fig[metric] for fig in figs]
        print(f"{metric:<9} fold mean {statistics.mean(values):.4f}  min {min(values):.4f}  "
              f"max {max(values):.4f}")
    print("tune split only, folds grouped by site; held-out pages are not run")
    return 0


def run(folder: Path, split: str, names: Sequence[str], repeat: int,
        json_path: Path | None = None) -> dict[str, Any]:
    """Measure and print; the figures (``json_path`` gets them with per-page detail)."""
    ev = load_eval_module(folder)
    rows = ev.load("all")
    splits = list(SPLITS) if split == "all" else [split]
    measured = split_rows(rows, split)
    texts, speeds, errors = measure(ev, build_extractors(names), measured, repeat)
    figures = report(ev, rows, splits, texts, speeds, errors)
    if json_path is not None:
        json_path.write_text(json.dumps(figures, indent=1, ensure_ascii=False), encoding="utf-8")
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=None, help="snippet-extraction folder")
    parser.add_argument("--split", choices=("tune", "held_out", "all"), default="tune",
                        help="pages to run (default tune; held_out/all are held-out looks)")
    parser.add_argument("--repeat", type=int, default=1, help="timed passes (median pages/s)")
    parser.add_argument("--baseline", action="append", choices=sorted(OTHERS), default=None,
                        help="other extractors (default: all of them)")
    parser.add_argument("--json", type=Path, help="write the figures (and per-page detail) here")
    parser.add_argument("--tune-cv", type=int, metavar="K", default=None,
                        help="newsmon only, tune split in K site-grouped folds")
    args = parser.parse_args(argv)
    folder = data_dir(args.data)
    if not available(folder):
        print(f"snippet benchmark not found in {folder} (set NEWSMON_SNIPPET_BENCHMARK)",
              file=sys.stderr)
        return 2
    if args.tune_cv:
        return tune_cv(load_eval_module(folder), args.tune_cv)
    run(folder, args.split, args.baseline or list(OTHERS), args.repeat, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())

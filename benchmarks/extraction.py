#!/usr/bin/env python3
"""Benchmark newsmon's article extraction against other extractors on both benchmarks, and gate it.

Data: the public article-extraction benchmark (181 real pages, Zyte/Scrapinghub, MIT) kept in
``../shared/benchmarks/article-extraction`` beside the repository (override with ``--data`` or
the ``NEWSMON_EXTRACTION_BENCHMARK`` environment variable).  Scoring is the benchmark's own,
imported from ``../shared/benchmarks/extraction_eval.py`` (token 4-shingles, per-page
precision/recall means, F1 of the means).

Pages are split by id order: the first 121 ids are the **tune** split (the rules in
``extractors/cleanup.py`` were developed on them), the last 60 the **held-out** split (never
inspected page by page); both are reported, with **all** 181.

Speed: every extractor runs on every page in the same pass, interleaved page by page (order
rotated per page), timing only the extraction call; pages/s is the median over ``--repeat``
passes, and "x traf" the median per-pass ratio to trafilatura defaults.

The second benchmark, 990 pages scored by snippets (``benchmarks/snippets.py``, data in
``../shared/benchmarks/snippet-extraction`` or ``NEWSMON_SNIPPET_BENCHMARK``), runs after it in
the same command unless ``--only articles``; ``--snippet-split`` picks its pages (default tune:
its held-out split is looked at only when asked for).  ``--check-floor`` checks both against
``benchmarks/extraction_floor.json``.

Usage (from the repository root, with the project's venv)::

    python benchmarks/extraction.py                 # both tables: newsmon vs the others
    python benchmarks/extraction.py --snippet-split all   # snippet held-out too (count the look)
    python benchmarks/extraction.py --repeat 3 --json out.json
    python benchmarks/extraction.py --check-floor   # exit 1 if below benchmarks/extraction_floor.json
    python benchmarks/extraction.py --tune-cv 5     # tune split only, 5 site-grouped folds

readability-lxml is a benchmark extra (``pip install readability-lxml==0.9``); it is skipped
with a note when missing.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
import snippets  # noqa: E402  (benchmarks/ is not a package)

SHARED_BENCHMARKS = REPO.parent / "shared" / "benchmarks"
FLOOR_FILE = Path(__file__).resolve().parent / "extraction_floor.json"
TUNE_PAGES = 121
METRICS = ("precision", "recall", "f1")

Extractor = Callable[[str, "str | None"], "str | None"]


def data_dir(explicit: Path | None = None) -> Path:
    """The benchmark folder: ``--data``, else ``$NEWSMON_EXTRACTION_BENCHMARK``, else shared."""
    if explicit is not None:
        return explicit
    env = os.environ.get("NEWSMON_EXTRACTION_BENCHMARK")
    if env:
        return Path(env)
    return SHARED_BENCHMARKS / "article-extraction"


def load_eval_module(benchmark_dir: Path) -> ModuleType:
    """Import ``extraction_eval.py`` (the benchmark's scoring) by path.

    It is looked for beside the data folder first, then in ``../shared/benchmarks``.
    """
    for candidate in (benchmark_dir.parent / "extraction_eval.py",
                      SHARED_BENCHMARKS / "extraction_eval.py"):
        if candidate.is_file():
            spec = importlib.util.spec_from_file_location("extraction_eval", candidate)
            if spec is None or spec.loader is None:
                continue
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module
    raise FileNotFoundError(
        f"extraction_eval.py not found beside {benchmark_dir} nor in {SHARED_BENCHMARKS}")


def split_pages(pages: Sequence[dict[str, Any]]) -> dict[str, list[int]]:
    """Indices of the tune (first 121 ids), held-out (the rest) and all pages."""
    order = sorted(range(len(pages)), key=lambda i: pages[i]["id"])
    return {"tune": order[:TUNE_PAGES], "held_out": order[TUNE_PAGES:], "all": order}


def score_split(ev: ModuleType, pages: Sequence[dict[str, Any]], texts: Sequence[str],
                indices: Sequence[int]) -> dict[str, float]:
    """Benchmark P/R/F1 (and empties) of ``texts`` over the pages at ``indices``."""
    result = ev.score([pages[i]["truth"] for i in indices], [texts[i] for i in indices],
                      n_bootstrap=0)
    empty = sum(1 for i in indices if not ev.tokens(texts[i]))
    return {"precision": result["precision"], "recall": result["recall"], "f1": result["f1"],
            "accuracy": result["accuracy"], "empty": float(empty)}


def newsmon_extractor() -> Extractor:
    """newsmon's benchmark entry point (``extractors.article.extract_text``)."""
    sys.path.insert(0, str(REPO))
    from extractors.article import extract_text

    return extract_text


def build_runners(ev: ModuleType, names: Sequence[str]) -> list[Any]:
    """``FunctionRunner``s for newsmon and the named builtins that are importable."""
    runners = [ev.FunctionRunner("newsmon", _newsmon_version(), newsmon_extractor(), 120.0)]
    for name in names:
        try:
            runners.append(ev.make_builtin(name, 120.0, True))
        except ImportError as exc:
            print(f"[{name}] skipped: {exc} (pip install readability-lxml==0.9 for readability)",
                  file=sys.stderr)
    return runners


def _newsmon_version() -> str:
    """Installed newsmon version, or 'src'."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("newsmon")
    except PackageNotFoundError:  # running from a checkout that was not installed
        return "src"


def measure(runners: Sequence[Any], pages: Sequence[dict[str, Any]],
            repeat: int) -> tuple[dict[str, list[str]], dict[str, list[float]]]:
    """Run every extractor on every page ``repeat`` times, interleaved; texts and pages/s."""
    texts: dict[str, list[str]] = {}
    speeds: dict[str, list[float]] = {r.name: [] for r in runners}
    for runner in runners:
        runner.warmup(pages)
    for rep in range(max(1, repeat)):
        got: dict[str, list[str]] = {r.name: [] for r in runners}
        seconds = {r.name: 0.0 for r in runners}
        for index, page in enumerate(pages):
            k = index % len(runners)
            for runner in list(runners[k:]) + list(runners[:k]):
                text, _err, wall, _cpu = runner.call(page)
                got[runner.name].append(text)
                seconds[runner.name] += wall
        for runner in runners:
            speeds[runner.name].append(len(pages) / seconds[runner.name])
            if rep == 0:
                texts[runner.name] = got[runner.name]
    return texts, speeds


def report(ev: ModuleType, pages: Sequence[dict[str, Any]], texts: dict[str, list[str]],
           speeds: dict[str, list[float]]) -> dict[str, Any]:
    """Print the table and return the figures (per extractor, per split, plus speed)."""
    splits = split_pages(pages)
    reference = speeds.get("trafilatura")
    figures: dict[str, Any] = {}
    header = (f"{'extractor':<24} {'split':<9} {'pages':>5} {'P':>6} {'R':>6} {'F1':>6} "
              f"{'empty':>5} {'pages/s':>8} {'x traf':>7}")
    print(header)
    print("-" * len(header))
    for name, extracted in texts.items():
        pps = statistics.median(speeds[name])
        ratio = statistics.median(a / b for a, b in zip(speeds[name], reference, strict=True)) \
            if reference else float("nan")
        figures[name] = {"pages_per_s": pps, "ratio_to_trafilatura": ratio}
        for split, indices in splits.items():
            fig = score_split(ev, pages, extracted, indices)
            figures[name][split] = fig
            speed = f"{pps:8.1f} {ratio:7.2f}" if split == "all" else f"{'':8} {'':7}"
            print(f"{name:<24} {split:<9} {len(indices):>5} {fig['precision']:6.3f} "
                  f"{fig['recall']:6.3f} {fig['f1']:6.3f} {int(fig['empty']):>5} {speed}")
    print("tune = first 121 page ids (rules developed there); held_out = last 60 (the figure "
          "that counts); pages/s = median over passes, same interleaved run")
    return figures


def check_floor(figures: dict[str, Any], floor_path: Path = FLOOR_FILE,
                snippet_figures: dict[str, Any] | None = None) -> list[str]:
    """Messages for every metric of newsmon below its floor (empty list = gate passes).

    ``figures`` are the 181-page benchmark's; ``snippet_figures`` (if measured) the snippet
    benchmark's, checked on the splits that were run.
    """
    floor = json.loads(floor_path.read_text("utf-8"))
    failures = []
    for split, limits in floor["floors"].items():
        for metric, minimum in limits.items():
            got = figures["newsmon"][split][metric]
            if got < minimum:
                failures.append(f"{split} {metric} {got:.4f} < floor {minimum:.4f}")
    if snippet_figures is not None:
        for split, limits in floor["snippets"]["floors"].items():
            if split not in snippet_figures["newsmon"]:
                continue
            for metric, minimum in limits.items():
                got = snippet_figures["newsmon"][split][metric]
                if got < minimum:
                    failures.append(f"snippets {split} {metric} {got:.4f} < floor {minimum:.4f}")
    return failures


def newsmon_figures(benchmark_dir: Path) -> dict[str, dict[str, float]]:
    """Quality only (no timing, no other extractor): newsmon's figures per split.

    Used by ``tests/test_extract_quality_gate.py``.
    """
    ev = load_eval_module(benchmark_dir)
    pages = ev.load_dataset(benchmark_dir)
    extract = newsmon_extractor()
    texts = [extract(page["html"], page["url"]) or "" for page in pages]
    return {split: score_split(ev, pages, texts, indices)
            for split, indices in split_pages(pages).items()}


def _site(url: str) -> str:
    """The host of ``url`` without ``www.`` (pages of one site share a fold)."""
    from urllib.parse import urlsplit

    host = urlsplit(url).hostname or url
    return host[4:] if host.startswith("www.") else host


def tune_folds(pages: Sequence[dict[str, Any]], k: int) -> list[list[int]]:
    """``k`` folds of the **tune** split only, grouped by site, sites dealt round-robin.

    Pages of one site stay in one fold, so a rule fitted to a site's template cannot look good
    on a fold "it was not designed from" merely because a sibling page of that site is there.
    """
    tune = split_pages(pages)["tune"]
    by_site: dict[str, list[int]] = {}
    for index in tune:
        by_site.setdefault(_site(pages[index]["url"]), []).append(index)
    folds: list[list[int]] = [[] for _ in range(k)]
    for site in sorted(by_site, key=lambda s: (-len(by_site[s]), s)):
        min(folds, key=len).extend(by_site[site])
    return folds


def tune_cv(ev: ModuleType, pages: Sequence[dict[str, Any]], k: int) -> int:
    """Score newsmon on the tune split per site-grouped fold; held-out pages are never run."""
    extract = newsmon_extractor()
    folds = tune_folds(pages, k)
    texts = {i: extract(pages[i]["html"], pages[i]["url"]) or "" for fold in folds for i in fold}
    print(f"{'fold':<6} {'pages':>5} {'P':>6} {'R':>6} {'F1':>6}")
    rows = []
    for number, fold in enumerate(folds):
        fig = score_split(ev, pages, [texts.get(i, "") for i in range(len(pages))], fold)
        rows.append(fig)
        print(f"{number:<6} {len(fold):>5} {fig['precision']:6.3f} {fig['recall']:6.3f} "
              f"{fig['f1']:6.3f}")
    for metric in METRICS:
        values = [row[metric] for row in rows]
        print(f"{metric:<9} mean {statistics.mean(values):.4f}  min {min(values):.4f}  "
              f"max {max(values):.4f}")
    print("tune split only (first 121 ids), folds grouped by site; held-out pages are not run")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: measure, print the table, optionally write JSON and check the floor."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=None, help="benchmark folder")
    parser.add_argument("--repeat", type=int, default=3, help="timed passes (median pages/s)")
    parser.add_argument("--baseline", action="append", default=None,
                        help="extraction_eval builtins to compare "
                             "(default: trafilatura, trafilatura-nocomments, readability)")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--check-floor", action="store_true",
                        help=f"exit 1 if newsmon is below {FLOOR_FILE.name}")
    parser.add_argument("--only", choices=("articles", "snippets"), default=None,
                        help="run one benchmark only (default: both)")
    parser.add_argument("--snippet-data", type=Path, default=None,
                        help="snippet-extraction folder (default $NEWSMON_SNIPPET_BENCHMARK or "
                             "../shared/benchmarks/snippet-extraction)")
    parser.add_argument("--snippet-split", choices=("tune", "held_out", "all"), default="tune",
                        help="snippet pages to run (default tune; held_out/all are held-out looks)")
    parser.add_argument("--snippet-repeat", type=int, default=1,
                        help="timed passes over the snippet pages (default 1)")
    parser.add_argument("--tune-cv", type=int, metavar="K", default=None,
                        help="score newsmon on the tune split only, in K site-grouped folds "
                             "(held-out pages are not run); for judging rule changes")
    args = parser.parse_args(argv)
    figures: dict[str, Any] | None = None
    snippet_figures: dict[str, Any] | None = None
    if args.only != "snippets":
        benchmark_dir = data_dir(args.data)
        if not (benchmark_dir / "ground-truth.json").is_file():
            print(f"benchmark data not found in {benchmark_dir} (set NEWSMON_EXTRACTION_BENCHMARK)",
                  file=sys.stderr)
            return 2
        ev = load_eval_module(benchmark_dir)
        pages = ev.load_dataset(benchmark_dir)
        if args.tune_cv:
            return tune_cv(ev, pages, args.tune_cv)
        baselines = args.baseline or ["trafilatura", "trafilatura-nocomments", "readability"]
        runners = build_runners(ev, baselines)
        texts, speeds = measure(runners, pages, args.repeat)
        print("== article-extraction benchmark (181 pages) ==")
        figures = report(ev, pages, texts, speeds)
    if args.only != "articles":
        folder = snippets.data_dir(args.snippet_data)
        if not snippets.available(folder):
            print(f"snippet benchmark not found in {folder} (set NEWSMON_SNIPPET_BENCHMARK)",
                  file=sys.stderr)
            return 2
        print(f"\n== snippet benchmark (990 pages; running {args.snippet_split}) ==")
        snippet_figures = snippets.run(folder, args.snippet_split, list(snippets.OTHERS),
                                       args.snippet_repeat)
    if args.json:
        both = {"articles": figures, "snippets": snippet_figures}
        for result in (snippet_figures or {}).values():
            for split in snippets.SPLITS:
                if isinstance(result, dict) and split in result:
                    result[split].pop("per_page", None)
        args.json.write_text(json.dumps(both, indent=1), encoding="utf-8")
    if args.check_floor:
        failures = check_floor(figures, snippet_figures=snippet_figures) if figures else \
            check_floor_snippets(snippet_figures)
        for failure in failures:
            print(f"FLOOR: {failure}", file=sys.stderr)
        return 1 if failures else 0
    return 0


def check_floor_snippets(snippet_figures: dict[str, Any] | None,
                         floor_path: Path = FLOOR_FILE) -> list[str]:
    """:func:`check_floor` for the snippet benchmark alone (``--only snippets``)."""
    if snippet_figures is None:
        return []
    floor = json.loads(floor_path.read_text("utf-8"))
    failures = []
    for split, limits in floor["snippets"]["floors"].items():
        for metric, minimum in limits.items():
            got = snippet_figures["newsmon"].get(split, {}).get(metric)
            if got is not None and got < minimum:
                failures.append(f"snippets {split} {metric} {got:.4f} < floor {minimum:.4f}")
    return failures


if __name__ == "__main__":
    sys.exit(main())

"""Quality gate: newsmon's extraction must not fall below the floors in
``benchmarks/extraction_floor.json`` on either extraction benchmark.

* The public article-extraction benchmark (181 real pages) lives outside the repository, in
  ``<repo>/../shared/benchmarks/article-extraction``; ``NEWSMON_EXTRACTION_BENCHMARK`` points
  elsewhere.  Scoring is the benchmark's own (``extraction_eval.py``), via
  ``benchmarks/extraction.py``; every split is checked.
* The snippet benchmark (990 pages, ``../shared/benchmarks/snippet-extraction`` or
  ``NEWSMON_SNIPPET_BENCHMARK``), via ``benchmarks/snippets.py``.  Only its **tune** split (740
  pages, about 30 s) is run here: it keeps CI short and the held-out split unlooked-at.

Without a benchmark its tests are skipped with the reason.  No timing is asserted here; speed is
reported by ``python benchmarks/extraction.py``.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
BENCH_DIR = REPO / "benchmarks"
FLOOR_FILE = BENCH_DIR / "extraction_floor.json"


def _bench_module(name: str) -> ModuleType:
    """Import ``benchmarks/<name>.py`` by path (benchmarks/ is not a package)."""
    if str(BENCH_DIR) not in sys.path:
        sys.path.insert(0, str(BENCH_DIR))
    spec = importlib.util.spec_from_file_location(f"newsmon_bench_{name}", BENCH_DIR / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def figures() -> dict[str, dict[str, float]]:
    bench = _bench_module("extraction")
    data = bench.data_dir()
    if not (data / "ground-truth.json").is_file():
        pytest.skip(f"EXTRACTION BENCHMARK MISSING: no ground-truth.json in {data}; "
                    "set NEWSMON_EXTRACTION_BENCHMARK to the article-extraction folder")
    result: dict[str, dict[str, float]] = bench.newsmon_figures(data)
    return result


@pytest.fixture(scope="module")
def snippet_figures() -> dict[str, dict[str, Any]]:
    bench = _bench_module("snippets")
    data = bench.data_dir()
    if not bench.available(data):
        pytest.skip(f"SNIPPET BENCHMARK MISSING: no annotations.jsonl and pages/ in {data}; "
                    "set NEWSMON_SNIPPET_BENCHMARK to the snippet-extraction folder")
    result: dict[str, dict[str, Any]] = bench.newsmon_figures(data, ("tune",))
    return result


def _floors() -> dict[str, Any]:
    floors: dict[str, Any] = json.loads(FLOOR_FILE.read_text("utf-8"))
    return floors


@pytest.mark.parametrize("split", ["tune", "held_out", "all"])
def test_quality_not_below_floor(figures: dict[str, dict[str, float]], split: str) -> None:
    floors = _floors()["floors"][split]
    got = figures[split]
    below = {m: (round(got[m], 4), floor) for m, floor in floors.items() if got[m] < floor}
    assert not below, f"{split}: below floor (got, floor): {below}"


def test_no_empty_page(figures: dict[str, dict[str, float]]) -> None:
    assert figures["all"]["empty"] == 0


def test_snippet_quality_not_below_floor(snippet_figures: dict[str, dict[str, Any]]) -> None:
    floors = _floors()["snippets"]["floors"]["tune"]
    got = snippet_figures["tune"]
    below = {m: (round(got[m], 4), floor) for m, floor in floors.items() if got[m] < floor}
    assert not below, f"snippet tune split: below floor (got, floor): {below}"


def test_snippet_no_empty_page(snippet_figures: dict[str, dict[str, Any]]) -> None:
    assert snippet_figures["tune"]["empty"] == 0

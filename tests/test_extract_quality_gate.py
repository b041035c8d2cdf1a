"""Quality gate: newsmon's extraction must not fall below the floors in
``benchmarks/extraction_floor.json`` on the public article-extraction benchmark.

The benchmark (181 real pages) lives outside the repository, in
``<repo>/../shared/benchmarks/article-extraction``; ``NEWSMON_EXTRACTION_BENCHMARK`` points
elsewhere.  Without it the test is skipped with the reason.  Scoring is the benchmark's own
(``extraction_eval.py``), via ``benchmarks/extraction.py``.  No timing is asserted here; speed is
reported by ``python benchmarks/extraction.py``.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
BENCH_SCRIPT = REPO / "benchmarks" / "extraction.py"
FLOOR_FILE = REPO / "benchmarks" / "extraction_floor.json"


def _bench_module() -> ModuleType:
    """Import ``benchmarks/extraction.py`` by path (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location("newsmon_bench_extraction", BENCH_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def figures() -> dict[str, dict[str, float]]:
    bench = _bench_module()
    data = bench.data_dir()
    if not (data / "ground-truth.json").is_file():
        pytest.skip(f"EXTRACTION BENCHMARK MISSING: no ground-truth.json in {data}; "
                    "set NEWSMON_EXTRACTION_BENCHMARK to the article-extraction folder")
    result: dict[str, dict[str, float]] = bench.newsmon_figures(data)
    return result


def _floors() -> dict[str, Any]:
    floors: dict[str, Any] = json.loads(FLOOR_FILE.read_text("utf-8"))["floors"]
    return floors


@pytest.mark.parametrize("split", ["tune", "held_out", "all"])
def test_quality_not_below_floor(figures: dict[str, dict[str, float]], split: str) -> None:
    floors = _floors()[split]
    got = figures[split]
    below = {m: (round(got[m], 4), floor) for m, floor in floors.items() if got[m] < floor}
    assert not below, f"{split}: below floor (got, floor): {below}"


def test_no_empty_page(figures: dict[str, dict[str, float]]) -> None:
    assert figures["all"]["empty"] == 0

"""Classification benchmark: per-topic P/R/F1, alert P/R, the keyword baseline, throughput.

Usage (from the repository root)::

    python benchmarks/classification.py                 # test split (the figures that count)
    python benchmarks/classification.py --split dev     # the tuning split
    python benchmarks/classification.py --check         # also exit 1 if below the floor file
    python benchmarks/classification.py --errors        # list misfiled items
    python benchmarks/classification.py --set real --split dev   # real reporting, development split
    python benchmarks/classification.py --set real      # real reporting, held-out split (a "look":
                                                        # logged in benchmarks/data/heldout_looks.log)

Two labelled sets: ``written`` (``tests/data/classification``, hand-written for the project) and
``real`` (``benchmarks/data/real_reporting.jsonl``, news coverage written by newsrooms; see
:mod:`classify.realset`). Each has a ``dev`` split (tuning) and a ``test`` split (held out).

Rows: ``newsmon`` (rules + packaged model, what ships), ``rules only`` (to show what the model
adds), ``keyword baseline`` (Google-Alerts style, :mod:`classify.baseline`). Throughput is measured
in-process (``Classifier.classify``) and, when ``newsmon`` is on PATH, through
``newsmon classify FILE --jsonl`` in a subprocess (wall time including start-up).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence

from classify.baseline import KeywordBaseline
from classify.classifier import Classifier, default_classifier
from classify.evaluation import (
    ALERT_TOPICS,
    FLOOR_PATH,
    Figures,
    Item,
    evaluate,
    floor_failures,
    load_items,
    load_real_items,
)
from classify.topics import load_topic_file

THROUGHPUT_ARTICLES = 3000


def main(argv: Sequence[str] | None = None) -> int:
    """Print the figures; with ``--check`` return 1 when below the floor."""
    args = _parse_args(argv)
    split = None if args.split == "all" else args.split
    items = load_real_items(split=split) if args.set == "real" else load_items(split=split)
    if not items:
        print("no labelled items found", file=sys.stderr)
        return 1
    shipped = default_classifier()
    tf = load_topic_file()
    rules_only = Classifier(tf.topics, scope=tf.scope, model=None)
    baseline = KeywordBaseline()
    topic_ids = shipped.topic_ids
    rows: dict[str, Figures] = {
        "newsmon": evaluate(items, _topics_of(shipped), topic_ids),
        "rules only": evaluate(items, _topics_of(rules_only), topic_ids),
        "keyword baseline": evaluate(items, baseline.predict, topic_ids),
    }
    if args.set == "real" and args.split in ("test", "all"):
        _log_look(args, rows["newsmon"])
    _print_header(f"{args.set}/{args.split}", items)
    _print_per_topic(rows, topic_ids)
    _print_alert(rows)
    if args.errors:
        _print_errors(rows["newsmon"])
    if not args.no_throughput:
        _print_throughput(shipped, items)
    if args.check:
        return _check_floor(rows["newsmon"], rows["keyword baseline"], args.set, args.split)
    return 0


LOOKS_LOG = pathlib.Path(__file__).resolve().parent / "data" / "heldout_looks.log"


def _log_look(args: argparse.Namespace, fig: Figures) -> None:
    """Append one line to the held-out looks ledger (each scoring of the real test split)."""
    LOOKS_LOG.parent.mkdir(parents=True, exist_ok=True)
    with LOOKS_LOG.open("a", encoding="utf-8") as fh:
        fh.write(
            f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} split={args.split} "
            f"alert P={fig.alert.precision:.3f} R={fig.alert.recall:.3f} "
            f"macroF1={fig.macro_f1:.3f} hardneg={fig.hard_negatives_alerted}/{fig.hard_negatives}\n"
        )
    n = sum(1 for _ in LOOKS_LOG.open(encoding="utf-8"))
    print(f"(held-out look #{n}, logged in {LOOKS_LOG.name})")


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--set", choices=("written", "real"), default="written",
                   help="hand-written set or real reporting")
    p.add_argument("--split", choices=("test", "dev", "all"), default="test")
    p.add_argument("--check", action="store_true", help="exit 1 when below the floor file")
    p.add_argument("--errors", action="store_true", help="list misfiled items")
    p.add_argument("--no-throughput", action="store_true", help="skip the timing runs")
    return p.parse_args(argv)


def _topics_of(clf: Classifier) -> Callable[[str, str], Iterable[str]]:
    """A predictor returning the assigned topic ids."""
    return lambda title, text: clf.classify(title, text).topics


def _print_header(split: str, items: Sequence[Item]) -> None:
    """Which data the figures are on."""
    kinds: dict[str, int] = {}
    for i in items:
        kinds[i.kind] = kinds.get(i.kind, 0) + 1
    alerts = sum(1 for i in items if any(t in ALERT_TOPICS for t in i.topics))
    detail = ", ".join(f"{k} {n}" for k, n in sorted(kinds.items()))
    print(f"{split}: {len(items)} items ({detail}); {alerts} alert-worthy")
    print()


def _print_per_topic(rows: dict[str, Figures], topic_ids: Sequence[str]) -> None:
    """Per-topic P/R/F1 for every row, one line per topic."""
    names = list(rows)
    head = f"{'topic':<19}{'n':>4}  " + "  ".join(f"{n:^20}" for n in names)
    print(head)
    print(f"{'':<19}{'':>4}  " + "  ".join(f"{'P     R     F1':^20}" for _ in names))
    for t in topic_ids:
        first = rows[names[0]].per_topic[t]
        support = first.tp + first.fn
        cells = []
        for n in names:
            prf = rows[n].per_topic[t]
            cells.append(f"{prf.precision:.2f}  {prf.recall:.2f}  {prf.f1:.2f}".center(20))
        print(f"{t:<19}{support:>4}  " + "  ".join(cells))
    macro = "  ".join(f"{'macro F1 ' + format(rows[n].macro_f1, '.3f'):^20}" for n in names)
    print(f"{'':<19}{'':>4}  {macro}")
    print()


def _print_alert(rows: dict[str, Figures]) -> None:
    """Alert-level (chip-export or cloud-policy) precision and recall per row."""
    for name, fig in rows.items():
        a = fig.alert
        print(
            f"alert {name:<17} P={a.precision:.3f} R={a.recall:.3f} F1={a.f1:.3f}"
            f"  (tp={a.tp} fp={a.fp} fn={a.fn}); hard negatives alerted "
            f"{fig.hard_negatives_alerted}/{fig.hard_negatives}"
        )
    print()


def _print_errors(fig: Figures) -> None:
    """Every misfiled item: id, expected, predicted."""
    print(f"misfiled ({len(fig.errors)}):")
    for item_id, expected, predicted in fig.errors:
        print(f"  {item_id:<8} expected={list(expected)} got={list(predicted)}")
    print()


def _print_throughput(clf: Classifier, items: Sequence[Item]) -> None:
    """Articles per second, in-process and through the CLI when available."""
    corpus = [items[i % len(items)] for i in range(THROUGHPUT_ARTICLES)]
    start = time.perf_counter()
    for it in corpus:
        clf.classify(it.title, it.text)
    elapsed = time.perf_counter() - start
    print(f"throughput in-process: {len(corpus) / elapsed:,.0f} articles/s ({len(corpus)} articles)")
    exe = shutil.which("newsmon") or _venv_newsmon()
    if exe is None:
        print("throughput via CLI: skipped (newsmon not on PATH)")
        return
    rate = _cli_rate(exe, corpus)
    if rate is None:
        print(f"throughput via CLI: skipped ({exe} classify --jsonl failed)")
    else:
        print(f"throughput via CLI: {rate:,.0f} articles/s ({exe} classify FILE --jsonl, "
              f"{len(corpus)} articles, wall time incl. start-up)")


def _venv_newsmon() -> str | None:
    """The ``newsmon`` script beside the running interpreter, if any."""
    cand = pathlib.Path(sys.executable).with_name("newsmon")
    return str(cand) if cand.exists() and os.access(cand, os.X_OK) else None


def _cli_rate(exe: str, corpus: Sequence[Item]) -> float | None:
    """Run ``newsmon classify FILE --jsonl`` over the corpus; articles/s or None on failure."""
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / "items.jsonl"
        with path.open("w", encoding="utf-8") as fh:
            for n, it in enumerate(corpus):
                fh.write(json.dumps({"id": f"{it.id}#{n}", "title": it.title, "text": it.text}))
                fh.write("\n")
        start = time.perf_counter()
        proc = subprocess.run(
            [exe, "classify", str(path), "--jsonl"],
            capture_output=True,
            text=True,
            check=False,
        )
        elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        print(proc.stderr.strip()[-500:], file=sys.stderr)
        return None
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    if len(lines) != len(corpus):
        print(f"CLI printed {len(lines)} lines for {len(corpus)} inputs", file=sys.stderr)
        return None
    return len(corpus) / elapsed


def _check_floor(fig: Figures, base: Figures, which: str, split: str) -> int:
    """Compare with the floor file's section for this set (test split only); print each failure;
    1 when any."""
    if split != "test":
        print("--check applies to the test split only", file=sys.stderr)
        return 2
    floor = json.loads(FLOOR_PATH.read_text(encoding="utf-8"))[which]
    failures = floor_failures(fig, base, floor)
    for f in failures:
        print(f"BELOW FLOOR: {f}")
    print("floor: OK" if not failures else f"floor: {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

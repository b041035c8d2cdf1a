"""The labelled evaluation set: loading, the fixed dev/test split, and the figures.

Split rule (fixed before tuning, see ``tests/data/classification/README.md``): an item is in
``test`` when ``int(sha256(group).hexdigest()[:8], 16) % 10 < 4``, else ``dev``. Items sharing a
group (syndicated copies of one story) always land in the same split.
"""

from __future__ import annotations

import hashlib
import json
import pathlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ALERT_TOPICS",
    "DATA_DIR",
    "FLOOR_PATH",
    "PRF",
    "Figures",
    "Item",
    "evaluate",
    "floor_failures",
    "load_items",
    "load_real_items",
    "split_of",
]

DATA_DIR = pathlib.Path(__file__).resolve().parent.parent / "tests" / "data" / "classification"
ALERT_TOPICS: tuple[str, ...] = ("chip-export", "cloud-policy")
FLOOR_PATH = DATA_DIR.parent.parent.parent / "benchmarks" / "classification_floor.json"


def split_of(group: str) -> str:
    """``"test"`` or ``"dev"`` for an item group, by the fixed hash rule."""
    bucket = int(hashlib.sha256(group.encode()).hexdigest()[:8], 16) % 10
    return "test" if bucket < 4 else "dev"


@dataclass(frozen=True, slots=True)
class Item:
    """One labelled item of the evaluation set."""

    id: str
    group: str
    title: str
    text: str
    topics: tuple[str, ...]
    kind: str
    note: str = ""
    fixed_split: str = ""
    """The split written into the data file (real-reporting set); empty = by :func:`split_of`."""

    @property
    def split(self) -> str:
        """The split this item belongs to."""
        return self.fixed_split or split_of(self.group)

    @property
    def is_hard_negative(self) -> bool:
        """An off-topic item that shares words with the topics."""
        return self.kind.replace("_", "-") == "hard-negative"


def load_items(data_dir: pathlib.Path = DATA_DIR, split: str | None = None) -> list[Item]:
    """Read every ``items_*.jsonl`` file (sorted), optionally keeping one split.

    A line that is not yet complete JSON (a writer mid-append) is an error: the set must be whole.
    """
    items: list[Item] = []
    for path in sorted(data_dir.glob("items_*.jsonl")):
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{lineno}: not JSON ({exc})") from exc
            items.append(_item_from(obj))
    if split is not None:
        items = [i for i in items if i.split == split]
    return items


def load_real_items(split: str | None = None, path: pathlib.Path | None = None) -> list[Item]:
    """The real-reporting set (:mod:`classify.realset`) as evaluation items, its written split kept."""
    from classify.realset import REAL_SET_PATH, load_real

    items = [
        Item(
            id=r.id,
            group=r.group,
            title=r.headline,
            text=r.text,
            topics=r.labels,
            kind=r.kind,
            note=r.why,
            fixed_split=r.split,
        )
        for r in load_real(path or REAL_SET_PATH)
    ]
    return [i for i in items if split is None or i.split == split]


def _item_from(obj: dict[str, object]) -> Item:
    """Build an Item from a JSON object, with the group defaulting to the id."""
    item_id = str(obj["id"])
    topics = obj.get("topics") or []
    assert isinstance(topics, list)
    return Item(
        id=item_id,
        group=str(obj.get("group") or item_id),
        title=str(obj.get("title", "")),
        text=str(obj.get("text", "")),
        topics=tuple(str(t) for t in topics),
        kind=str(obj.get("kind", "")),
        note=str(obj.get("note", "")),
    )


@dataclass(frozen=True, slots=True)
class PRF:
    """Precision, recall, F1 and the counts behind them."""

    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        """tp / (tp + fp); 1.0 when nothing was predicted."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        """tp / (tp + fn); 1.0 when nothing was expected."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass(frozen=True, slots=True)
class Figures:
    """Per-topic and alert-level figures of one predictor on one set of items."""

    n_items: int
    per_topic: dict[str, PRF]
    alert: PRF
    errors: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...]
    hard_negatives: int = 0
    hard_negatives_alerted: int = 0

    @property
    def hard_negative_alert_rate(self) -> float:
        """Share of hard negatives that raised an alert (0.0 when there are none)."""
        return self.hard_negatives_alerted / self.hard_negatives if self.hard_negatives else 0.0

    @property
    def macro_f1(self) -> float:
        """Mean per-topic F1."""
        return sum(p.f1 for p in self.per_topic.values()) / max(1, len(self.per_topic))


Predictor = Callable[[str, str], Iterable[str]]


def evaluate(
    items: Sequence[Item],
    predict: Predictor,
    topic_ids: Sequence[str],
    alert_topics: Sequence[str] = ALERT_TOPICS,
) -> Figures:
    """Run ``predict(title, text)`` on every item and count per-topic and alert hits.

    An item is an alert when it has any of ``alert_topics``; ``errors`` lists
    (id, expected, predicted) for every item whose topic set is wrong.
    """
    counts = {t: [0, 0, 0] for t in topic_ids}
    alert = [0, 0, 0]
    errors = []
    negatives = negatives_alerted = 0
    for item in items:
        predicted = set(predict(item.title, item.text))
        expected = set(item.topics)
        if item.is_hard_negative:
            negatives += 1
            negatives_alerted += any(t in predicted for t in alert_topics)
        for t in topic_ids:
            _tally(counts[t], t in expected, t in predicted)
        _tally(
            alert,
            any(t in expected for t in alert_topics),
            any(t in predicted for t in alert_topics),
        )
        if predicted != expected:
            errors.append((item.id, tuple(sorted(expected)), tuple(sorted(predicted))))
    return Figures(
        n_items=len(items),
        per_topic={t: PRF(*c) for t, c in counts.items()},
        alert=PRF(*alert),
        errors=tuple(errors),
        hard_negatives=negatives,
        hard_negatives_alerted=negatives_alerted,
    )


def _tally(cell: list[int], expected: bool, predicted: bool) -> None:
    """Add one decision to a [tp, fp, fn] cell."""
    if expected and predicted:
        cell[0] += 1
    elif predicted:
        cell[1] += 1
    elif expected:
        cell[2] += 1


def floor_failures(fig: Figures, base: Figures, floor: Mapping[str, Any]) -> list[str]:
    """The floor-file conditions that ``fig`` (vs the keyword baseline ``base``) does not meet.

    Keys: ``alert_precision``, ``alert_recall``, ``topic_f1`` {topic: min F1},
    ``alert_f1_margin_over_baseline``, ``macro_f1_margin_over_baseline``; optional ``macro_f1``
    (minimum) and ``hard_negative_alert_rate`` (maximum share of hard negatives alerted).
    """
    out: list[str] = []
    if "macro_f1" in floor and fig.macro_f1 < float(floor["macro_f1"]):
        out.append(f"macro F1: {fig.macro_f1:.3f} < {floor['macro_f1']}")
    if "hard_negative_alert_rate" in floor and (
        fig.hard_negative_alert_rate > float(floor["hard_negative_alert_rate"])
    ):
        out.append(
            f"hard negatives alerted: {fig.hard_negatives_alerted}/{fig.hard_negatives} = "
            f"{fig.hard_negative_alert_rate:.3f} > {floor['hard_negative_alert_rate']}"
        )
    checks = [
        ("alert precision", fig.alert.precision, float(floor["alert_precision"])),
        ("alert recall", fig.alert.recall, float(floor["alert_recall"])),
    ]
    checks += [
        (f"{topic_id} F1", fig.per_topic[topic_id].f1, float(minimum))
        for topic_id, minimum in dict(floor["topic_f1"]).items()
    ]
    checks += [
        (
            f"alert F1 margin over baseline ({fig.alert.f1:.3f} vs {base.alert.f1:.3f})",
            fig.alert.f1 - base.alert.f1,
            float(floor["alert_f1_margin_over_baseline"]),
        ),
        (
            f"macro F1 margin over baseline ({fig.macro_f1:.3f} vs {base.macro_f1:.3f})",
            fig.macro_f1 - base.macro_f1,
            float(floor["macro_f1_margin_over_baseline"]),
        ),
    ]
    for name, value, minimum in checks:
        if value < minimum:
            out.append(f"{name}: {value:.3f} < {minimum}")
    return out

"""Quality gate: the held-out figures must not fall below benchmarks/classification_floor.json, on
both labelled sets — the hand-written one (tests/data/classification, section ``written``) and the
one built from real reporting (benchmarks/data/real_reporting.jsonl, section ``real``).

The same computation as ``python benchmarks/classification.py [--set real] --check`` (without
timing). Also checks both split rules, that no story sits on both sides of a split, and that the
shipped model never saw a held-out item.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter

import pytest

from classify import default_classifier
from classify.baseline import KeywordBaseline
from classify.evaluation import (
    FLOOR_PATH,
    Item,
    evaluate,
    floor_failures,
    load_items,
    load_real_items,
    split_of,
)
from classify.model import DEFAULT_MODEL_PATH
from classify.realset import ALERT_TOPICS, canonical_url, load_real


def _documented_split(group: str) -> str:
    """The written set's rule as tests/data/classification/README.md states it."""
    return "test" if int(hashlib.sha256(group.encode()).hexdigest()[:8], 16) % 10 < 4 else "dev"


def test_written_split_rule_is_the_documented_one() -> None:
    groups = [f"g-{n}" for n in range(2000)]
    assert [split_of(g) for g in groups] == [_documented_split(g) for g in groups]
    assert split_of("a-001") == "dev" and split_of("a-002") == "test"  # pinned values
    share = sum(split_of(g) == "test" for g in groups) / len(groups)
    assert 0.35 < share < 0.45
    for item in load_items():
        assert item.split == _documented_split(item.group)


def test_copies_of_a_story_share_a_split() -> None:
    for items in (load_items(), load_real_items()):
        by_group: dict[str, set[str]] = {}
        for item in items:
            by_group.setdefault(item.group, set()).add(item.split)
        assert all(len(splits) == 1 for splits in by_group.values())


def test_real_set_is_whole_and_its_split_stratified() -> None:
    real = load_real()
    assert len(real) >= 520
    assert sum(r.kind == "hard_negative" for r in real) >= 120
    assert sum(r.kind == "positive" for r in real) >= 400
    assert len({r.id for r in real}) == len(real)
    urls = [canonical_url(r.url) for r in real]
    assert len(set(urls)) == len(urls), "the same article twice"
    for r in real:
        assert len(r.text.split()) >= 100 and r.url.startswith("http") and r.why and r.story
        if r.kind == "hard_negative":
            assert not set(r.labels) & set(ALERT_TOPICS)
    alert = Counter(r.split for r in real if set(r.labels) & set(ALERT_TOPICS))
    negatives = Counter(r.split for r in real if r.kind == "hard_negative")
    for counts in (alert, negatives):
        assert 0.2 < counts["test"] / (counts["test"] + counts["dev"]) < 0.4


def test_model_was_trained_on_dev_only() -> None:
    if not DEFAULT_MODEL_PATH.exists():
        pytest.skip("no trained model shipped (rules only)")
    doc = json.loads(DEFAULT_MODEL_PATH.read_text(encoding="utf-8"))
    assert doc["trained_on"]["split"] == "dev"
    seen = set(doc["trained_on"]["real_ids"])
    held_out = {i.id for i in load_real_items(split="test")}
    assert seen and not seen & held_out
    assert seen <= {i.id for i in load_real_items(split="dev")}


@pytest.mark.parametrize(
    ("section", "loader"),
    [("written", lambda: load_items(split="test")), ("real", lambda: load_real_items(split="test"))],
)
def test_held_out_split_meets_the_floor(section: str, loader: object) -> None:
    assert callable(loader)
    items: list[Item] = loader()
    assert len(items) >= 50, f"the {section} held-out split is missing or tiny"
    clf = default_classifier()
    topic_ids = clf.topic_ids
    figures = evaluate(items, lambda t, x: clf.classify(t, x).topics, topic_ids)
    baseline = evaluate(items, KeywordBaseline().predict, topic_ids)
    floor = json.loads(FLOOR_PATH.read_text(encoding="utf-8"))[section]
    failures = floor_failures(figures, baseline, floor)
    assert not failures, f"{section}: " + "; ".join(failures)

"""Quality gate: the test-split figures must not fall below benchmarks/classification_floor.json.

The same computation as ``python benchmarks/classification.py --check`` (without timing).
Also checks the dev/test split rule and that the test split was not used for training.
"""

from __future__ import annotations

import json

import pytest

from classify import default_classifier
from classify.baseline import KeywordBaseline
from classify.evaluation import (
    FLOOR_PATH,
    Item,
    evaluate,
    floor_failures,
    load_items,
    split_of,
)
from classify.model import DEFAULT_MODEL_PATH


@pytest.fixture(scope="module")
def test_items() -> list[Item]:
    items = load_items(split="test")
    assert len(items) >= 50, "the labelled test split is missing or tiny"
    return items


def test_split_rule_is_the_documented_one() -> None:
    assert split_of("a-001") == split_of("a-001")
    assert {split_of(f"g-{n}") for n in range(50)} == {"dev", "test"}
    share = sum(split_of(f"g-{n}") == "test" for n in range(2000)) / 2000
    assert 0.35 < share < 0.45
    for item in load_items():
        assert item.split == split_of(item.group)


def test_copies_of_a_story_share_a_split() -> None:
    by_group: dict[str, set[str]] = {}
    for item in load_items():
        by_group.setdefault(item.group, set()).add(item.split)
    assert all(len(splits) == 1 for splits in by_group.values())


def test_model_was_trained_on_dev_only() -> None:
    if not DEFAULT_MODEL_PATH.exists():
        pytest.skip("no trained model shipped (rules only)")
    doc = json.loads(DEFAULT_MODEL_PATH.read_text(encoding="utf-8"))
    assert doc["trained_on"]["split"] == "dev"


def test_test_split_meets_the_floor(test_items: list[Item]) -> None:
    clf = default_classifier()
    topic_ids = clf.topic_ids
    figures = evaluate(test_items, lambda t, x: clf.classify(t, x).topics, topic_ids)
    baseline = evaluate(test_items, KeywordBaseline().predict, topic_ids)
    floor = json.loads(FLOOR_PATH.read_text(encoding="utf-8"))
    failures = floor_failures(figures, baseline, floor)
    assert not failures, "; ".join(failures)

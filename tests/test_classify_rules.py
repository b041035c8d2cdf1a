"""Rule semantics of the topic file: windows, scope, counter-vocabulary, precedence, context."""

from __future__ import annotations

import pathlib

from classify import Classifier
from classify.topics import load_topic_file

FILE = """
version = 1
[scope]
min_weight = 1.5
[scope.vocabulary]
"China" = 1
"Nvidia" = 0.5

[[topics]]
id = "alpha"
description = "Alpha."
threshold = 3.0
[topics.vocabulary]
"alpha" = 1
[[topics.rules]]
name = "alpha near beta"
weight = 3
window = 5
all_of = [["alpha"], ["beta"]]

[[topics]]
id = "gamma"
description = "Gamma, unless delta."
threshold = 2.0
excluded_by = ["alpha"]
requires_any = ["context"]
[topics.vocabulary]
"gamma" = 3
[topics.counter_vocabulary]
"gamma ray" = 5

[[topics]]
id = "minor"
description = "Gives way to alpha when alpha is clearly stronger."
threshold = 2.0
yields_to = { alpha = 0.05 }
[topics.vocabulary]
"minor" = 2
"""


def _clf(tmp_path: pathlib.Path) -> Classifier:
    path = tmp_path / "t.toml"
    path.write_text(FILE, encoding="utf-8")
    tf = load_topic_file(path)
    return Classifier(tf.topics, scope=tf.scope)


def test_rule_fires_only_within_its_window(tmp_path: pathlib.Path) -> None:
    clf = _clf(tmp_path)
    near = clf.classify("China China", "alpha beta here.")
    assert near.topics == ("alpha",)
    assert near.evidence["alpha"] == ("alpha near beta", "alpha")
    far = clf.classify("China China", "alpha " + "word " * 20 + "beta")
    assert "alpha" not in far.topics


def test_scope_counts_repeated_places_but_not_a_single_company(tmp_path: pathlib.Path) -> None:
    clf = _clf(tmp_path)
    assert clf.classify("", "alpha beta. China.").topics == ()  # 1.0 < 1.5
    assert clf.classify("", "alpha beta. China and China.").topics == ("alpha",)
    assert clf.classify("", "alpha beta. Nvidia, Nvidia, Nvidia.").topics == ()


def test_counter_vocabulary_context_and_exclusion(tmp_path: pathlib.Path) -> None:
    clf = _clf(tmp_path)
    assert clf.classify("China China", "gamma in context").topics == ("gamma",)
    assert clf.classify("China China", "gamma without it").topics == ()
    assert clf.classify("China China", "gamma ray in context").topics == ()
    both = clf.classify("China China", "gamma in context; alpha beta")
    assert both.topics == ("alpha",)
    assert both.scores["gamma"] >= 0.5  # scored, but excluded by alpha


def test_yields_to_a_clearly_stronger_topic(tmp_path: pathlib.Path) -> None:
    clf = _clf(tmp_path)
    assert clf.classify("China China", "minor").topics == ("minor",)
    strong = clf.classify("alpha beta alpha", "China China alpha beta minor")
    assert strong.topics == ("alpha",)


def test_plural_and_case_rules(tmp_path: pathlib.Path) -> None:
    clf = _clf(tmp_path)
    assert "alpha" in clf.classify("CHINA china", "Alphas BETAS").topics

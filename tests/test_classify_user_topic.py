"""A topic added in the topic file works with no code change (rules only, no model weights)."""

from __future__ import annotations

import pathlib

from classify import Classifier, default_classifier, load_topics
from classify.topics import DEFAULT_TOPICS_PATH

EXTRA = """

[[topics]]
id = "quantum"
description = "The US-China contest in quantum computing."
threshold = 4.0
examples = ["China claims a quantum advantage on a new superconducting chip"]

[topics.vocabulary]
"quantum computer" = 3
"quantum computing" = 3
"qubit" = 2
"quantum advantage" = 3

[topics.counter_vocabulary]
"quantum leap" = 4
"""

QUANTUM_TITLE = "Chinese lab unveils 500-qubit quantum computer"
QUANTUM_TEXT = (
    "Researchers in Hefei said their superconducting quantum computer reached 500 qubits, "
    "narrowing the gap with US rivals in quantum computing."
)


def _user_file(tmp_path: pathlib.Path) -> pathlib.Path:
    path = tmp_path / "topics.toml"
    path.write_text(DEFAULT_TOPICS_PATH.read_text(encoding="utf-8") + EXTRA, encoding="utf-8")
    return path


def test_user_topic_is_loaded_and_classified(tmp_path: pathlib.Path) -> None:
    path = _user_file(tmp_path)
    assert [t.id for t in load_topics(path)][-1] == "quantum"
    clf = default_classifier(path)
    c = clf.classify(QUANTUM_TITLE, QUANTUM_TEXT)
    assert "quantum" in c.topics
    assert "quantum computer" in c.evidence["quantum"]
    assert list(c.scores)[-1] == "quantum"
    assert default_classifier(path) is clf


def test_user_topic_respects_scope_and_counter_vocabulary(tmp_path: pathlib.Path) -> None:
    clf = default_classifier(_user_file(tmp_path))
    no_scope = clf.classify(
        "Dutch start-up builds a quantum computer",
        "A Delft company said its quantum computer reached 50 qubits of quantum computing power.",
    )
    assert "quantum" not in no_scope.topics
    leap = clf.classify(
        "A quantum leap for Chinese retail",
        "Chinese shoppers made a quantum leap in online spending, a quantum computing fan said.",
    )
    assert "quantum" not in leap.topics


def test_from_topics_with_only_the_user_topic(tmp_path: pathlib.Path) -> None:
    quantum = load_topics(_user_file(tmp_path))[-1]
    clf = Classifier.from_topics([quantum])
    c = clf.classify(QUANTUM_TITLE, QUANTUM_TEXT)
    assert c.topics == ("quantum",)
    assert set(c.scores) == {"quantum"}

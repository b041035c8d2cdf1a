"""Topic-file loading: the packaged file, a good user file, and bad files naming the key."""

from __future__ import annotations

import pathlib

import pytest

from classify.topics import DEFAULT_TOPICS_PATH, Topic, load_topic_file, load_topics
from newsmon.errors import ConfigError

CONTRACT_TOPICS = (
    "chip-export",
    "cloud-policy",
    "cloud-competition",
    "foundation-models",
    "investment",
    "regulation",
    "talent",
)

GOOD = """
version = 1
[scope]
vocabulary = ["China", "US"]

[[topics]]
id = "quantum"
description = "Quantum computing contest."
threshold = 2.5
examples = ["China unveils a quantum computer"]
[topics.vocabulary]
"quantum computer" = 3
"qubit" = 2
[topics.counter_vocabulary]
"quantum leap" = 3
[[topics.rules]]
name = "quantum + export"
all_of = [["quantum"], ["export control"]]
weight = 2
"""


def _write(tmp_path: pathlib.Path, text: str) -> pathlib.Path:
    path = tmp_path / "topics.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_packaged_file_has_the_contract_topics_in_order() -> None:
    topics = load_topics()
    assert tuple(t.id for t in topics) == CONTRACT_TOPICS
    assert all(isinstance(t, Topic) and t.description and t.vocabulary for t in topics)
    assert all(t.examples for t in topics)
    assert load_topics(DEFAULT_TOPICS_PATH) == topics


def test_good_user_file_loads_every_field(tmp_path: pathlib.Path) -> None:
    tf = load_topic_file(_write(tmp_path, GOOD))
    (topic,) = tf.topics
    assert topic.id == "quantum"
    assert topic.threshold == 2.5
    assert topic.vocabulary == {"quantum computer": 3.0, "qubit": 2.0}
    assert topic.counter_vocabulary == {"quantum leap": 3.0}
    assert topic.rules[0].name == "quantum + export"
    assert topic.rules[0].all_of == (("quantum",), ("export control",))
    assert topic.requires_scope is True
    assert tf.scope.vocabulary == {"China": 1.0, "US": 1.0}


@pytest.mark.parametrize(
    ("text", "key"),
    [
        (GOOD.replace('id = "quantum"', 'id = "Quantum Topic"'), "topics[0].id"),
        (GOOD.replace('threshold = 2.5', 'threshold = "high"'), "topics.quantum.threshold"),
        (GOOD.replace('"qubit" = 2', '"qubit" = "two"'), 'topics.quantum.vocabulary."qubit"'),
        (GOOD.replace('description = "Quantum computing contest."', ""), "topics.quantum.description"),
        (GOOD.replace("threshold = 2.5", "treshold = 2.5"), "topics[0].treshold"),
        (GOOD.replace('all_of = [["quantum"], ["export control"]]', "all_of = []"),
         "topics.quantum.rules[0].all_of"),
        (GOOD.replace("[scope]", "[scope]\nmin_weight = true"), "scope.min_weight"),
        (GOOD + '\n[[topics]]\nid = "quantum"\ndescription = "again"\nvocabulary = ["x"]\n',
         "topics.quantum.id"),
        ("version = 1\n", "topics"),
    ],
)
def test_bad_file_raises_config_error_naming_the_key(
    tmp_path: pathlib.Path, text: str, key: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_topics(path)
    assert info.value.key == key
    assert info.value.path == str(path)
    assert key in str(info.value)


def test_malformed_toml_and_missing_file(tmp_path: pathlib.Path) -> None:
    with pytest.raises(ConfigError, match="valid TOML"):
        load_topics(_write(tmp_path, "[[topics]\nid = 'x'"))
    with pytest.raises(ConfigError, match="existing topic file"):
        load_topics(tmp_path / "nope.toml")

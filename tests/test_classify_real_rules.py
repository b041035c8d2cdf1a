"""The mechanisms added for real reporting: a trained model that may decide a rule-gated topic
(and says so in the evidence), the headline deciding which topic a story is about, per-topic model
weights, and the contract classes the issue names — on the packaged topic file and model."""

from __future__ import annotations

import pathlib

import pytest

from classify import Classifier, default_classifier
from classify.classifier import MODEL_EVIDENCE
from classify.model import LinearModel, _TopicWeights
from classify.topics import load_topic_file
from newsmon.errors import ConfigError

FILE = """
version = 1
[scope]
min_weight = 1.0
[scope.vocabulary]
"China" = 1

[[topics]]
id = "ctrl"
description = "Controls."
threshold = 3.0
requires_rule = true
{extra}
yields_to = {{ money = 0.5 }}
[topics.vocabulary]
"export control" = 2
[[topics.rules]]
name = "controls on chips"
weight = 3
all_of = [["export control"], ["chips"]]

[[topics]]
id = "money"
description = "Money."
threshold = 2.0
[topics.vocabulary]
"fund" = 2
"""


def _clf(tmp_path: pathlib.Path, extra: str, prob: float) -> Classifier:
    path = tmp_path / "t.toml"
    path.write_text(FILE.format(extra=extra), encoding="utf-8")
    tf = load_topic_file(path)
    # a one-feature model: "lithography" pushes ctrl to ``prob``
    import math

    logit = math.log(prob / (1 - prob))
    model = LinearModel(
        idf={"lithography": 1.0, "zzz": 1.0},
        topics={"ctrl": _TopicWeights(intercept=-30.0, weights={"lithography": 30.0 + logit})},
    )
    return Classifier(tf.topics, scope=tf.scope, model=model, model_weight=0.0)


def test_model_rescue_decides_a_rule_gated_topic_and_says_so(tmp_path: pathlib.Path) -> None:
    text = "China tightened its export control on lithography machines."  # no "chips": no rule
    sure = _clf(tmp_path, "model_rescue = 0.8", prob=0.9).classify("Export control", text)
    assert sure.topics == ("ctrl",)
    assert sure.evidence["ctrl"][0] == f"{MODEL_EVIDENCE} 0.90"
    assert "export control" in sure.evidence["ctrl"]
    unsure = _clf(tmp_path, "model_rescue = 0.8", prob=0.7).classify("Export control", text)
    assert unsure.topics == ()
    off = _clf(tmp_path, "", prob=0.99).classify("Export control", text)
    assert off.topics == ()  # no model_rescue key: the rule gate holds
    # rules that fire decide without the model, and the evidence names no model
    fired = _clf(tmp_path, "model_rescue = 0.8", prob=0.9).classify(
        "Export control", "China tightened its export control on chips.")
    assert fired.topics == ("ctrl",) and all(MODEL_EVIDENCE not in e for e in fired.evidence["ctrl"])


def test_headline_names_the_story_subject(tmp_path: pathlib.Path) -> None:
    clf = _clf(tmp_path, "", prob=0.5)
    body = "China's export control on chips came up. " * 3 + "The fund invests in chips and China."
    about_money = clf.classify("China fund raises money", body)
    assert about_money.topics == ("money",)  # ctrl is context: the headline names money only
    about_ctrl = clf.classify("China export control on chips", body)
    assert "ctrl" in about_ctrl.topics


@pytest.mark.parametrize("value", ["1.5", "-0.1", '"high"'])
def test_model_keys_are_validated(tmp_path: pathlib.Path, value: str) -> None:
    path = tmp_path / "t.toml"
    path.write_text(FILE.format(extra=f"model_rescue = {value}"), encoding="utf-8")
    with pytest.raises(ConfigError, match="model_rescue"):
        load_topic_file(path)


@pytest.mark.parametrize(
    ("title", "text", "expected"),
    [
        (
            "Pentagon bars China-based engineers from its cloud systems",
            "The Defense Department told Microsoft and other cloud providers that engineers based in "
            "China may no longer support Pentagon cloud systems, after a review of the company's "
            "digital escort arrangement. Senators had asked the Pentagon to audit the contracts.",
            {"cloud-policy"},
        ),
        (
            "US adds drone makers to trade blacklist",
            "The Commerce Department added six Chinese drone makers to the Entity List for supplying "
            "drone engines to Russia. Exporters now need a licence; the Bureau of Industry and "
            "Security said the drones were used in Ukraine. China's commerce ministry objected.",
            set(),
        ),
        (
            "China's $47 billion Big Fund III starts investing in chipmakers",
            "China's third state chip investment fund, Big Fund III, made its first investments, "
            "putting 10 billion yuan into two chip toolmakers, as US export controls bite. The fund "
            "raised 344 billion yuan from state banks and local governments.",
            {"investment"},
        ),
    ],
)
def test_contract_classes_the_issue_names(title: str, text: str, expected: set[str]) -> None:
    alert = {"chip-export", "cloud-policy"}
    got = set(default_classifier().classify(title, text).topics)
    assert got & alert == expected & alert, got

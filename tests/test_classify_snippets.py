"""Hand-written snippets: clear positives, hard negatives, the shape of a Classification."""

from __future__ import annotations

import pytest

from classify import classify, default_classifier, load_topics

POSITIVES = [
    (
        "US adds Chinese AI chip buyers to Entity List",
        "The Commerce Department's Bureau of Industry and Security added a dozen Chinese firms to "
        "the Entity List on Tuesday, saying they had bought Nvidia accelerators for military end "
        "uses. Exporters now need a licence to ship them any item subject to US export controls.",
        "chip-export",
    ),
    (
        "Washington proposes know-your-customer rules for cloud providers",
        "The US Commerce Department proposed a rule requiring infrastructure-as-a-service "
        "providers to verify the identity of foreign customers training large AI models, in an "
        "effort to stop Chinese developers from renting restricted computing power remotely.",
        "cloud-policy",
    ),
    (
        "China expands its national computing-power network with new hubs",
        "Beijing's planning agency said eight new hubs will join the national computing-power "
        "network, and local governments will hand out compute vouchers so that small AI firms "
        "can rent capacity in state data centres at subsidised prices.",
        "cloud-policy",
    ),
    (
        "State lawmakers pass bill on deepfakes in election ads",
        "Legislators in California approved a bill requiring campaigns to label AI-generated "
        "political ads and letting candidates sue over deceptive deepfakes; the governor has "
        "until next month to sign it into law, and the state attorney general would enforce it.",
        "regulation",
    ),
    (
        "China publishes draft rules on security of generative AI training data",
        "The Cyberspace Administration of China released draft measures requiring providers of "
        "generative AI services to screen training data for illegal content and complete a "
        "security assessment before public launch; comments are open for a month.",
        "regulation",
    ),
    (
        "US and Chinese envoys discuss AI risks and human control of nuclear weapons",
        "Officials from Washington and Beijing met for a dialogue on AI safety governance, "
        "reaffirming that humans, not artificial intelligence, should keep control over "
        "decisions to use nuclear weapons, and agreed to keep talking on AI risks.",
        "regulation",
    ),
]

HARD_NEGATIVES = [
    (
        "Potato chip maker expands exports to China",
        "A US snack company said its potato chips and tortilla chips will be sold in Shanghai "
        "supermarkets next year, as exports of packaged food to China recover.",
    ),
    (
        "Cloud gaming service launches in Europe",
        "A new cloud gaming platform lets players stream console games across France and "
        "Germany; the company said its servers run in three European data centres.",
    ),
    (
        "Soybean exports to China jump on new purchase deal",
        "US soybean exports to China rose sharply in the third quarter as Chinese buyers "
        "resumed purchases under a trade agreement, according to agriculture data.",
    ),
    (
        "EU lawmakers finalise the AI Act's rules for general-purpose models",
        "European Parliament negotiators agreed on transparency duties for general-purpose AI "
        "models under the AI Act, with fines for providers that break the rules in Brussels.",
    ),
]


@pytest.mark.parametrize(("title", "text", "topic"), POSITIVES)
def test_positive_snippets_are_filed_with_evidence(title: str, text: str, topic: str) -> None:
    c = classify(title, text)
    assert topic in c.topics
    assert c.evidence[topic]
    assert c.scores[topic] >= 0.5


@pytest.mark.parametrize(("title", "text"), HARD_NEGATIVES)
def test_hard_negatives_raise_no_alert(title: str, text: str) -> None:
    c = classify(title, text)
    assert "chip-export" not in c.topics
    assert "cloud-policy" not in c.topics
    assert c.scores["chip-export"] < 0.5
    assert c.scores["cloud-policy"] < 0.5


def test_classification_shape_is_stable() -> None:
    ids = [t.id for t in load_topics()]
    title, text, _ = POSITIVES[0]
    c = default_classifier().classify(title, text)
    assert list(c.scores) == ids
    assert all(0.0 <= s <= 1.0 and round(s, 4) == s for s in c.scores.values())
    assert list(c.topics) == [t for t in ids if t in c.topics]
    assert set(c.evidence) == set(c.topics)
    assert all(isinstance(p, str) and p for ev in c.evidence.values() for p in ev)
    assert classify(title, text) == c


def test_empty_article_is_off_topic() -> None:
    c = classify("", "")
    assert c.topics == ()
    assert c.evidence == {}
    assert all(s < 0.5 for s in c.scores.values())


def test_default_classifier_is_cached() -> None:
    assert default_classifier() is default_classifier(None)

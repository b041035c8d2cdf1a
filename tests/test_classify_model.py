"""The trained model: run-time scoring matches scikit-learn, JSON round trip, graceful absence."""

from __future__ import annotations

import json
import pathlib

import pytest

from classify.evaluation import Item
from classify.model import LinearModel, features, load_model
from classify.text import tokenize
from classify.topics import load_topic_file
from classify.train import build_model, vocabulary_jackknife

DOCS = [
    ("US adds Chinese chip firms to Entity List", "export controls on GPUs", ("chip-export",)),
    ("Commerce tightens AI chip export rules", "Nvidia H20 licences for China", ("chip-export",)),
    ("Dutch curb ASML tool exports to China", "lithography export licences", ("chip-export",)),
    ("Smugglers route Nvidia GPUs to China", "diversion of export-controlled chips",
     ("chip-export",)),
    ("Japan limits chipmaking tool exports", "aligning with US export controls on China",
     ("chip-export",)),
    ("DeepSeek releases reasoning model", "open-weight large language model", ("foundation-models",)),
    ("Alibaba's Qwen tops leaderboard", "benchmark of large language models", ("foundation-models",)),
    ("OpenAI ships GPT-5", "a new frontier model and chatbot", ("foundation-models",)),
    ("Moonshot's Kimi adds long context", "chatbot model release", ("foundation-models",)),
    ("Baidu launches Ernie 5", "multimodal foundation model", ("foundation-models",)),
    ("Beijing hands out compute vouchers", "state computing power network", ()),
]


def _items() -> list[Item]:
    return [
        Item(id=f"x-{n}", group=f"x-{n}", title=t, text=x, topics=topics, kind="positive")
        for n, (t, x, topics) in enumerate(DOCS)
    ]


def test_pure_python_scoring_matches_sklearn() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    tf = load_topic_file()
    model = build_model(_items(), tf)
    assert model.topic_ids == {"chip-export", "foundation-models"}
    docs = [f"{t}\n{x}" for t, x, _ in DOCS] + [ex for t in tf.topics for ex in t.examples]
    labels = [set(lab) for _, _, lab in DOCS] + [{t.id} for t in tf.topics for _ in t.examples]
    vec = TfidfVectorizer(analyzer=features, sublinear_tf=True, min_df=2, max_features=4000)
    matrix = vec.fit_transform(docs)
    lr = LogisticRegression(C=4.0, class_weight="balanced", max_iter=2000)
    lr.fit(matrix, [1 if "chip-export" in lab else 0 for lab in labels])
    probe = "Nvidia GPU export controls tightened for China"
    expected = lr.predict_proba(vec.transform([probe]))[0, 1]
    assert model.predict(model.vectorise(probe, ""))["chip-export"] == pytest.approx(
        expected, abs=1e-3
    )
    fast = model.predict_tokens(tokenize(probe))
    assert fast["chip-export"] == pytest.approx(expected, abs=1e-3)


def test_json_round_trip(tmp_path: pathlib.Path) -> None:
    model = build_model(_items(), load_topic_file())
    path = tmp_path / "model.json"
    path.write_text(json.dumps(model.to_json()), encoding="utf-8")
    again = load_model(path)
    assert again is not None
    probe = "China chatbot model release"
    a = model.predict(model.vectorise(probe, ""))
    b = again.predict(again.vectorise(probe, ""))
    assert a == pytest.approx(b, abs=1e-4)


def test_missing_model_means_rules_only(tmp_path: pathlib.Path) -> None:
    assert load_model(tmp_path / "absent.json") is None


def test_wrong_format_is_refused() -> None:
    with pytest.raises(ValueError, match="format"):
        LinearModel.from_json({"format": "something-else"})


def test_packaged_model_is_small_and_knows_only_known_topics() -> None:
    from classify.model import DEFAULT_MODEL_PATH

    if not DEFAULT_MODEL_PATH.exists():
        pytest.skip("no trained model shipped (rules only)")
    assert DEFAULT_MODEL_PATH.stat().st_size < 2_000_000
    model = load_model()
    assert model is not None
    assert model.topic_ids <= {t.id for t in load_topic_file().topics}


def test_vocabulary_jackknife_holds_out_fold_only_phrases(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--jackknife runs grouped CV with the held-out fold's own phrases removed (smoke test)."""
    items = _items()  # 11 groups, two folds
    vocabulary_jackknife(items, load_topic_file(), 2, ["chip-export", "foundation-models"])
    out = capsys.readouterr().out
    assert "vocabulary jackknife (chip-export, foundation-models)" in out
    assert "regulation" in out

"""A small linear text model, trained at build time, applied in pure Python at run time.

Why pure Python at run time: no scikit-learn import on the hot path (start-up cost), no pickle
(a JSON file is reviewable and safe to load), and the exact same tokeniser as the rules.
Training (``python -m classify.train``) uses scikit-learn's TfidfVectorizer + LogisticRegression
with :func:`features` as the analyzer, and exports idf and coefficients to ``data/model.json``.

The model only knows the topics it was trained on; a topic without model support is scored by the
rules alone (see :mod:`classify.classifier`).
"""

from __future__ import annotations

import itertools
import json
import math
import pathlib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from classify.text import Tokens, tokenize

__all__ = ["DEFAULT_MODEL_PATH", "LinearModel", "features", "load_model", "token_features"]

DEFAULT_MODEL_PATH = pathlib.Path(__file__).parent / "data" / "model.json"
_FORMAT = "newsmon-linear-tfidf/1"


def features(text: str) -> list[str]:
    """Normalised unigrams and bigrams of a text (the model's analyzer)."""
    return token_features(tokenize(text))


def token_features(tokens: Tokens) -> list[str]:
    """Normalised unigrams and bigrams of already tokenised text."""
    norm = tokens.norm
    out = list(norm)
    out.extend(f"{a} {b}" for a, b in itertools.pairwise(norm))
    return out


@dataclass(frozen=True, slots=True)
class _TopicWeights:
    """Intercept and feature weights of one topic's logistic regression."""

    intercept: float
    weights: Mapping[str, float]


class LinearModel:
    """TF-IDF (sublinear tf, l2-normalised) + one logistic regression per topic."""

    def __init__(self, idf: Mapping[str, float], topics: Mapping[str, _TopicWeights]) -> None:
        self._idf = dict(idf)
        self._topics = dict(topics)
        self._order = tuple(self._topics)
        # feature -> row of a (features x topics) weight matrix, so scoring is one product
        self._index = {f: i for i, f in enumerate(self._idf)}
        self._bigram_starts = frozenset(f.split(" ", 1)[0] for f in self._idf if " " in f)
        self._idf_vec = np.array(list(self._idf.values()), dtype=np.float64)
        self._weights = np.array(
            [[self._topics[t].weights.get(f, 0.0) for t in self._order] for f in self._idf],
            dtype=np.float64,
        ).reshape(len(self._idf), len(self._order))
        self._intercepts = np.array([self._topics[t].intercept for t in self._order])

    @property
    def topic_ids(self) -> frozenset[str]:
        """The topics this model can score."""
        return frozenset(self._topics)

    def vectorise(self, title: str, text: str) -> dict[str, float]:
        """The l2-normalised tf-idf vector of an article (title + text), as a sparse dict."""
        return self.vectorise_tokens(tokenize(f"{title}\n{text}"))

    def vectorise_tokens(self, tokens: Tokens) -> dict[str, float]:
        """:meth:`vectorise` for already tokenised text."""
        idf = self._idf
        counts = Counter(f for f in token_features(tokens) if f in idf)
        vec = {f: (1.0 + math.log(n)) * idf[f] for f, n in counts.items()}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        return {f: v / norm for f, v in vec.items()}

    def predict(self, vec: Mapping[str, float]) -> dict[str, float]:
        """Probability per known topic for a vector from :meth:`vectorise`."""
        return self._probabilities(
            [self._index[f] for f in vec], np.fromiter(vec.values(), dtype=np.float64)
        )

    def predict_tokens(self, tokens: Tokens) -> dict[str, float]:
        """Probability per known topic for tokenised text (the fast path: arrays throughout).

        Same features as :func:`token_features`, but a bigram string is only built when its
        first word starts some known bigram.
        """
        index = self._index
        norm = tokens.norm
        starts = self._bigram_starts
        counts = Counter(index[f] for f in norm if f in index)
        counts.update(
            index[f]
            for f in (f"{a} {b}" for a, b in itertools.pairwise(norm) if a in starts)
            if f in index
        )
        if not counts:
            return self._probabilities([], np.zeros(0))
        rows = list(counts)
        tf = 1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(rows)))
        vals = tf * self._idf_vec[rows]
        vals /= np.sqrt(vals @ vals) or 1.0
        return self._probabilities(rows, vals)

    def _probabilities(self, rows: list[int], vals: np.ndarray) -> dict[str, float]:
        """Logistic of intercept + vals · weights[rows], per topic."""
        z = self._intercepts + (vals @ self._weights[rows] if rows else 0.0)
        p = 1.0 / (1.0 + np.exp(-np.clip(z, -30.0, 30.0)))
        return {t: float(pi) for t, pi in zip(self._order, p, strict=True)}

    def top_features(self, vec: Mapping[str, float], topic_id: str, k: int = 3) -> list[str]:
        """The k features pushing hardest towards ``topic_id`` in this article (for evidence)."""
        tw = self._topics.get(topic_id)
        if tw is None:
            return []
        contrib = [(v * tw.weights.get(f, 0.0), f) for f, v in vec.items()]
        contrib = [c for c in contrib if c[0] > 0]
        contrib.sort(reverse=True)
        return [f for _, f in contrib[:k]]

    def to_json(self) -> dict[str, object]:
        """The JSON document :func:`load_model` reads."""
        return {
            "format": _FORMAT,
            "idf": {f: round(v, 5) for f, v in sorted(self._idf.items())},
            "topics": {
                t: {
                    "intercept": round(tw.intercept, 5),
                    "weights": {f: round(w, 5) for f, w in sorted(tw.weights.items())},
                }
                for t, tw in self._topics.items()
            },
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, object]) -> LinearModel:
        """Rebuild a model from :meth:`to_json` output; ValueError on a wrong format."""
        if doc.get("format") != _FORMAT:
            raise ValueError(f"model format {doc.get('format')!r}, expected {_FORMAT!r}")
        idf = doc["idf"]
        topics = doc["topics"]
        if not isinstance(idf, dict) or not isinstance(topics, dict):
            raise ValueError("model: 'idf' and 'topics' must be objects")
        return cls(
            idf={str(f): float(v) for f, v in idf.items()},
            topics={
                str(t): _TopicWeights(
                    intercept=float(tw["intercept"]),
                    weights={str(f): float(w) for f, w in tw["weights"].items()},
                )
                for t, tw in topics.items()
            },
        )


def load_model(path: pathlib.Path | None = None) -> LinearModel | None:
    """Load the model file; None when it does not exist (rules-only classification)."""
    real = DEFAULT_MODEL_PATH if path is None else path
    if not real.exists():
        return None
    return LinearModel.from_json(json.loads(real.read_text(encoding="utf-8")))

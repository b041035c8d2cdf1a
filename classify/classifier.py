"""File an article under the topics of the topic file, with scores and the evidence that fired.

How a topic is decided (all weights and thresholds live in the topic file):

1. Phrases of the topic's vocabulary present in title + text add their weight (a phrase seen
   several times counts up to 1.5×, a phrase in the headline 1.5×, in the lead 1.25×); named
   rules (phrase groups that must occur within a few words of each other, e.g. "export control
   + chips + China") add theirs; counter-vocabulary phrases ("potato chips", "cloud gaming")
   subtract theirs. The rule score is ``raw / (raw + threshold)``,
   0.5 exactly at the threshold.
2. When the trained model (``data/model.json``) knows the topic, the score blends the rule score
   with the model's probability; topics the model does not know (user-added ones) use rules only.
3. The topic is assigned when the score is ≥ 0.5, at least one phrase or rule fired, the story
   involves the US or China (``[scope]``, unless the topic sets ``requires_scope = false``) and,
   when the topic sets ``requires_rule``, one of its rules fired, and when it sets
   ``requires_any``, one of those context phrases occurs.
4. Precedence from the topic file: a topic is dropped when a topic of its ``excluded_by`` is
   assigned, or one of its ``yields_to`` is assigned with a score higher by more than the given
   margin (cloud-competition is "without a policy angle", regulation is "other than export and
   cloud rules").

Evidence is the rule names and phrases that fired, strongest first, as written in the topic file.
"""

from __future__ import annotations

import functools
import pathlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from classify.model import LinearModel, load_model
from classify.text import PhraseMatcher, join_tokens, phrase_key, tokenize
from classify.topics import Rule, Scope, Topic, TopicFile, load_topic_file
from newsmon.models import Classification

__all__ = [
    "MODEL_EVIDENCE",
    "MODEL_WEIGHT",
    "Classifier",
    "classify",
    "default_classifier",
    "format_evidence",
]

MODEL_EVIDENCE = "trained model"
"""Evidence label when the trained model's probability decided a topic (``model_rescue``)."""

MODEL_WEIGHT = 0.3
"""Share of the model probability in a topic's score (the rest is the rule score)."""

_TITLE_BOOST = 1.5
_LEAD_BOOST = 1.25
_LEAD_WORDS = 40
_HEADLINE_MIN_WEIGHT = 1.0
_REPEAT_STEP = 0.25
_REPEAT_CAP = 3
_OUT_OF_SCOPE_FACTOR = 0.5
_DECIMALS = 4
_BELOW_THRESHOLD = 0.49


@dataclass(frozen=True, slots=True)
class _TopicScore:
    """The outcome for one topic: score, whether assigned, and the evidence (strongest first)."""

    score: float
    assigned: bool
    evidence: tuple[str, ...]
    in_headline: bool = False
    """A phrase of the topic's vocabulary (weight >= 1) occurs in the headline."""


class Classifier:
    """Rules (from the topic file) plus an optional linear model. ``classify`` is pure."""

    def __init__(
        self,
        topics: Sequence[Topic],
        scope: Scope | None = None,
        model: LinearModel | None = None,
        model_weight: float = MODEL_WEIGHT,
    ) -> None:
        self.topics = tuple(topics)
        self.topic_ids = tuple(t.id for t in self.topics)
        self.scope = scope if scope is not None else Scope(description="", vocabulary={})
        self.model = model
        self.model_weight = model_weight
        self._matcher = PhraseMatcher(_all_phrases(self.topics, self.scope))
        self._vocab = {t.id: dict(_unique_by_key(t.vocabulary)) for t in self.topics}
        self._counter = {t.id: _unique_by_key(t.counter_vocabulary) for t in self.topics}
        self._scope_vocab = _unique_by_key(self.scope.vocabulary)

    @classmethod
    def from_topics(
        cls,
        topics: Sequence[Topic],
        *,
        scope: Scope | None = None,
        model: LinearModel | None = None,
        model_weight: float = MODEL_WEIGHT,
    ) -> Classifier:
        """A classifier for these topics. ``scope`` defaults to the packaged file's [scope];
        ``model`` defaults to none (rules only) — :func:`default_classifier` adds the packaged one."""
        if scope is None:
            scope = load_topic_file(None).scope
        return cls(topics, scope=scope, model=model, model_weight=model_weight)

    @classmethod
    def from_file(
        cls, path: pathlib.Path | None = None, model: LinearModel | None = None
    ) -> Classifier:
        """A classifier for a whole topic file (its own scope), with an optional model."""
        tf: TopicFile = load_topic_file(path)
        return cls(tf.topics, scope=tf.scope, model=model)

    def classify(self, title: str, text: str) -> Classification:
        """Topics, scores (every topic, in [0, 1]) and evidence (assigned topics) of an article."""
        title_tokens = tokenize(title)
        tokens = join_tokens(title_tokens, tokenize(text))
        positions = self._matcher.find(tokens)
        counts = {p: len(pos) for p, pos in positions.items()}
        boosts = _position_boosts(positions, len(title_tokens.raw))
        in_scope = self._in_scope(counts)
        probs: Mapping[str, float] = {}
        if self.model is not None:
            probs = self.model.predict_tokens(tokens)
        results = {
            t.id: self._score_topic(
                t, positions, counts, boosts, in_scope, probs.get(t.id)
            )
            for t in self.topics
        }
        kept = _resolve_precedence(self.topics, results)
        return Classification(
            topics=tuple(t.id for t in self.topics if t.id in kept),
            scores={t: round(r.score, _DECIMALS) for t, r in results.items()},
            evidence={t.id: results[t.id].evidence for t in self.topics if t.id in kept},
        )

    def _in_scope(self, counts: Mapping[str, int]) -> bool:
        """Does the story involve the US or China (enough scope phrases)? A full-weight phrase
        (a country, a government, a place) counts double when repeated; companies do not."""
        if not self._scope_vocab:
            return True
        weight = sum(
            w * (2 if w >= 1 and counts[p] > 1 else 1) for p, w in self._scope_vocab if p in counts
        )
        return weight >= self.scope.min_weight

    def _score_topic(
        self,
        topic: Topic,
        positions: Mapping[str, list[int]],
        counts: Mapping[str, int],
        boosts: Mapping[str, float],
        in_scope: bool,
        prob: float | None,
    ) -> _TopicScore:
        """Score one topic from the phrase counts (and the model probability, if any)."""
        contributions: list[tuple[float, str]] = []
        vocab = self._vocab[topic.id]
        for phrase, n in counts.items():
            weight = vocab.get(phrase)
            if weight is not None:
                boost = boosts.get(phrase, 1.0)
                repeat = 1.0 + _REPEAT_STEP * (min(n, _REPEAT_CAP) - 1)
                contributions.append((weight * boost * repeat, phrase))
        fired_rules = [r for r in topic.rules if _rule_fires(r, positions)]
        contributions.extend((r.weight, r.name) for r in fired_rules)
        penalty = sum(w for p, w in self._counter[topic.id] if p in counts)
        raw = sum(c for c, _ in contributions) - penalty
        rule_score = raw / (raw + topic.threshold) if raw > 0 else 0.0
        score = rule_score
        if prob is not None:
            share = self.model_weight if topic.model_weight is None else topic.model_weight
            score = (1.0 - share) * rule_score + share * prob
        if topic.requires_scope and not in_scope:
            score *= _OUT_OF_SCOPE_FACTOR
        other_gates = (
            bool(contributions)
            and (in_scope or not topic.requires_scope)
            and (not topic.requires_any or any(p in counts for p in topic.requires_any))
        )
        assigned = (
            score >= 0.5 and other_gates and (bool(fired_rules) or not topic.requires_rule)
        )
        model_note = ""
        rescued = (
            not assigned
            and other_gates
            and topic.model_rescue is not None
            and prob is not None
            and prob >= topic.model_rescue
        )
        if rescued:
            assigned = True
            score = max(score, 0.5)
            model_note = f"{MODEL_EVIDENCE} {prob:.2f}"
        if not assigned:
            score = min(score, _BELOW_THRESHOLD)  # a gated topic never shows a passing score
        contributions.sort(key=lambda c: (-c[0], c[1]))
        rule_names = {r.name for r in fired_rules}
        if rescued:  # the model decided: say so first, then the phrases it had
            contributions.insert(0, (0.0, model_note))
            rule_names.add(model_note)
        shown = _without_nested(tuple(p for _, p in contributions if p not in rule_names))
        in_headline = any(
            boosts.get(p) == _TITLE_BOOST and vocab.get(p, 0.0) >= _HEADLINE_MIN_WEIGHT
            for _, p in contributions
        )
        return _TopicScore(
            score=min(1.0, max(0.0, score)),
            assigned=assigned,
            in_headline=in_headline,
            evidence=_dedup(p for _, p in contributions if p in rule_names or p in shown),
        )


def _position_boosts(positions: Mapping[str, list[int]], n_title: int) -> dict[str, float]:
    """Phrases in the headline weigh 1.5×, in the lead (first 40 words) 1.25×: that is where a
    story says what it is about; a passing mention further down counts plainly."""
    lead_end = n_title + 1 + _LEAD_WORDS
    boosts = {}
    for phrase, pos in positions.items():
        first = pos[0]
        if first < n_title:
            boosts[phrase] = _TITLE_BOOST
        elif first < lead_end:
            boosts[phrase] = _LEAD_BOOST
    return boosts


def _resolve_precedence(
    topics: Sequence[Topic], results: Mapping[str, _TopicScore]
) -> set[str]:
    """The assigned topics left after ``excluded_by`` (drop when the other is assigned) and
    ``yields_to`` (drop when the other is assigned with a score higher by more than the margin,
    or when the headline names the other topic and not this one: the story is about the other)."""
    assigned = {t for t, r in results.items() if r.assigned}
    kept = set(assigned)
    for topic in topics:
        if topic.id not in assigned:
            continue
        if any(other in assigned for other in topic.excluded_by):
            kept.discard(topic.id)
        me = results[topic.id]
        if any(
            o in assigned
            and (
                results[o].score > me.score + margin
                or (results[o].in_headline and not me.in_headline)
            )
            for o, margin in topic.yields_to.items()
        ):
            kept.discard(topic.id)
    return kept


def _rule_fires(rule: Rule, positions: Mapping[str, list[int]]) -> bool:
    """Every group of the rule has a phrase present, all within ``rule.window`` words of each
    other (0 = anywhere), and no phrase of ``none_of`` is present."""
    if any(p in positions for p in rule.none_of):
        return False
    if not all(any(p in positions for p in group) for group in rule.all_of):
        return False
    if rule.window == 0:
        return True
    events = sorted(
        (pos, g)
        for g, group in enumerate(rule.all_of)
        for p in group
        for pos in positions.get(p, ())
    )
    return _all_groups_within(events, len(rule.all_of), rule.window)


def _all_groups_within(events: Sequence[tuple[int, int]], n_groups: int, window: int) -> bool:
    """Sliding window over (position, group) events sorted by position: is there a stretch of
    at most ``window`` words holding every group?"""
    inside = [0] * n_groups
    covered = 0
    left = 0
    for pos, g in events:
        if inside[g] == 0:
            covered += 1
        inside[g] += 1
        while pos - events[left][0] > window:
            lg = events[left][1]
            inside[lg] -= 1
            if inside[lg] == 0:
                covered -= 1
            left += 1
        if covered == n_groups:
            return True
    return False


def _all_phrases(topics: Iterable[Topic], scope: Scope) -> list[str]:
    """Every phrase the matcher must find: scope, vocabularies, counter-vocabularies, rules."""
    phrases: list[str] = list(scope.vocabulary)
    for t in topics:
        phrases.extend(t.vocabulary)
        phrases.extend(t.counter_vocabulary)
        for r in t.rules:
            phrases.extend(p for group in r.all_of for p in group)
            phrases.extend(r.none_of)
        phrases.extend(t.requires_any)
    return phrases


def _unique_by_key(weights: Mapping[str, float]) -> tuple[tuple[str, float], ...]:
    """Phrases that match the same words ("export control" / "export controls") count once:
    the first spelling is kept (it is what the evidence shows) with the largest weight."""
    best: dict[tuple[bool, tuple[str, ...]], tuple[str, float]] = {}
    for phrase, weight in weights.items():
        key = phrase_key(phrase)
        if key in best:
            first, w = best[key]
            best[key] = (first, max(w, weight))
        else:
            best[key] = (phrase, weight)
    return tuple(best.values())


@functools.lru_cache(maxsize=4096)
def _padded_words(phrase: str) -> str:
    """A phrase's normalised words joined by spaces, padded, for containment tests."""
    return f" {' '.join(tokenize(phrase).norm)} "


def _without_nested(phrases: tuple[str, ...]) -> tuple[str, ...]:
    """Drop a phrase shown inside a longer one ("Cyberspace Administration" when
    "Cyberspace Administration of China" is there): the evidence reads as distinct facts."""
    padded = [_padded_words(p) for p in phrases]
    return tuple(
        p
        for i, p in enumerate(phrases)
        if not any(j != i and padded[i] in q and padded[i] != q for j, q in enumerate(padded))
    )


def _dedup(items: Iterable[str]) -> tuple[str, ...]:
    """Keep the first occurrence of each item, case-insensitively."""
    seen: set[str] = set()
    out = []
    for item in items:
        key = item.lower()
        if key not in seen:
            seen.add(key)
            out.append(item)
    return tuple(out)


@functools.lru_cache(maxsize=8)
def _cached_classifier(path: pathlib.Path | None) -> Classifier:
    """Build (once per path) the classifier of a topic file with the packaged model."""
    return Classifier.from_file(path, model=load_model())


def default_classifier(path: pathlib.Path | None = None) -> Classifier:
    """The classifier of a topic file (None = packaged), with the packaged model; cached per path.

    Raises ``ConfigError`` on a bad topic file.
    """
    key = None if path is None else pathlib.Path(path).resolve()
    return _cached_classifier(key)


def classify(title: str, text: str) -> Classification:
    """Classify one article with :func:`default_classifier`."""
    return default_classifier().classify(title, text)


def format_evidence(
    c: Classification, topic_ids: Iterable[str] | None = None, limit: int = 6
) -> str:
    """The evidence of the given (default: all assigned) topics as one line for an alert:
    ``"Entity List · SMIC · Commerce Department"`` — deduplicated, strongest first, at most
    ``limit`` phrases."""
    wanted = c.topics if topic_ids is None else tuple(topic_ids)
    lists = [list(c.evidence.get(t, ())) for t in wanted if t in c.evidence]
    merged: list[str] = []
    # Interleave so that each topic's strongest phrases come first.
    for rank in range(max((len(x) for x in lists), default=0)):
        merged.extend(x[rank] for x in lists if rank < len(x))
    return " · ".join(_dedup(merged)[: max(0, limit)])

"""Topic definitions: the data file a user edits, and its loader.

The topic file (``classify/data/topics.toml`` by default) holds everything the rules engine knows:
for each topic an id, a description, a weighted vocabulary, a weighted counter-vocabulary, named
rules (conjunctions of phrase groups), a threshold and a few example headlines. A ``[scope]`` table
lists the phrases that show a story involves the US or China (the contract's beat). Adding a topic
is adding a ``[[topics]]`` block; no code changes.

Phrase matching (see :mod:`classify.text`): case-insensitive and plural-insensitive, on whole words;
a phrase written entirely in capitals of at most five letters (``US``, ``SMIC``, ``HBM``) matches
only in capitals, so "US" never matches the pronoun "us".
"""

from __future__ import annotations

import pathlib
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from newsmon.errors import ConfigError

__all__ = [
    "DEFAULT_TOPICS_PATH",
    "Rule",
    "Scope",
    "Topic",
    "TopicFile",
    "load_topic_file",
    "load_topics",
]

DEFAULT_TOPICS_PATH = pathlib.Path(__file__).parent / "data" / "topics.toml"

_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_TOPIC_KEYS = frozenset(
    {
        "id",
        "description",
        "vocabulary",
        "counter_vocabulary",
        "rules",
        "threshold",
        "requires_scope",
        "requires_rule",
        "examples",
        "yields_to",
        "excluded_by",
        "requires_any",
        "model_weight",
        "model_rescue",
    }
)
_RULE_KEYS = frozenset({"name", "all_of", "weight", "none_of", "window"})
DEFAULT_RULE_WINDOW = 60
_SCOPE_KEYS = frozenset({"description", "vocabulary", "min_weight"})
_TOP_KEYS = frozenset({"version", "scope", "topics"})


@dataclass(frozen=True, slots=True)
class Rule:
    """A named conjunction: fires when every group in ``all_of`` has a phrase within ``window``
    words of each other (0 = anywhere in the article) and no phrase of ``none_of`` is present.
    The window keeps a long article from firing a rule with words from unrelated paragraphs.
    Its ``name`` is what the evidence shows."""

    name: str
    all_of: tuple[tuple[str, ...], ...]
    weight: float
    none_of: tuple[str, ...] = ()
    window: int = DEFAULT_RULE_WINDOW


@dataclass(frozen=True, slots=True)
class Topic:
    """One topic as the user defined it.

    ``vocabulary`` / ``counter_vocabulary`` map a phrase to its weight (added / subtracted).
    The topic is assigned when its weighted evidence reaches ``threshold`` (and, when
    ``requires_scope``, the story involves the US or China; when ``requires_rule``, a rule fired).
    When ``requires_any`` is set, one of those phrases must occur (e.g. an AI or chip context for
    "investment", so car-export revenue is not filed there). It is then dropped when a topic of
    ``excluded_by`` is assigned, or a topic of ``yields_to`` is assigned with a score higher than
    this one's by more than that entry's margin (the contract's "other than" / "without a policy
    angle"; a topic only mentioned in passing gives way to the story's main topic).
    """

    id: str
    description: str
    vocabulary: Mapping[str, float]
    counter_vocabulary: Mapping[str, float]
    rules: tuple[Rule, ...] = ()
    threshold: float = 3.0
    requires_scope: bool = True
    requires_rule: bool = False
    examples: tuple[str, ...] = ()
    yields_to: Mapping[str, float] = field(default_factory=dict)
    excluded_by: tuple[str, ...] = ()
    requires_any: tuple[str, ...] = ()
    model_rescue: float | None = None
    """When set, a topic that ``requires_rule`` but whose rules did not fire is still assigned if
    its phrases matched, every other condition holds and the trained model's probability is at
    least this; the evidence then names the model and its probability."""
    model_weight: float | None = None
    """Share of the trained model's probability in this topic's score (None = the classifier's
    default); 0 = rules alone decide."""


@dataclass(frozen=True, slots=True)
class Scope:
    """Phrases that show a story involves the US or China, with weights; ``min_weight`` needed."""

    description: str
    vocabulary: Mapping[str, float]
    min_weight: float = 1.0


@dataclass(frozen=True, slots=True)
class TopicFile:
    """A whole topic file: the scope and the topics in file order."""

    path: str
    scope: Scope
    topics: tuple[Topic, ...]


def load_topics(path: pathlib.Path | None = None) -> tuple[Topic, ...]:
    """Load the topics of a topic file (None = the packaged one), in file order.

    Raises ``ConfigError(path, key, expected)`` on a missing, malformed or invalid file.
    """
    return load_topic_file(path).topics


def load_topic_file(path: pathlib.Path | None = None) -> TopicFile:
    """Load and validate a whole topic file (scope + topics)."""
    real = DEFAULT_TOPICS_PATH if path is None else pathlib.Path(path)
    data = _read_toml(real)
    where = str(real)
    _check_keys(where, "", data, _TOP_KEYS)
    scope = _parse_scope(where, data.get("scope", {}))
    raw_topics = data.get("topics")
    if not isinstance(raw_topics, list) or not raw_topics:
        raise ConfigError(where, "topics", "a non-empty array of [[topics]] tables")
    topics = tuple(_parse_topic(where, i, t) for i, t in enumerate(raw_topics))
    _check_unique_ids(where, topics)
    return TopicFile(path=where, scope=scope, topics=topics)


def _read_toml(path: pathlib.Path) -> dict[str, Any]:
    """Read a TOML file, turning I/O and syntax errors into ConfigError."""
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError(str(path), "", "an existing topic file") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), "", f"valid TOML ({exc})") from exc


def _check_keys(where: str, key: str, table: Mapping[str, Any], allowed: frozenset[str]) -> None:
    """Refuse unknown keys (typos must not be silently ignored)."""
    for name in table:
        if name not in allowed:
            full = f"{key}.{name}" if key else name
            raise ConfigError(where, full, f"one of the known keys: {', '.join(sorted(allowed))}")


def _parse_scope(where: str, raw: Any) -> Scope:
    """Parse the ``[scope]`` table (optional; an empty scope means every story is in scope)."""
    if not isinstance(raw, dict):
        raise ConfigError(where, "scope", "a table")
    _check_keys(where, "scope", raw, _SCOPE_KEYS)
    return Scope(
        description=_opt_str(where, "scope.description", raw.get("description", "")),
        vocabulary=_weights(where, "scope.vocabulary", raw.get("vocabulary", {})),
        min_weight=_number(where, "scope.min_weight", raw.get("min_weight", 1.0)),
    )


def _parse_topic(where: str, index: int, raw: Any) -> Topic:
    """Parse one ``[[topics]]`` table."""
    key = f"topics[{index}]"
    if not isinstance(raw, dict):
        raise ConfigError(where, key, "a table")
    _check_keys(where, key, raw, _TOPIC_KEYS)
    topic_id = raw.get("id")
    if not isinstance(topic_id, str) or not _ID_RE.match(topic_id):
        raise ConfigError(where, f"{key}.id", "a lowercase id of letters, digits and '-'")
    key = f"topics.{topic_id}"
    description = raw.get("description")
    if not isinstance(description, str) or not description.strip():
        raise ConfigError(where, f"{key}.description", "a non-empty string")
    vocabulary = _weights(where, f"{key}.vocabulary", raw.get("vocabulary", {}))
    rules = _rules(where, f"{key}.rules", raw.get("rules", []))
    if not vocabulary and not rules:
        raise ConfigError(where, f"{key}.vocabulary", "at least one phrase (or a rule)")
    threshold = _number(where, f"{key}.threshold", raw.get("threshold", 3.0))
    if threshold <= 0:
        raise ConfigError(where, f"{key}.threshold", "a number > 0")
    return Topic(
        id=topic_id,
        description=description.strip(),
        vocabulary=vocabulary,
        counter_vocabulary=_weights(
            where, f"{key}.counter_vocabulary", raw.get("counter_vocabulary", {})
        ),
        rules=rules,
        threshold=threshold,
        requires_scope=_bool(where, f"{key}.requires_scope", raw.get("requires_scope", True)),
        requires_rule=_bool(where, f"{key}.requires_rule", raw.get("requires_rule", False)),
        examples=_str_list(where, f"{key}.examples", raw.get("examples", [])),
        yields_to=_margins(where, f"{key}.yields_to", raw.get("yields_to", {})),
        excluded_by=_str_list(where, f"{key}.excluded_by", raw.get("excluded_by", [])),
        requires_any=_str_list(where, f"{key}.requires_any", raw.get("requires_any", [])),
        model_weight=_share(where, f"{key}.model_weight", raw.get("model_weight")),
        model_rescue=_share(where, f"{key}.model_rescue", raw.get("model_rescue")),
    )


def _share(where: str, key: str, raw: Any) -> float | None:
    """An optional number in [0, 1]."""
    if raw is None:
        return None
    value = _number(where, key, raw)
    if not 0.0 <= value <= 1.0:
        raise ConfigError(where, key, "a number from 0 to 1")
    return value


def _rules(where: str, key: str, raw: Any) -> tuple[Rule, ...]:
    """Parse ``[[topics.rules]]``: name, all_of (list of phrase lists), weight, none_of."""
    if not isinstance(raw, list):
        raise ConfigError(where, key, "an array of tables")
    rules = []
    for i, item in enumerate(raw):
        rkey = f"{key}[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(where, rkey, "a table")
        _check_keys(where, rkey, item, _RULE_KEYS)
        name = item.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(where, f"{rkey}.name", "a non-empty string")
        groups = item.get("all_of")
        if not isinstance(groups, list) or not groups:
            raise ConfigError(where, f"{rkey}.all_of", "a non-empty array of phrase arrays")
        parsed = tuple(_str_list(where, f"{rkey}.all_of[{j}]", g) for j, g in enumerate(groups))
        if any(not g for g in parsed):
            raise ConfigError(where, f"{rkey}.all_of", "phrase arrays that are not empty")
        rules.append(
            Rule(
                name=name.strip(),
                all_of=parsed,
                weight=_number(where, f"{rkey}.weight", item.get("weight", 2.0)),
                none_of=_str_list(where, f"{rkey}.none_of", item.get("none_of", [])),
                window=_window(where, f"{rkey}.window", item.get("window", DEFAULT_RULE_WINDOW)),
            )
        )
    return tuple(rules)


def _margins(where: str, key: str, raw: Any) -> dict[str, float]:
    """``yields_to``: an array of topic ids (margin 0) or a table of topic id = score margin."""
    if isinstance(raw, list):
        return {t: 0.0 for t in _str_list(where, key, raw)}
    if not isinstance(raw, dict):
        raise ConfigError(where, key, "an array of topic ids or a table of id = margin")
    out = {}
    for topic_id, margin in raw.items():
        value = _number(where, f"{key}.{topic_id}", margin)
        if not 0.0 <= value < 1.0:
            raise ConfigError(where, f"{key}.{topic_id}", "a margin between 0 and 1")
        out[topic_id] = value
    return out


def _window(where: str, key: str, raw: Any) -> int:
    """A rule window: a whole number of words >= 0 (0 = anywhere)."""
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
        raise ConfigError(where, key, "a whole number of words >= 0 (0 = anywhere)")
    return raw


def _weights(where: str, key: str, raw: Any) -> dict[str, float]:
    """A phrase → weight table; a plain array of phrases means weight 1 each."""
    if isinstance(raw, list):
        return {p: 1.0 for p in _str_list(where, key, raw)}
    if not isinstance(raw, dict):
        raise ConfigError(where, key, "a table of phrase = weight (or an array of phrases)")
    out: dict[str, float] = {}
    for phrase, weight in raw.items():
        if not phrase.strip():
            raise ConfigError(where, key, "non-empty phrases")
        out[phrase.strip()] = _number(where, f'{key}."{phrase}"', weight)
    return out


def _number(where: str, key: str, raw: Any) -> float:
    """A finite int or float (bools refused)."""
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise ConfigError(where, key, "a number")
    return float(raw)


def _bool(where: str, key: str, raw: Any) -> bool:
    """A TOML boolean."""
    if not isinstance(raw, bool):
        raise ConfigError(where, key, "true or false")
    return raw


def _opt_str(where: str, key: str, raw: Any) -> str:
    """A string (possibly empty)."""
    if not isinstance(raw, str):
        raise ConfigError(where, key, "a string")
    return raw


def _str_list(where: str, key: str, raw: Any) -> tuple[str, ...]:
    """An array of non-empty strings."""
    if not isinstance(raw, list) or not all(isinstance(s, str) and s.strip() for s in raw):
        raise ConfigError(where, key, "an array of non-empty strings")
    return tuple(s.strip() for s in raw)


def _check_unique_ids(where: str, topics: Sequence[Topic]) -> None:
    """Topic ids must be unique; yields_to / excluded_by must name other topics."""
    seen: set[str] = set()
    for t in topics:
        if t.id in seen:
            raise ConfigError(where, f"topics.{t.id}.id", "a unique topic id (duplicate)")
        seen.add(t.id)
    for t in topics:
        for attr in ("yields_to", "excluded_by"):
            unknown = [x for x in getattr(t, attr) if x not in seen or x == t.id]
            if unknown:
                raise ConfigError(
                    where, f"topics.{t.id}.{attr}", f"ids of other topics (not {unknown[0]!r})"
                )

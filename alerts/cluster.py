"""Story clustering: is a new article a copy of a story already stored?

Pure functions, no I/O. An article is reduced to :class:`Features` (stored as JSON next to the story):

- ``mh``: a 64-permutation MinHash of its word 3-shingles (over light-stemmed content words) —
  catches syndicated copies, edited headlines, added boilerplate and reordered paragraphs;
- ``words``: its set of content-word stems — survives rewording by a spinner or a translation
  round-trip, where shingles break but most nouns survive;
- ``ents``: names and figures (capitalised words, codes such as ``3A090``, amounts) minus the ones
  every story on this beat carries (China, US, Nvidia, Commerce …) — what tells two different
  export-control stories of the same week apart;
- ``title``: the headline's content-word stems.

:func:`match` scores a pair on these and :func:`best_match` picks the story to join, if any;
:class:`StoryIndex` finds the same answer without scoring every recent story (shared MinHash values
or names as keys), so a large backfill stays fast.
Dates never take part: a story is matched on what it says, within a window of recent stories.
Thresholds were set on ``benchmarks/clustering.py`` (pairs built from hand-written stories).
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ClusterMatch",
    "Features",
    "PairScore",
    "StoryIndex",
    "best_match",
    "common_entities",
    "features",
    "features_from_json",
    "match",
    "score_pair",
]

NUM_PERM = 64
SHINGLE = 3
SEED = 1

# Thresholds, chosen on the dev split of benchmarks/clustering.py (see docs/alerts.md for the figures).
COPY_SHINGLES = 0.20            # MinHash Jaccard of 3-shingles: a copy, however edited or reordered
REWORD_WORDS = 0.45             # share of the shorter text's content words found in the other …
REWORD_ENTITIES = 0.70          # … with this share of its names and figures: a reworded copy
TITLE_SIMILAR = 0.40            # a similar headline …
TITLE_WORDS = 0.30              # … some shared vocabulary …
TITLE_ENTITIES = 0.30           # … and shared names: the same story re-headlined and cut
MIN_ENTITIES = 3                # entity overlap needs at least this many names on the smaller side
REWORD_SHARED = 4               # and a reworded copy shares at least this many
COMMON_SHARE = 0.05             # names in more than this share of recent stories are boilerplate …
COMMON_MIN_STORIES = 4          # … once they appear in at least this many stories

def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


_STOP = _word_set("""
a about above after again against all also am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further had has
have having he her here hers herself him himself his how i if in into is it its itself just me more
most my myself no nor not now of off on once only or other our ours ourselves out over own same she
should so some such than that the their theirs them themselves then there these they this those
through to too under until up very was we were what when where which while who whom why will with
would you your yours yourself said says say told according per mr ms mrs new one two three also like
however would could may might must since still yet its it's we're they're there's that's week year
month day monday tuesday wednesday thursday friday saturday sunday january february march april june
july august september october november december today yesterday tomorrow last next first second
third
""")

# Names every story on this beat carries: they say nothing about *which* story it is.
_BEAT_COMMON = _word_set("""
china chinese us u.s. usa america american united states beijing washington ai nvidia commerce
department government administration officials official reuters bloomberg the a an in on it this but
and for as at by with from of after while its ceo president white house biden trump xi
""")

_WORD = re.compile(r"[a-z0-9][a-z0-9'.\-]*[a-z0-9]|[a-z0-9]")
_ENTITY = re.compile(
    r"\$?\d[\d,.]*(?:\s?(?:billion|million|trillion|bn|m|nm|%|percent))?"  # figures
    r"|\b[A-Z][A-Za-z0-9&.\-]*[A-Za-z0-9]"                                 # Capitalised / codes
    r"|\b[a-z]*\d[a-z0-9]*\b"                                               # h20, 3a090
)
_YEAR = re.compile(r"^(19|20)\d\d$")


@dataclass(frozen=True, slots=True)
class Features:
    """What clustering keeps of an article (JSON-serialisable via :meth:`to_json`)."""

    mh: tuple[int, ...]
    shingles: int
    words: frozenset[str]
    ents: frozenset[str]
    title: frozenset[str]

    def to_json(self) -> dict[str, Any]:
        return {"v": 1, "mh": list(self.mh), "n": self.shingles, "words": sorted(self.words), "ents": sorted(self.ents),
                "title": sorted(self.title)}


def features_from_json(data: Mapping[str, Any]) -> Features:
    return Features(
        mh=tuple(int(x) for x in data.get("mh", ())),
        shingles=int(data.get("n", 0)),
        words=frozenset(data.get("words", ())),
        ents=frozenset(data.get("ents", ())),
        title=frozenset(data.get("title", ())),
    )


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    return text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"').replace("\u201d", '"')


@functools.lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    """A crude suffix stripper: enough to make "restricts"/"restricted"/"restricting" one word."""
    if word.isdigit() or len(word) <= 4:
        return word
    for suffix in ("ations", "ation", "ments", "ment", "ings", "ing", "ies", "ied", "ers", "er", "ed",
                   "es", "ly", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def content_words(text: str) -> list[str]:
    """Lower-cased, stemmed words that are not stop words, in order."""
    out: list[str] = []
    for raw in _WORD.findall(_fold(text).lower()):
        word = raw.strip(".'-")
        if word.endswith("'s"):
            word = word[:-2]
        if len(word) < 3 or word in _STOP:
            continue
        out.append(_stem(word))
    return out


_SENTENCE_START = re.compile(r"(?:^|[.!?:;\"'\u2014\u2013(\-]\s*|\n\s*)$")
_SITE_SUFFIX = re.compile(r"\s+[|\u2013\u2014-]\s+[^|\u2013\u2014-]{2,40}$")


def strip_site_suffix(title: str) -> str:
    """"Headline | Site Name" -> "Headline" (the site's name says nothing about the story)."""
    return _SITE_SUFFIX.sub("", title.strip())


def _is_sentence_start(text: str, pos: int) -> bool:
    return bool(_SENTENCE_START.search(text[max(0, pos - 3) : pos]))


def entities(text: str) -> set[str]:
    """Names and figures in the text, minus the ones every story of the beat has.

    A capitalised word opening a sentence counts only if it is all capitals or has a digit
    ("Reporting by …", "The …" are not names; "SMIC", "H20" are).
    """
    text = _fold(text)
    out: set[str] = set()
    for m in _ENTITY.finditer(text):
        raw = m.group(0)
        if raw[0].isupper() and not (raw.isupper() or any(c.isdigit() for c in raw)) and _is_sentence_start(
            text, m.start()
        ):
            continue
        ent = raw.lower().strip(".,-").replace(",", "").lstrip("$")
        if not ent or ent in _STOP or ent in _BEAT_COMMON or _YEAR.match(ent):
            continue
        if ent.isdigit() and len(ent) <= 2:
            continue  # days of the month, small counts
        if ent[0].isalpha() and len(ent) < 3:
            continue
        out.add(ent)
    return out


_PERMUTATIONS: list[Any] = []  # datasketch's permutations for (NUM_PERM, SEED), made once per process


def _minhash(tokens: Sequence[str]) -> tuple[tuple[int, ...], int]:
    from datasketch import MinHash  # numpy/scipy: imported only when an article is clustered

    if not _PERMUTATIONS:
        _PERMUTATIONS.append(MinHash(num_perm=NUM_PERM, seed=SEED).permutations)
    mh = MinHash(num_perm=NUM_PERM, seed=SEED, permutations=_PERMUTATIONS[0], scheme="affine32")
    grams = {" ".join(tokens[i : i + SHINGLE]) for i in range(max(1, len(tokens) - SHINGLE + 1))}
    grams.discard("")
    if not grams:
        return (), 0  # an empty MinHash would equal every other empty one
    mh.update_batch([g.encode("utf-8") for g in grams])
    return tuple(int(x) for x in mh.hashvalues), len(grams)


def features(title: str, text: str) -> Features:
    """The clustering features of one article (title and clean text)."""
    title = strip_site_suffix(title)
    body = content_words(text)
    mh, n = _minhash(body or content_words(title))
    return Features(
        mh=mh,
        shingles=n,
        words=frozenset(body),
        ents=frozenset(entities(text) | entities(title)),
        title=frozenset(content_words(title)),
    )


@dataclass(frozen=True, slots=True)
class PairScore:
    """The similarity signals of one pair."""

    shingles: float       # Jaccard of 3-shingles (MinHash estimate)
    shingle_cont: float   # share of the smaller text's shingles found in the other (estimate)
    words: float          # Jaccard of content words
    word_cont: float      # share of the smaller text's content words found in the other
    ents: float           # share of the smaller side's names/figures found in the other
    title: float          # Jaccard of headline words
    shared_ents: int


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def _containment(a: frozenset[str], b: frozenset[str]) -> float:
    smaller = min(len(a), len(b))
    return len(a & b) / smaller if smaller else 0.0


def _shingle_scores(a: Features, b: Features) -> tuple[float, float]:
    if len(a.mh) != NUM_PERM or len(b.mh) != NUM_PERM:
        return 0.0, 0.0
    j = sum(1 for x, y in zip(a.mh, b.mh, strict=True) if x == y) / NUM_PERM
    smaller = min(a.shingles, b.shingles)
    if smaller <= 0:
        return j, 0.0
    inter = j / (1 + j) * (a.shingles + b.shingles)
    return j, min(1.0, inter / smaller)


def score_pair(a: Features, b: Features, common: frozenset[str] = frozenset()) -> PairScore:
    """Similarity signals of two articles; ``common`` names (boilerplate of recent stories) are ignored."""
    shingles, shingle_cont = _shingle_scores(a, b)
    a_ents, b_ents = (a.ents - common, b.ents - common) if common else (a.ents, b.ents)
    shared = len(a_ents & b_ents)
    smaller = min(len(a_ents), len(b_ents))
    ents = shared / smaller if smaller >= MIN_ENTITIES else 0.0
    return PairScore(shingles, shingle_cont, _jaccard(a.words, b.words), _containment(a.words, b.words),
                     ents, _jaccard(a.title, b.title), shared)


def match(score: PairScore) -> str | None:
    """Why this pair is the same story (a short reason), or None when it is not."""
    if score.shingles >= COPY_SHINGLES:
        return "copy"
    if score.word_cont >= REWORD_WORDS and score.ents >= REWORD_ENTITIES and score.shared_ents >= REWORD_SHARED:
        return "reworded"
    if score.title >= TITLE_SIMILAR and score.word_cont >= TITLE_WORDS and score.ents >= TITLE_ENTITIES:
        return "same headline"
    return None


def _strength(score: PairScore) -> float:
    return max(score.shingles, (score.word_cont + score.ents) / 2)


@dataclass(frozen=True, slots=True)
class ClusterMatch:
    """The story a new article joins, with the best-matching member and why."""

    story_id: int
    article_id: int
    reason: str
    score: float


def common_entities(candidates: Sequence[tuple[int, int, Features]]) -> frozenset[str]:
    """Names found in many recent stories (an outlet's credit line, a dateline): not evidence."""
    stories_of: dict[str, set[int]] = {}
    for story_id, _, feats in candidates:
        for ent in feats.ents:
            stories_of.setdefault(ent, set()).add(story_id)
    n_stories = len({story_id for story_id, _, _ in candidates})
    limit = max(COMMON_MIN_STORIES, COMMON_SHARE * n_stories)
    return frozenset(ent for ent, stories in stories_of.items() if len(stories) >= limit)


def best_match(new: Features, candidates: Sequence[tuple[int, int, Features]],
               common: frozenset[str] | None = None) -> ClusterMatch | None:
    """The story (``(story_id, article_id, features)`` members) that ``new`` belongs to, if any.

    ``common``: boilerplate names to ignore (default: computed from the candidates).
    """
    if common is None:
        common = common_entities(candidates)
    best: ClusterMatch | None = None
    for story_id, article_id, feats in candidates:
        score = score_pair(new, feats, common)
        reason = match(score)
        if reason is None:
            continue
        strength = _strength(score)
        if best is None or strength > best.score:
            best = ClusterMatch(story_id, article_id, reason, round(strength, 4))
    return best


class StoryIndex:
    """Recent story members, indexed so a new article is scored only against plausible matches.

    Each rule of :func:`match` has a necessary condition that an inverted index can count:

    - "copy" needs a MinHash Jaccard of ``COPY_SHINGLES``: at least ``ceil(COPY_SHINGLES * NUM_PERM)``
      equal slots (index: slot and value → members);
    - "reworded" needs ``REWORD_SHARED`` shared names that are not boilerplate (index: name → members);
    - "same headline" needs a headline Jaccard of ``TITLE_SIMILAR``, so at least
      ``ceil(TITLE_SIMILAR * len(headline words))`` shared headline words (index: word → members),
      and at least one shared name.

    Counting keys in posting lists (C-speed ``Counter.update``) picks the candidates; only those are
    scored, so :meth:`best_match` gives exactly :func:`best_match`'s answer over all members while
    scoring about as many pairs as there are candidates, not every member of the window.
    ``scored`` counts the pairs scored (for benchmarks).
    """

    def __init__(self, members: Sequence[tuple[int, int, Features]]) -> None:
        self.common = common_entities(members)
        self.scored = 0
        self._members: list[tuple[int, int, Features]] = []
        self._by_entity: dict[str, list[int]] = {}
        self._by_hash: dict[tuple[int, int], list[int]] = {}
        self._by_title: dict[str, list[int]] = {}
        for story_id, article_id, feats in members:
            self.add(story_id, article_id, feats)

    def __len__(self) -> int:
        return len(self._members)

    def add(self, story_id: int, article_id: int, feats: Features) -> None:
        idx = len(self._members)
        self._members.append((story_id, article_id, feats))
        for ent in feats.ents - self.common:
            self._by_entity.setdefault(ent, []).append(idx)
        for slot, value in enumerate(feats.mh):
            self._by_hash.setdefault((slot, value), []).append(idx)
        for word in feats.title:
            self._by_title.setdefault(word, []).append(idx)

    def _plausible(self, feats: Features) -> list[int]:
        found: set[int] = set()
        if len(feats.mh) == NUM_PERM:
            same_hashes: Counter[int] = Counter()
            for slot, value in enumerate(feats.mh):
                same_hashes.update(self._by_hash.get((slot, value), ()))
            needed = math.ceil(COPY_SHINGLES * NUM_PERM - 1e-9)
            found.update(idx for idx, n in same_hashes.items() if n >= needed)
        ents = feats.ents - self.common
        if len(ents) < MIN_ENTITIES:
            return sorted(found)  # the name rules need MIN_ENTITIES names on both sides
        shared_ents: Counter[int] = Counter()
        for ent in ents:
            shared_ents.update(self._by_entity.get(ent, ()))
        found.update(idx for idx, n in shared_ents.items() if n >= REWORD_SHARED)
        if feats.title:
            shared_title: Counter[int] = Counter()
            for word in feats.title:
                shared_title.update(self._by_title.get(word, ()))
            needed_title = max(1, math.ceil(TITLE_SIMILAR * len(feats.title) - 1e-9))
            found.update(idx for idx, n in shared_title.items() if n >= needed_title and idx in shared_ents)
        return sorted(found)

    def best_match(self, feats: Features) -> ClusterMatch | None:
        """The story ``feats`` belongs to, if any (same answer as :func:`best_match`)."""
        plausible = self._plausible(feats)
        self.scored += len(plausible)
        return best_match(feats, [self._members[i] for i in plausible], self.common)

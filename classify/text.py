"""Tokenising and phrase matching, shared by the rules, the baseline and the model.

Matching works on word n-grams looked up in a dict, which is fast (no regex alternation over
hundreds of phrases) and exact on word boundaries: "chip" never matches inside "chipset".
Tokens are lowercased and de-pluralised ("controls" → "control", "subsidies" → "subsidy"), so a
phrase matches its plural. Short all-capitals phrases (``US``, ``SMIC``) match case-sensitively.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = ["PhraseMatcher", "Tokens", "join_tokens", "normalise_token", "phrase_key", "tokenize"]

_TOKEN_RE = re.compile(r"[A-Za-z0-9]+")
_MAX_NGRAM = 6


@functools.lru_cache(maxsize=200_000)
def normalise_token(token: str) -> str:
    """Lowercase and strip a plural ending, consistently for text and phrases."""
    t = token.lower()
    if len(t) <= 3 or t[-1] != "s" or t.endswith("ss") or t[-2].isdigit():
        return t
    if t.endswith("ies") and len(t) > 4:
        return t[:-3] + "y"
    if t.endswith(("ches", "shes", "sses", "xes")):
        return t[:-2]
    return t[:-1]


def _is_case_sensitive(phrase: str) -> bool:
    """All-capitals phrases of at most five letters match only in capitals (US, SMIC, HBM)."""
    letters = [c for c in phrase if c.isalpha()]
    return bool(letters) and len(letters) <= 5 and all(c.isupper() for c in letters)


def phrase_key(phrase: str) -> tuple[bool, tuple[str, ...]]:
    """The lookup key of a phrase: (case_sensitive, token tuple)."""
    raw = _TOKEN_RE.findall(phrase)
    if _is_case_sensitive(phrase):
        return True, tuple(raw)
    return False, tuple(normalise_token(t) for t in raw)


@dataclass(frozen=True, slots=True)
class Tokens:
    """A text tokenised once: raw tokens (case kept) and normalised tokens, aligned."""

    raw: tuple[str, ...]
    norm: tuple[str, ...]


def tokenize(text: str) -> Tokens:
    """Split a text into word tokens (letters/digits), keeping raw and normalised forms."""
    raw = tuple(_TOKEN_RE.findall(text))
    return Tokens(raw=raw, norm=tuple(map(normalise_token, raw)))


def join_tokens(first: Tokens, second: Tokens) -> Tokens:
    """Two token sequences as one, with a break between them that no phrase can span."""
    return Tokens(raw=(*first.raw, "\n", *second.raw), norm=(*first.norm, "\n", *second.norm))


class PhraseMatcher:
    """Finds which of a fixed set of phrases occur in a text, with their counts.

    Built once from the phrases; ``count(tokens)`` returns {phrase: occurrences}.
    """

    def __init__(self, phrases: Iterable[str]) -> None:
        self._insensitive: dict[tuple[str, ...], list[str]] = {}
        self._sensitive: dict[tuple[str, ...], list[str]] = {}
        for phrase in phrases:
            sensitive, key = phrase_key(phrase)
            if not key:
                continue
            table = self._sensitive if sensitive else self._insensitive
            bucket = table.setdefault(key, [])
            if phrase not in bucket:
                bucket.append(phrase)
        # first token -> the phrase lengths (in words) starting with it, longest last
        self._first_ins = _lengths_by_first(self._insensitive)
        self._first_sen = _lengths_by_first(self._sensitive)

    def count(self, tokens: Tokens) -> dict[str, int]:
        """Occurrences of each known phrase in the tokens (phrases absent are omitted)."""
        return {p: len(pos) for p, pos in self.find(tokens).items()}

    def find(self, tokens: Tokens) -> dict[str, list[int]]:
        """Token positions where each known phrase starts (phrases absent are omitted)."""
        found: dict[str, list[int]] = {}
        self._scan(tokens.norm, self._insensitive, self._first_ins, found)
        if self._sensitive:
            self._scan(tokens.raw, self._sensitive, self._first_sen, found)
        return found

    def _scan(
        self,
        seq: tuple[str, ...],
        table: Mapping[tuple[str, ...], list[str]],
        firsts: Mapping[str, tuple[int, ...]],
        found: dict[str, list[int]],
    ) -> None:
        """Look up the n-grams starting at each token that begins some phrase."""
        n = len(seq)
        for i, tok in enumerate(seq):
            lengths = firsts.get(tok)
            if lengths is None:
                continue
            for length in lengths:
                if i + length > n:
                    break
                hit = table.get(seq[i : i + length])
                if hit is not None:
                    for phrase in hit:
                        found.setdefault(phrase, []).append(i)


def _lengths_by_first(table: Mapping[tuple[str, ...], list[str]]) -> dict[str, tuple[int, ...]]:
    """For each first token, the sorted distinct lengths of the phrases it starts."""
    out: dict[str, set[int]] = {}
    for key in table:
        if len(key) <= _MAX_NGRAM:
            out.setdefault(key[0], set()).add(len(key))
    return {tok: tuple(sorted(ls)) for tok, ls in out.items()}

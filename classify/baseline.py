"""The comparison anchor: a Google-Alerts-style keyword matcher.

Each topic is a few alert queries, as a user would type them into Google Alerts; a query fires
when all its words occur anywhere in the headline or text (whole words, case-insensitive,
plural-insensitive), and a topic fires when any of its queries does. It knows nothing of context,
so "chip China" fires on potato-chip exports to China and "cloud AI" on cloud gaming — which is
the point of measuring it.
"""

from __future__ import annotations

from collections.abc import Mapping

from classify.text import PhraseMatcher, tokenize

__all__ = ["BASELINE_KEYWORDS", "KeywordBaseline"]

BASELINE_KEYWORDS: Mapping[str, tuple[str, ...]] = {
    "chip-export": ("chip export", "chip China", "semiconductor export", "semiconductor China"),
    "cloud-policy": ("cloud policy", "cloud rules", "cloud government", "computing power"),
    "cloud-competition": ("cloud AI", "cloud market"),
    "foundation-models": ("AI model", "chatbot", "language model"),
    "investment": ("AI funding", "AI investment", "AI valuation", "AI IPO"),
    "regulation": ("AI regulation", "AI rules", "AI law", "AI censorship"),
    "talent": ("AI talent", "AI researchers", "AI hiring", "AI students"),
}


class KeywordBaseline:
    """Assigns every topic with a query whose words all occur (Google Alerts AND semantics)."""

    def __init__(self, keywords: Mapping[str, tuple[str, ...]] = BASELINE_KEYWORDS) -> None:
        self._queries = {t: tuple(tuple(q.split()) for q in qs) for t, qs in keywords.items()}
        words = {w for qs in self._queries.values() for q in qs for w in q}
        self._matcher = PhraseMatcher(words)

    def predict(self, title: str, text: str) -> tuple[str, ...]:
        """Topic ids (in table order) with at least one query whose words are all present."""
        found = self._matcher.count(tokenize(f"{title}\n{text}"))
        return tuple(
            t
            for t, qs in self._queries.items()
            if any(all(w in found for w in q) for q in qs)
        )

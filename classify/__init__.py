"""classify: file articles under the contract's topics, with scores and the evidence that fired.

Public API: :func:`classify`, :func:`default_classifier`, :class:`Classifier`,
:func:`format_evidence`, :func:`load_topics`, :class:`Topic`. See ``docs/classification.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from classify.topics import Topic, load_topics

if TYPE_CHECKING:
    from classify.classifier import Classifier, classify, default_classifier, format_evidence

_LAZY = {"Classifier", "classify", "default_classifier", "format_evidence"}


def __getattr__(name: str) -> Any:
    """The classifier (and numpy with it) is imported on first use, not by ``classify.topics`` users."""
    if name in _LAZY:
        from classify import classifier

        return getattr(classifier, name)
    raise AttributeError(f"module 'classify' has no attribute {name!r}")

__all__ = [
    "Classifier",
    "Topic",
    "classify",
    "default_classifier",
    "format_evidence",
    "load_topics",
]

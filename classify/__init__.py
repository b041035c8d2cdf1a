"""classify: file articles under the contract's topics, with scores and the evidence that fired.

Public API: :func:`classify`, :func:`default_classifier`, :class:`Classifier`,
:func:`format_evidence`, :func:`load_topics`, :class:`Topic`. See ``docs/classification.md``.
"""

from __future__ import annotations

from classify.classifier import Classifier, classify, default_classifier, format_evidence
from classify.topics import Topic, load_topics

__all__ = [
    "Classifier",
    "Topic",
    "classify",
    "default_classifier",
    "format_evidence",
    "load_topics",
]

"""Evidence formatting for alerts."""

from __future__ import annotations

from classify import classify, format_evidence
from newsmon.models import Classification


def _c() -> Classification:
    return Classification(
        topics=("chip-export", "cloud-policy"),
        scores={"chip-export": 0.9, "cloud-policy": 0.6, "talent": 0.0},
        evidence={
            "chip-export": ("Entity List", "SMIC", "Commerce Department", "export controls"),
            "cloud-policy": ("know-your-customer", "Commerce Department", "IaaS"),
        },
    )


def test_format_joins_with_middle_dots_strongest_first() -> None:
    assert format_evidence(_c(), ["chip-export"]) == (
        "Entity List · SMIC · Commerce Department · export controls"
    )


def test_format_interleaves_topics_dedups_and_limits() -> None:
    assert format_evidence(_c(), limit=4) == (
        "Entity List · know-your-customer · SMIC · Commerce Department"
    )
    assert format_evidence(_c(), limit=0) == ""


def test_format_ignores_unassigned_topics_and_off_topic() -> None:
    assert format_evidence(_c(), ["talent"]) == ""
    empty = Classification(topics=(), scores={}, evidence={})
    assert format_evidence(empty) == ""


def test_real_classification_evidence_is_readable() -> None:
    c = classify(
        "Commerce adds SMIC affiliates to the Entity List",
        "The US Commerce Department added affiliates of China's SMIC to the Entity List, "
        "tightening export controls on chipmaking tools.",
    )
    line = format_evidence(c, ["chip-export"])
    assert "Entity List" in line
    assert " · " in line
    assert len(line.split(" · ")) <= 6

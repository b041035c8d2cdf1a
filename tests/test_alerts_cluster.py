"""Story clustering: copies join, different stories stay apart; and the benchmark meets its floors."""

from __future__ import annotations

import pytest

from alerts.cluster import (
    StoryIndex,
    best_match,
    entities,
    features,
    features_from_json,
    match,
    score_pair,
    strip_site_suffix,
)
from tests.alerts_support import STORIES, reword


def _same(a: tuple[str, str], b: tuple[str, str]) -> bool:
    return match(score_pair(features(*a), features(*b))) is not None


ENTITY = STORIES["entity"]


def test_syndicated_copy_with_new_headline_joins() -> None:
    copy = ("Washington blacklists 14 Chinese companies | Asia Desk", "HONG KONG (Wire) — " + ENTITY[1])
    assert _same(ENTITY, copy)


def test_reordered_paragraphs_join() -> None:
    paragraphs = ENTITY[1].split("\n\n")
    assert _same(ENTITY, (ENTITY[0], "\n\n".join(reversed(paragraphs))))


def test_spun_rewrite_joins() -> None:  # seed 003's kind of copy
    assert _same(ENTITY, ("US provides 14 Chinese corporations to Entity List", reword(ENTITY[1])))


def test_excerpt_joins() -> None:
    assert _same(ENTITY, (ENTITY[0], "\n\n".join(ENTITY[1].split("\n\n")[:2])))


@pytest.mark.parametrize("other", ["drones", "cloud"])
def test_different_export_control_story_same_week_stays_apart(other: str) -> None:
    assert not _same(ENTITY, STORIES[other])


def test_features_round_trip_through_json() -> None:
    f = features(*ENTITY)
    assert features_from_json(f.to_json()) == f


def test_best_match_picks_the_story_and_ignores_common_names() -> None:
    f = features(*ENTITY)
    candidates = [(1, 10, features(*STORIES["drones"])), (2, 11, f)]
    found = best_match(features(ENTITY[0], "HONG KONG (Wire) — " + ENTITY[1]), candidates)
    assert found is not None and (found.story_id, found.article_id, found.reason) == (2, 11, "copy")
    assert best_match(features(*STORIES["cloud"]), candidates) is None


def test_entities_skip_sentence_openers_years_and_beat_names() -> None:
    ents = entities("The Commerce Department named SMIC in 2025. Reporting by staff. Nvidia H20 costs $5.5 billion.")
    assert {"smic", "h20", "5.5 billion"} <= ents
    assert not {"the", "reporting", "2025", "nvidia", "commerce"} & ents


def test_site_suffix_is_not_part_of_the_headline() -> None:
    assert strip_site_suffix("China wants the world to believe it – Firstpost") == "China wants the world to believe it"
    assert strip_site_suffix("US-China talks resume") == "US-China talks resume"


def test_benchmark_meets_its_floors_on_the_test_split() -> None:
    from benchmarks.clustering import FLOORS, run

    result = run(splits=("test",))["test"]
    assert isinstance(result, dict)
    for view in ("pairs", "streaming"):
        for key, floor in FLOORS.items():
            assert result[view][key] >= floor, (view, key, result[view])


def test_story_index_gives_the_same_answer_as_scoring_every_member() -> None:
    from benchmarks.clustering import load_bases, load_synonyms, variants

    syn = load_synonyms()
    docs = [d for base in load_bases()[:40] for d in [base, *variants(base, syn)]]
    members = [(i // 7, i, features(d.title, d.text)) for i, d in enumerate(docs)]
    index = StoryIndex(members[: len(members) // 2])
    for story_id, article_id, feats in members[len(members) // 2 :]:
        assert index.best_match(feats) == best_match(feats, index._members, index.common)
        index.add(story_id, article_id, feats)


def test_empty_articles_do_not_match_each_other() -> None:
    assert match(score_pair(features("", ""), features("", ""))) is None


def test_story_index_scores_candidates_not_every_member() -> None:
    """On a fresh database (no boilerplate names known yet) the index still prunes: most members share
    a name or a headline word with a new article, but few share enough of them to be able to match."""
    from benchmarks.clustering import load_bases, load_synonyms, variants

    syn = load_synonyms()
    docs = [d for base in load_bases() for d in [base, *variants(base, syn)]]
    index = StoryIndex([])
    all_pairs = 0
    joined = 0
    for i, d in enumerate(docs):
        feats = features(d.title, d.text)
        found = index.best_match(feats)
        joined += found is not None
        all_pairs += len(index)
        index.add(found.story_id if found else i, i, feats)
    assert joined > len(docs) // 2  # copies do join
    assert index.scored < all_pairs // 4, (index.scored, all_pairs)

"""Full-text search: the query language, and ranked search on SQLite FTS5 and PostgreSQL tsvector."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from newsmon.models import Classification, ExtractedArticle
from storage import repo
from storage.db import open_database
from storage.schema import Article
from storage.search import (
    And,
    Not,
    Or,
    SearchQueryError,
    Term,
    parse_query,
    search_articles,
    snippet_terms,
    to_fts5,
    to_tsquery,
)
from storage.search_index import drop_search_index

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)

ARTICLES = [
    ("https://ex.com/1", "US adds SMIC units to the Entity List",
     "The Commerce Department added SMIC subsidiaries to the Entity List, tightening export controls on chips."),
    ("https://ex.com/2", "Nvidia H20 sales to China halted",
     "Nvidia said exports of the H20 accelerator need a licence. AMD faces similar export rules."),
    ("https://ex.com/3", "Potato chips maker expands",
     "A snack company exporting potato chips opened a new plant. Chips sales rose."),
    ("https://ex.com/4", "Alibaba Cloud cuts prices",
     "Alibaba Cloud cut prices for its Qwen models as cloud competition heats up; no entity list news here."),
]


def _store(db_url: str) -> tuple[object, list[int]]:
    db = open_database(db_url)
    ids: list[int] = []
    with db.session() as s:
        for i, (url, title, text) in enumerate(ARTICLES):
            new = repo.NewArticle(url=url, link=url, source=f"Wire {i}", origin="feed",
                                  article=ExtractedArticle(url=url, title=title, text=text,
                                                           published=NOW - timedelta(days=i)))
            new_id = repo.insert_article(s, new, now=NOW)
            assert new_id is not None
            ids.append(new_id)
    return db, ids


# -- the query language (pure) ------------------------------------------------------------------


def test_parse_words_phrases_prefix_and_operators() -> None:
    node = parse_query('"Entity List" export* (nvidia OR amd) -potato')
    assert node == And((Term(("entity", "list")), Term(("export",), prefix=True),
                        Or((Term(("nvidia",)), Term(("amd",)))), Not(Term(("potato",)))))
    assert to_fts5(node) == '("entity list" AND "export"* AND ("nvidia" OR "amd")) NOT "potato"'
    assert to_tsquery(node) == "(('entity' <-> 'list') & 'export':* & ('nvidia' | 'amd') & !'potato')"


def test_punctuation_never_reaches_the_database_syntax() -> None:
    node = parse_query("U.S.-China chips: 'export' \"unclosed")
    assert node == And((Term(("u", "s", "china")), Term(("chips",)), Term(("export",)), Term(("unclosed",))))
    assert parse_query("a AND NOT b") == And((Term(("a",)), Not(Term(("b",)))))
    assert parse_query("nvidia or amd") == And((Term(("nvidia",)), Term(("or",)), Term(("amd",))))


@pytest.mark.parametrize("query, says", [
    ("", "empty"), ("   ", "empty"), ("NOT potato", "subtract"), ("-potato", "subtract"),
    ("chips OR NOT potato", "subtract"), ("(chips", "not closed"), ("chips)", "unexpected"),
    ("chips OR", "nothing on one side"), ("NOT", "needs a word"),
])
def test_bad_queries_say_what_is_wrong(query: str, says: str) -> None:
    with pytest.raises(SearchQueryError, match=says):
        parse_query(query)


# -- on both databases ----------------------------------------------------------------------------


def _urls(hits: list) -> list[str]:  # type: ignore[type-arg]
    return [h.url for h in hits]


def test_search_ranks_phrases_prefixes_and_operators(db_url: str) -> None:
    db, _ = _store(db_url)
    with db.session() as s:  # type: ignore[attr-defined]
        hits = search_articles(s, '"entity list"')
        assert set(_urls(hits)) == {"https://ex.com/1", "https://ex.com/4"}
        assert hits[0].url == "https://ex.com/1"  # in the title and the text beats the text alone
        assert hits[0].score > hits[1].score
        assert set(_urls(search_articles(s, "export*"))) == {"https://ex.com/1", "https://ex.com/2",
                                                           "https://ex.com/3"}
        assert set(_urls(search_articles(s, "chips NOT potato"))) == {"https://ex.com/1"}
        assert set(_urls(search_articles(s, "chips -potato"))) == {"https://ex.com/1"}
        assert set(_urls(search_articles(s, "nvidia OR alibaba"))) == {"https://ex.com/2", "https://ex.com/4"}
        assert set(_urls(search_articles(s, "(nvidia OR alibaba) AND prices"))) == {"https://ex.com/4"}
        assert search_articles(s, "zyzzyva") == []
        assert len(search_articles(s, "export*", limit=2)) == 2
        hit = search_articles(s, "licence")[0]
        assert hit.url == "https://ex.com/2" and hit.source == "Wire 1" and hit.published == NOW - timedelta(days=1)
        assert [t.lower() for t in snippet_terms(hit.snippet)] == ["licence"]
        assert "**" not in hit.title
    db.dispose()  # type: ignore[attr-defined]


def test_search_filters_follow_reclassification_and_dates(db_url: str) -> None:
    db, ids = _store(db_url)
    with db.session() as s:  # type: ignore[attr-defined]
        assert search_articles(s, "export*", topic="chip-export") == []
        repo.set_classification(s, ids[1], Classification(("chip-export",), {"chip-export": 0.9}, {}), now=NOW)
    with db.session() as s:  # type: ignore[attr-defined]
        hits = search_articles(s, "export*", topic="chip-export")
        assert _urls(hits) == ["https://ex.com/2"] and hits[0].topics == ("chip-export",)
        # reclassified away: the filter follows at once
        repo.set_classification(s, ids[1], Classification(("investment",), {}, {}), now=NOW)
    with db.session() as s:  # type: ignore[attr-defined]
        assert search_articles(s, "export*", topic="chip-export") == []
        recent = search_articles(s, "export*", since=NOW - timedelta(days=1, hours=1))
        assert set(_urls(recent)) == {"https://ex.com/1", "https://ex.com/2"}
    db.dispose()  # type: ignore[attr-defined]


def test_index_follows_edits_and_deletes(db_url: str) -> None:
    db, ids = _store(db_url)
    with db.session() as s:  # type: ignore[attr-defined]
        s.execute(update(Article).where(Article.id == ids[2]).values(title="Quantum annealer news",
                                                                     text="Nothing about snacks."))
    with db.session() as s:  # type: ignore[attr-defined]
        assert search_articles(s, "potato") == []
        assert _urls(search_articles(s, "annealer")) == ["https://ex.com/3"]
        s.query(Article).filter(Article.id == ids[2]).delete()
    with db.session() as s:  # type: ignore[attr-defined]
        assert search_articles(s, "annealer") == []
    db.dispose()  # type: ignore[attr-defined]


def test_database_created_before_the_index_gets_it_filled_at_start_up(db_url: str) -> None:
    db, _ = _store(db_url)
    with db.engine.begin() as conn:  # type: ignore[attr-defined]
        drop_search_index(conn)  # as a database from before the index existed
    db.dispose()  # type: ignore[attr-defined]
    db = open_database(db_url)
    with db.session() as s:
        assert _urls(search_articles(s, "smic")) == ["https://ex.com/1"]
    with db.session() as s:  # new rows after the upgrade are indexed too
        url = "https://ex.com/5"
        repo.insert_article(s, repo.NewArticle(url=url, link=url, source="W", origin="feed", article=ExtractedArticle(
            url=url, title="Huawei Ascend output", text="Ascend chips", published=NOW)), now=NOW)
    with db.session() as s:
        assert _urls(search_articles(s, "ascend")) == ["https://ex.com/5"]
    db.dispose()


def test_a_broad_query_ranks_its_newest_matches(db_url: str) -> None:
    db, _ids = _store(db_url)
    with db.session() as s:  # type: ignore[attr-defined]
        everything = search_articles(s, "export*", rank_window=None)
        assert len(everything) == 3
        newest_two = search_articles(s, "export*", rank_window=2)
        assert {h.url for h in newest_two} == {"https://ex.com/2", "https://ex.com/3"}  # stored last
        assert len(search_articles(s, "export*", rank_window=3)) == 3
        assert len(search_articles(s, "export*", rank_window=50)) == 3
        filtered = search_articles(s, "export* -potato", rank_window=1)
        assert [h.url for h in filtered] == ["https://ex.com/2"]
    db.dispose()  # type: ignore[attr-defined]


def test_phrases_stay_exact_and_undated_articles_filter_on_fetch_time(db_url: str) -> None:
    """PostgreSQL finds phrase candidates by their words and checks the phrase after ranking; SQLite and
    PostgreSQL read --since as the published time, else the fetch time."""
    db, _ = _store(db_url)
    with db.session() as s:  # type: ignore[attr-defined]
        url = "https://ex.com/apart"
        repo.insert_article(s, repo.NewArticle(url=url, link=url, source="W", origin="feed", article=ExtractedArticle(
            url=url, title="List of rules", text="Every entity must file; the list grows.", published=None)),
            now=NOW)
    with db.session() as s:  # type: ignore[attr-defined]
        assert set(_urls(search_articles(s, '"entity list"'))) == {"https://ex.com/1", "https://ex.com/4"}
        assert set(_urls(search_articles(s, '"entity list"', rank_window=None))) == {
            "https://ex.com/1", "https://ex.com/4"}
        assert set(_urls(search_articles(s, "entity list -alibaba"))) == {"https://ex.com/apart", "https://ex.com/1"}
        recent = search_articles(s, "entity", since=NOW - timedelta(hours=1))
        assert set(_urls(recent)) == {"https://ex.com/1", "https://ex.com/apart"}  # apart: unknown date, fetched NOW
        assert _urls(search_articles(s, '"entity list"', since=NOW - timedelta(hours=1))) == ["https://ex.com/1"]
    db.dispose()  # type: ignore[attr-defined]


def test_a_database_from_the_first_search_version_gets_the_new_objects(db_url: str) -> None:
    """The lead vector (PostgreSQL) and the filter index (SQLite) are added and filled at start-up."""
    db, _ = _store(db_url)
    with db.engine.begin() as conn:  # type: ignore[attr-defined]
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("ALTER TABLE articles DROP COLUMN search_lead")
        else:
            conn.exec_driver_sql("DROP INDEX ix_articles_search_filter")
    db.dispose()  # type: ignore[attr-defined]
    db = open_database(db_url)
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            filled = conn.exec_driver_sql("SELECT count(*) FROM articles WHERE search_lead IS NOT NULL").scalar()
            assert filled == len(ARTICLES)
        else:
            found = conn.exec_driver_sql(
                "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'ix_articles_search_filter'").first()
            assert found is not None
    with db.session() as s:
        hits = search_articles(s, "smic", topic=None, since=NOW - timedelta(days=30))
        assert _urls(hits) == ["https://ex.com/1"] and hits[0].score > 0
    db.dispose()

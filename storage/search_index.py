"""The full-text search index over article titles and texts (DDL only; queries are in :mod:`storage.search`).

SQLite: an FTS5 table ``articles_fts`` with external content (``content='articles'``), so the text is
stored once; three triggers keep it in step with every insert, update of title/text and delete.
Tokenizer ``porter unicode61 remove_diacritics 2``: English stemming, case and accents folded.

PostgreSQL: a ``tsvector`` column ``articles.search_vector`` (title weighted A, text weighted B, the
``english`` configuration) with a GIN index, filled by a ``BEFORE INSERT OR UPDATE OF title, text``
trigger, so classification updates (topics, scores) do not re-index the text. The text is cut at
:data:`PG_TEXT_LIMIT` characters before indexing: a ``tsvector`` is limited to 1 MB, and an article
must never fail to store because it is long. The same trigger fills a second, small ``tsvector``,
``articles.search_lead`` (title weighted A + the first :data:`PG_LEAD_CHARS` characters of the text,
weighted B), which ranking reads: ranking the whole vector meant decompressing several KB per
candidate, the lead is a few hundred bytes stored in the row.

:func:`ensure_search_index` is idempotent and runs at every start-up (from :func:`storage.db.migrate`),
so a fresh database and one created before the index existed both get it; when the index is created
on a database that already holds articles, it is filled from them in the same transaction.
"""

from __future__ import annotations

import logging

from sqlalchemy import Connection, inspect, text

__all__ = ["PG_LEAD_CHARS", "PG_TEXT_LIMIT", "SQLITE_FILTER_INDEX", "drop_search_index", "ensure_search_index"]

log = logging.getLogger(__name__)

PG_TEXT_LIMIT = 300_000
PG_CONFIG = "english"
PG_LEAD_CHARS = 300
# SQLite: search's --topic/--since read this index, not the article row (whose text spills to overflow pages)
SQLITE_FILTER_INDEX = "ix_articles_search_filter"
_SQLITE_FILTER_DDL = (f"CREATE INDEX IF NOT EXISTS {SQLITE_FILTER_INDEX} "
                      "ON articles (id, published_at, fetched_at, topics)")

_SQLITE_DDL = (
    "CREATE VIRTUAL TABLE articles_fts USING fts5(title, text, content='articles', content_rowid='id', "
    "tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER IF NOT EXISTS articles_fts_ai AFTER INSERT ON articles BEGIN "
    "INSERT INTO articles_fts(rowid, title, text) VALUES (new.id, new.title, new.text); END",
    "CREATE TRIGGER IF NOT EXISTS articles_fts_ad AFTER DELETE ON articles BEGIN "
    "INSERT INTO articles_fts(articles_fts, rowid, title, text) VALUES ('delete', old.id, old.title, old.text); END",
    "CREATE TRIGGER IF NOT EXISTS articles_fts_au AFTER UPDATE OF title, text ON articles BEGIN "
    "INSERT INTO articles_fts(articles_fts, rowid, title, text) VALUES ('delete', old.id, old.title, old.text); "
    "INSERT INTO articles_fts(rowid, title, text) VALUES (new.id, new.title, new.text); END",
)

_PG_VECTOR = (
    f"setweight(to_tsvector('{PG_CONFIG}', coalesce({{row}}title, '')), 'A') || "
    f"setweight(to_tsvector('{PG_CONFIG}', left(coalesce({{row}}text, ''), {PG_TEXT_LIMIT})), 'B')"
)

_PG_LEAD = (
    f"setweight(to_tsvector('{PG_CONFIG}', coalesce({{row}}title, '')), 'A') || "
    f"setweight(to_tsvector('{PG_CONFIG}', left(coalesce({{row}}text, ''), {PG_LEAD_CHARS})), 'B')"
)

_PG_DDL = (
    "ALTER TABLE articles ADD COLUMN IF NOT EXISTS search_vector tsvector",
    "ALTER TABLE articles ADD COLUMN IF NOT EXISTS search_lead tsvector",
    "CREATE OR REPLACE FUNCTION newsmon_articles_search_vector() RETURNS trigger LANGUAGE plpgsql AS $$ "
    f"BEGIN NEW.search_vector := {_PG_VECTOR.format(row='NEW.')}; "
    f"NEW.search_lead := {_PG_LEAD.format(row='NEW.')}; RETURN NEW; END $$",
    "DROP TRIGGER IF EXISTS articles_search_vector ON articles",
    "CREATE TRIGGER articles_search_vector BEFORE INSERT OR UPDATE OF title, text ON articles "
    "FOR EACH ROW EXECUTE FUNCTION newsmon_articles_search_vector()",
    "CREATE INDEX IF NOT EXISTS ix_articles_search_vector ON articles USING gin (search_vector)",
)


def _sqlite_has_fts(conn: Connection) -> bool:
    found = conn.execute(text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'articles_fts'"))
    return found.first() is not None


def ensure_search_index(conn: Connection) -> bool:
    """Create the search index objects if missing and fill them. Returns True when something was created."""
    dialect = conn.dialect.name
    if dialect == "sqlite":
        if _sqlite_has_fts(conn):
            has_filter = conn.execute(text("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = :n"),
                                      {"n": SQLITE_FILTER_INDEX}).first() is not None
            if not has_filter:
                conn.exec_driver_sql(_SQLITE_FILTER_DDL)
                log.info("created the search filter index %s", SQLITE_FILTER_INDEX)
            return not has_filter
        conn.exec_driver_sql(_SQLITE_FILTER_DDL)
        for ddl in _SQLITE_DDL:
            conn.exec_driver_sql(ddl)
        conn.exec_driver_sql("INSERT INTO articles_fts(articles_fts) VALUES ('rebuild')")
        log.info("created the full-text search index (SQLite FTS5)")
        return True
    if dialect == "postgresql":
        columns = {c["name"] for c in inspect(conn).get_columns("articles")}
        if {"search_vector", "search_lead"} <= columns:
            return False
        for ddl in _PG_DDL:
            conn.exec_driver_sql(ddl)
        if "search_vector" in columns:  # made before the lead vector existed: fill only that
            conn.exec_driver_sql(f"UPDATE articles SET search_lead = {_PG_LEAD.format(row='')}")
        else:
            conn.exec_driver_sql(f"UPDATE articles SET search_vector = {_PG_VECTOR.format(row='')}, "
                                 f"search_lead = {_PG_LEAD.format(row='')}")
        log.info("created the full-text search index (PostgreSQL tsvector + GIN)")
        return True
    return False


def drop_search_index(conn: Connection) -> None:
    """Remove the index objects (benchmarks measure ingest with and without them)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"DROP INDEX IF EXISTS {SQLITE_FILTER_INDEX}")
        for name in ("articles_fts_ai", "articles_fts_ad", "articles_fts_au"):
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
        conn.exec_driver_sql("DROP TABLE IF EXISTS articles_fts")
    elif conn.dialect.name == "postgresql":
        conn.exec_driver_sql("DROP TRIGGER IF EXISTS articles_search_vector ON articles")
        conn.exec_driver_sql("DROP INDEX IF EXISTS ix_articles_search_vector")
        conn.exec_driver_sql("ALTER TABLE articles DROP COLUMN IF EXISTS search_vector")
        conn.exec_driver_sql("ALTER TABLE articles DROP COLUMN IF EXISTS search_lead")

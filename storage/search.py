"""Ranked full-text search over stored articles, the same query syntax on SQLite and PostgreSQL.

Query syntax (what ``newsmon search`` accepts)::

    chip export            both words (AND is implied)
    "entity list"          a phrase
    export*                a prefix: export, exports, exporting …
    nvidia OR amd          either
    chips AND NOT potato   NOT (or a leading -) excludes: ``chips -potato``
    (nvidia OR amd) h20    parentheses group

The query is parsed here into a small tree and rendered for each database (an FTS5 ``MATCH``
expression on SQLite, a ``to_tsquery`` expression on PostgreSQL), so user input never reaches either
query language unescaped and a stray quote or colon is not a syntax error. Words are runs of letters
and digits; "U.S." is the phrase "u s". Negation needs something to subtract from: ``NOT x`` alone,
or ``a OR NOT b``, is refused with a :class:`SearchQueryError`.

Snippets mark the matched words with ``**`` on both databases. Scores are relevance, higher is
better, comparable only within one result list (BM25 on SQLite; on PostgreSQL ``ts_rank`` on the
title and the first ``PG_LEAD_CHARS`` characters of the text, ties newest first).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Float, Integer, String, and_, bindparam, cast, func, literal_column, or_, select, table, text
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter, ColumnElement

from newsmon.errors import NewsmonError
from storage.outbox import Story
from storage.schema import Article, UTCDateTime
from storage.search_index import PG_CONFIG, SQLITE_FILTER_INDEX

__all__ = [
    "RANK_WINDOW",
    "And",
    "Not",
    "Or",
    "SearchHit",
    "SearchQueryError",
    "Term",
    "parse_query",
    "search_articles",
    "to_fts5",
    "to_tsquery",
]

MARK = "**"
RANK_WINDOW = 5000  # a query matching more articles ranks the newest this many (see search_articles)
_SNIPPET_TOKENS = 24
_HEADLINE_CHARS = 100_000


class SearchQueryError(NewsmonError):
    """A search query that cannot be understood; the message says what is wrong."""


@dataclass(frozen=True, slots=True)
class Term:
    """A word or a phrase (several words in order); ``prefix``: the last word is a prefix."""

    words: tuple[str, ...]
    prefix: bool = False


@dataclass(frozen=True, slots=True)
class Not:
    node: Node


@dataclass(frozen=True, slots=True)
class And:
    nodes: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    nodes: tuple[Node, ...]


Node = Term | Not | And | Or

_TOKEN = re.compile(r'\s*(?:(?P<lp>\()|(?P<rp>\))|"(?P<phrase>[^"]*)"?(?P<pstar>\*)?|(?P<word>[^\s()"]+))')
_WORD = re.compile(r"\w+")


def _lex(query: str) -> list[tuple[str, str, bool]]:
    """(kind, value, star) tokens: kind is '(' ')' 'phrase' 'word'."""
    tokens: list[tuple[str, str, bool]] = []
    pos = 0
    query = query.strip()
    while pos < len(query):
        m = _TOKEN.match(query, pos)
        if m is None or m.end() == pos:  # only trailing whitespace is left
            break
        pos = m.end()
        if m.group("lp"):
            tokens.append(("(", "(", False))
        elif m.group("rp"):
            tokens.append((")", ")", False))
        elif m.group("phrase") is not None:
            tokens.append(("phrase", m.group("phrase"), bool(m.group("pstar"))))
        else:
            tokens.append(("word", m.group("word"), False))
    return tokens


class _Parser:
    def __init__(self, query: str) -> None:
        self.query = query
        self.tokens = _lex(query)
        self.i = 0

    def peek(self) -> tuple[str, str, bool] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def is_op(self, name: str) -> bool:
        tok = self.peek()
        return tok is not None and tok[0] == "word" and tok[1] == name

    def parse(self) -> Node:
        if not self.tokens:
            raise SearchQueryError("the search query is empty; give at least one word")
        node = self.parse_or()
        if self.peek() is not None:
            raise SearchQueryError(f"unexpected {self.peek()[1]!r} in the query {self.query!r}")  # type: ignore[index]
        return node

    def parse_or(self) -> Node:
        nodes = [self.parse_and()]
        while self.is_op("OR"):
            self.i += 1
            nodes.append(self.parse_and())
        return nodes[0] if len(nodes) == 1 else Or(tuple(nodes))

    def parse_and(self) -> Node:
        nodes: list[Node] = []
        while True:
            tok = self.peek()
            if tok is None or tok[0] == ")" or self.is_op("OR"):
                break
            if self.is_op("AND"):
                self.i += 1
                continue
            node = self.parse_unary()
            if node is not None:
                nodes.append(node)
        if not nodes:
            raise SearchQueryError(f"an operator has nothing on one side in the query {self.query!r}")
        return nodes[0] if len(nodes) == 1 else And(tuple(nodes))

    def parse_unary(self) -> Node | None:
        tok = self.peek()
        assert tok is not None
        if self.is_op("NOT"):
            self.i += 1
            if self.peek() is None:
                raise SearchQueryError(f"NOT needs a word after it in the query {self.query!r}")
            inner = self.parse_unary()
            return None if inner is None else Not(inner)
        kind, value, _star = tok
        if kind == "word" and value.startswith("-") and len(value) > 1:
            self.i += 1
            term = _term(value[1:], star=False)
            return None if term is None else Not(term)
        return self.parse_atom()

    def parse_atom(self) -> Node | None:
        kind, value, star = self.tokens[self.i]
        self.i += 1
        if kind == "(":
            node = self.parse_or()
            if self.peek() is None or self.peek()[0] != ")":  # type: ignore[index]
                raise SearchQueryError(f"a '(' is not closed in the query {self.query!r}")
            self.i += 1
            return node
        if kind == ")":
            raise SearchQueryError(f"a ')' has no matching '(' in the query {self.query!r}")
        return _term(value, star=star)


def _term(raw: str, *, star: bool) -> Term | None:
    prefix = star or raw.endswith("*")
    words = tuple(w.lower() for w in _WORD.findall(raw))
    return Term(words, prefix) if words else None  # punctuation alone is not a term


def _check_negation(node: Node, query: str) -> None:
    """A NOT must be one of several AND-ed parts with at least one positive part."""
    if isinstance(node, Not):
        raise SearchQueryError(f"NOT needs something to subtract from (e.g. 'chips NOT potato'): {query!r}")
    if isinstance(node, Or):
        for child in node.nodes:
            _check_negation(child, query)
    if isinstance(node, And):
        positives = [n for n in node.nodes if not isinstance(n, Not)]
        if not positives:
            raise SearchQueryError(f"NOT needs something to subtract from (e.g. 'chips NOT potato'): {query!r}")
        for child in node.nodes:
            _check_negation(child.node if isinstance(child, Not) else child, query)


def parse_query(query: str) -> Node:
    """Parse the user's query. Raises :class:`SearchQueryError` saying what is wrong."""
    node = _Parser(query).parse()
    _check_negation(node, query)
    return node


def to_fts5(node: Node) -> str:
    """The node as an SQLite FTS5 MATCH expression (every word quoted)."""
    if isinstance(node, Term):
        return '"' + " ".join(node.words) + '"' + ("*" if node.prefix else "")
    if isinstance(node, Or):
        return "(" + " OR ".join(to_fts5(n) for n in node.nodes) + ")"
    if isinstance(node, And):
        positives = [to_fts5(n) for n in node.nodes if not isinstance(n, Not)]
        negatives = [to_fts5(n.node) for n in node.nodes if isinstance(n, Not)]
        expr = "(" + " AND ".join(positives) + ")"
        return expr + "".join(f" NOT {neg}" for neg in negatives)
    raise SearchQueryError("NOT needs something to subtract from")


def to_tsquery(node: Node) -> str:
    """The node as a PostgreSQL ``to_tsquery`` expression (every word a quoted lexeme)."""
    if isinstance(node, Term):
        words = [f"'{w}'" for w in node.words]
        if node.prefix:
            words[-1] += ":*"
        return "(" + " <-> ".join(words) + ")" if len(words) > 1 else words[0]
    if isinstance(node, Not):
        return "!" + to_tsquery(node.node)
    joiner = " | " if isinstance(node, Or) else " & "
    return "(" + joiner.join(to_tsquery(n) for n in node.nodes) + ")"


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One search result, best first; ``snippet`` marks matched words with ``**``."""

    id: int
    url: str
    title: str
    source: str
    published: datetime | None
    fetched_at: datetime
    topics: tuple[str, ...]
    snippet: str
    score: float
    story_id: int | None
    story_title: str | None


def _filters(topic: str | None, since: datetime | None) -> list[ColumnElement[bool]]:
    out: list[ColumnElement[bool]] = []
    if topic is not None:
        # topic ids are [a-z0-9-]; the JSON list is stored as text on both databases
        out.append(cast(Article.topics, String).like(f'%"{topic}"%'))
    if since is not None:  # coalesce(published_at, fetched_at) >= since, spelt so both indexes serve it
        out.append(or_(Article.published_at >= since,
                       and_(Article.published_at.is_(None), Article.fetched_at >= since)))
    return out


def _sqlite_hits(session: Session, match: str, topic: str | None, since: datetime | None,
                 limit: int, window: int | None) -> list[tuple[int, float, str]]:
    """Two statements. One pass over the matches newest first (FTS5 walks its doclists in rowid
    order), the filters read from the covering index ``ix_articles_search_filter`` (never the article
    row, whose text spills to overflow pages), BM25 (title weighted 5:1, FTS5's ``rank``) computed
    for the newest ``window`` of them only, the best ``limit`` kept; then snippets for those rows only
    (SQLite would otherwise build a snippet for every match before sorting)."""
    fts = table("articles_fts")
    rowid: ColumnElement[int] = literal_column("articles_fts.rowid")
    rank: ColumnElement[float] = literal_column("articles_fts.rank")
    matches = literal_column("articles_fts").op("MATCH")(bindparam("match", match))
    ranking = rank.op("MATCH")(literal_column("'bm25(5.0, 1.0)'"))
    if topic is None and since is None:
        newest = select(rowid.label("id"), rank.label("rank")).select_from(fts).where(matches, ranking)
        newest = newest.order_by(rowid.desc())
        if window is not None:
            newest = newest.limit(window)
    else:  # SQLAlchemy renders no INDEXED BY on a join: written out
        sql = (f"SELECT articles_fts.rowid AS id, articles_fts.rank AS rank FROM articles_fts "
               f"JOIN articles INDEXED BY {SQLITE_FILTER_INDEX} ON articles.id = articles_fts.rowid "
               "WHERE articles_fts MATCH :match AND articles_fts.rank MATCH 'bm25(5.0, 1.0)'")
        params: list[BindParameter[Any]] = [bindparam("match", match)]
        if topic is not None:  # topic ids are [a-z0-9-]; the JSON list is stored as text
            sql += " AND articles.topics LIKE :topic"
            params.append(bindparam("topic", f'%"{topic}"%'))
        if since is not None:
            sql += " AND coalesce(articles.published_at, articles.fetched_at) >= :since"
            params.append(bindparam("since", since, type_=UTCDateTime))
        sql += " ORDER BY articles_fts.rowid DESC" + ("" if window is None else f" LIMIT {int(window)}")
        newest = text(sql).bindparams(*params).columns(id=Integer, rank=Float)  # type: ignore[assignment]
    sub = newest.subquery()
    best = select(sub.c.id, sub.c.rank).order_by(sub.c.rank, sub.c.id.desc()).limit(limit)
    ranked = [(int(r.id), -float(r.rank)) for r in session.execute(best)]
    if not ranked:
        return []
    snippet: ColumnElement[str] = literal_column(
        f"snippet(articles_fts, 1, '{MARK}', '{MARK}', '…', {_SNIPPET_TOKENS})")
    snippets = {int(r[0]): str(r[1] or "") for r in session.execute(
        select(rowid, snippet).select_from(fts).where(matches, rowid.in_([i for i, _ in ranked])))}
    return [(i, score, str(snippets.get(i) or "")) for i, score in ranked]


def _loose(node: Node) -> Node:
    """The node with every phrase loosened to its words AND-ed: what a GIN index answers without
    reading any row's ``tsvector`` (phrases need positions, i.e. a recheck of the whole vector)."""
    if isinstance(node, Term):
        if len(node.words) == 1:
            return node
        last = len(node.words) - 1
        return And(tuple(Term((w,), node.prefix and i == last) for i, w in enumerate(node.words)))
    if isinstance(node, Not):
        return node if isinstance(node.node, Term) and len(node.node.words) == 1 else Not(node.node)
    if isinstance(node, And):
        return And(tuple(_loose(n) for n in node.nodes))
    return Or(tuple(_loose(n) for n in node.nodes))


def _has_phrase(node: Node) -> bool:
    if isinstance(node, Term):
        return len(node.words) > 1
    if isinstance(node, Not):
        return False  # a negated phrase excludes fewer rows than its words would: kept exact below
    return any(_has_phrase(n) for n in node.nodes)


_PG_VERIFY_CHUNK = 100


def _pg_hits(session: Session, node: Node, topic: str | None, since: datetime | None,
             limit: int, window: int | None) -> list[tuple[int, float, str]]:
    """Four steps, none of which reads a candidate's whole ``tsvector`` unless it may be shown:

    1. the ids of the newest ``window`` candidates by bitmap scans (the GIN index, the id range or
       both; never a walk of the primary key; phrases loosened to their words, which the index
       answers without reading vectors), in id ranges growing from the newest (sized by the density
       seen) so a broad word does not visit every row;
    2. rank them with ``ts_rank`` on the small lead vector (title + first ``PG_LEAD_CHARS`` of the
       text), ties newest first;
    3. when the query has a phrase, check the exact query on the whole vector for the ranked ids in
       order, a chunk at a time, until ``limit`` match;
    4. headlines for those only.
    """
    config: ColumnElement[Any] = literal_column(f"'{PG_CONFIG}'::regconfig")
    tsq = func.to_tsquery(config, bindparam("match", to_tsquery(node)))
    loose_q = func.to_tsquery(config, bindparam("loose", to_tsquery(_loose(node)))) if _has_phrase(node) else tsq
    # the GIN index, never a walk of the primary key evaluating @@ row by row (each detoasts a vector);
    # reset when done, so the rest of the caller's transaction plans as usual
    top = session.scalar(select(func.max(Article.id)))
    if top is None:
        return []
    session.execute(text("SET LOCAL enable_seqscan = off"))
    session.execute(text("SET LOCAL enable_indexscan = off"))
    try:
        return _pg_ranked(session, node, tsq, loose_q, topic, since, limit, window, top)
    finally:
        session.execute(text("RESET enable_seqscan"))
        session.execute(text("RESET enable_indexscan"))


def _pg_ranked(session: Session, node: Node, tsq: ColumnElement[Any], loose_q: ColumnElement[Any],
               topic: str | None, since: datetime | None, limit: int,
               window: int | None, top: int) -> list[tuple[int, float, str]]:
    config: ColumnElement[Any] = literal_column(f"'{PG_CONFIG}'::regconfig")
    vector: ColumnElement[Any] = literal_column("articles.search_vector")
    lead: ColumnElement[Any] = literal_column("articles.search_lead")
    phrase = _has_phrase(node)
    where = [vector.op("@@")(loose_q), *_filters(topic, since)]
    span = 2 * window if window is not None else top + 1
    while True:  # one statement: the newest candidates (bitmap scans), ranked on their lead
        low = top - span
        cands = select(Article.id.label("id"), lead.label("lead")).where(*where).order_by(Article.id.desc())
        if low >= 0:
            cands = cands.where(Article.id > low)
        if window is not None:
            cands = cands.limit(window)
        sub = cands.subquery()
        score = func.ts_rank(sub.c.lead, tsq)
        ranked_q = (select(sub.c.id, score.label("score"), func.count().over().label("n"))
                    .order_by(score.desc(), sub.c.id.desc()))
        if not phrase:
            ranked_q = ranked_q.limit(limit)
        result = session.execute(ranked_q).all()
        found = int(result[0].n) if result else 0
        if low < 0 or (window is not None and found >= window):
            break
        assert window is not None  # without a window the first span is everything
        # wide enough for the window at the density seen so far (a quarter more), at least twice as wide
        span = 8 * span if found == 0 else max(2 * span, int(span * window / found * 1.25))
    rows = [(int(r.id), float(r.score)) for r in result]
    if phrase:
        chosen: list[tuple[int, float]] = []
        for i in range(0, len(rows), _PG_VERIFY_CHUNK):
            chunk = rows[i:i + _PG_VERIFY_CHUNK]
            ok = set(session.scalars(select(Article.id).where(
                Article.id.in_([c[0] for c in chunk]), vector.op("@@")(tsq))))
            chosen.extend(c for c in chunk if c[0] in ok)
            if len(chosen) >= limit:
                break
        rows = chosen[:limit]
    if not rows:
        return []
    headline = func.ts_headline(
        config, func.left(Article.text, _HEADLINE_CHARS), tsq,
        f"StartSel={MARK}, StopSel={MARK}, MaxWords=35, MinWords=15, MaxFragments=2, FragmentDelimiter=\" … \"",
    )
    snippets = {int(r.id): str(r.snippet or "") for r in session.execute(
        select(Article.id, headline.label("snippet")).where(Article.id.in_([r[0] for r in rows])))}
    return [(i, sc, snippets.get(i, "")) for i, sc in rows]


def search_articles(
    session: Session, query: str | Node, *, topic: str | None = None, since: datetime | None = None,
    limit: int = 20, rank_window: int | None = RANK_WINDOW,
) -> list[SearchHit]:
    """The best ``limit`` articles for ``query``, best first, optionally one topic and since a time.

    Ranking reads every candidate, so a query that matches more than ``rank_window`` articles ranks
    the newest ``rank_window`` of them (stored last); None ranks all. Narrow a broad query (more
    words, ``topic``, ``since``) to reach further back.
    """
    node = parse_query(query) if isinstance(query, str) else query
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        ranked = _sqlite_hits(session, to_fts5(node), topic, since, limit, rank_window)
    elif dialect == "postgresql":
        ranked = _pg_hits(session, node, topic, since, limit, rank_window)
    else:
        raise NotImplementedError(f"full-text search is not available on {dialect!r}")
    if not ranked:
        return []
    ids = [i for i, _, _ in ranked]
    rows: dict[int, Any] = {
        r.id: r for r in session.execute(
            select(Article.id, Article.url, Article.title, Article.source, Article.published_at,
                   Article.fetched_at, Article.topics, Article.story_id, Story.title.label("story_title"))
            .outerjoin(Story, Story.id == Article.story_id)
            .where(Article.id.in_(ids)))
    }
    return [
        SearchHit(id=i, url=r.url, title=r.title, source=r.source, published=r.published_at,
                  fetched_at=r.fetched_at, topics=tuple(r.topics or ()), snippet=_tidy(snippet),
                  score=round(score, 6), story_id=r.story_id, story_title=r.story_title)
        for i, score, snippet in ranked if (r := rows.get(i)) is not None
    ]


def _tidy(snippet: str) -> str:
    return " ".join(snippet.split())


def snippet_terms(snippet: str) -> Sequence[str]:
    """The marked words of a snippet (for tests and highlighting in the terminal)."""
    return re.findall(rf"{re.escape(MARK)}(.+?){re.escape(MARK)}", snippet)

"""Commands that look at what newsmon stored: search, export, report, feeds, runs.

They live here so :mod:`newsmon.cli` stays a thin list of commands; :func:`register` adds them to the
``newsmon`` group. Each command's docstring is its ``--help``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click

from newsmon.errors import NewsmonError

if TYPE_CHECKING:
    from newsmon.cli import State
    from newsmon.config import Settings

__all__ = ["check_topic", "register"]


def _state() -> State:
    obj = click.get_current_context().find_root().obj
    assert obj is not None
    return obj  # type: ignore[no-any-return]


def check_topic(settings: Settings, topic: str | None, *, param: str = "--topic") -> None:
    """An unknown topic id is a usage error (exit 2) naming the known ones."""
    if topic is None:
        return
    from classify.topics import load_topics

    known = [t.id for t in load_topics(settings.classify.topics_file)]
    if topic not in known:
        raise click.BadParameter(f"unknown topic {topic!r}; expected one of {', '.join(known)}", param_hint=param)


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


def _highlight(snippet: str) -> str:
    from storage.search import MARK

    parts = snippet.split(MARK)
    return "".join(click.style(p, bold=True) if i % 2 else p for i, p in enumerate(parts))


@click.command()
@click.argument("query")
@click.option("--topic", metavar="ID", help="Only articles filed under this topic.")
@click.option("--since", metavar="ISO8601", help="Only articles published (or fetched) since then.")
@click.option("--limit", type=click.IntRange(min=1, max=10_000), default=20, show_default=True,
              help="How many results.")
@click.option("--jsonl", is_flag=True,
              help='JSON lines, best first: {"url","title","source","published","topics","snippet","score"}.')
def search(query: str, topic: str | None, since: str | None, limit: int, jsonl: bool) -> None:
    """Search stored articles (title and text), best match first, with highlighted snippets.

    QUERY: words (all must match), "a phrase", prefix* terms, OR, NOT (or -word) and parentheses.
    Each result shows its topics and the story it was filed into. Snippets mark matched words
    with ** in --jsonl output.

    \b
    Examples:
      newsmon search '"entity list" smic'
      newsmon search 'export* (nvidia OR amd) -potato' --topic chip-export --since 2026-11-01
      newsmon search huawei --jsonl --limit 5
    """
    from newsmon.cli import _open_db, _parse_since
    from storage.search import SearchQueryError, parse_query, search_articles

    state = _state()
    settings = state.settings()
    check_topic(settings, topic)
    since_dt = _parse_since(since)
    try:
        node = parse_query(query)
    except SearchQueryError as err:
        raise click.BadParameter(str(err), param_hint="QUERY") from err
    db = _open_db(settings)
    try:
        with db.session() as s:
            hits = search_articles(s, node, topic=topic, since=since_dt, limit=limit)
    finally:
        db.dispose()
    for rank, hit in enumerate(hits, 1):
        if jsonl:
            click.echo(json.dumps({"url": hit.url, "title": hit.title, "source": hit.source,
                                   "published": _iso(hit.published), "topics": list(hit.topics),
                                   "snippet": hit.snippet, "score": hit.score}, ensure_ascii=False))
            continue
        when = (hit.published or hit.fetched_at).strftime("%Y-%m-%d")
        tags = ",".join(hit.topics) or "-"
        click.echo(f"{rank:>2}. {when}  {click.style(hit.title[:100], bold=True)}  [{tags}]  {hit.source}")
        if hit.story_id is not None:
            same = "" if hit.story_title == hit.title else f": {hit.story_title}"
            click.echo(f"    story #{hit.story_id}{same}")
        click.echo(f"    {_highlight(hit.snippet)}")
        click.echo(f"    {hit.url}")
    if not hits and not jsonl:
        click.echo("no matches", err=True)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=lambda v: _iso(v) if isinstance(v, datetime) else str(v))


def _fail(err: NewsmonError) -> click.ClickException:
    return click.ClickException(str(err))


COMMANDS: tuple[click.Command, ...] = (search,)


def register(group: click.Group) -> None:
    """Add these commands to the ``newsmon`` group."""
    for command in COMMANDS:
        group.add_command(command)

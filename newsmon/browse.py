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


def classify_table(rows: list[tuple[dict[str, Any], str]], *, evidence: bool = False) -> str:
    """``newsmon classify`` without --jsonl: one row per input (id, alert, topics with scores, title)."""
    if not rows:
        return "no input lines"
    ids = [str(r["id"]) for r, _ in rows]
    tags = [", ".join(f"{t} {r['scores'].get(t, 0):.2f}" for t in r["topics"]) or "-" for r, _ in rows]
    id_w = max(2, *(len(i) for i in ids))
    tag_w = max(6, *(len(t) for t in tags))
    lines = [f"{'id':<{id_w}}  alert  {'topics':<{tag_w}}  title", f"{'-' * id_w}  -----  {'-' * tag_w}  -----"]
    for (record, title), id_, tag in zip(rows, ids, tags, strict=True):
        alert = "yes" if record["alert"] else "no"
        lines.append(f"{id_:<{id_w}}  {alert:<5}  {tag:<{tag_w}}  {title[:80]}")
        if evidence:
            for topic, phrases in record.get("evidence", {}).items():
                lines.append(f"{'':<{id_w}}         {topic}: {', '.join(phrases)}")
    return "\n".join(lines)


# -- feeds ---------------------------------------------------------------------------------------


def _ago(value: datetime | None, now: datetime) -> str:
    if value is None:
        return "never"
    minutes = int((now - value).total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min ago"
    if minutes < 48 * 60:
        return f"{minutes // 60} h ago"
    return f"{minutes // 1440} d ago"


@click.group(invoke_without_command=True)
@click.option("--jsonl", is_flag=True,
              help='JSON lines: {"url","name","state","last_polled","last_success","consecutive_failures",'
                   '"last_error","failing_since","items_seen"}.')
@click.pass_context
def feeds(ctx: click.Context, jsonl: bool) -> None:
    """List the configured feeds with their health, or import/export them as OPML.

    Health comes from the polls newsmon made: last success, consecutive failures, the last error,
    since when a failing feed has failed, and how many articles it brought. state is ok, failing,
    down (a feed-down alert was raised) or new (not polled yet).

    \b
    Examples:
      newsmon feeds
      newsmon feeds --jsonl | jq 'select(.consecutive_failures > 0)'
      newsmon feeds export > newsmon.opml
      newsmon feeds import subscriptions.opml
    """
    if ctx.invoked_subcommand is not None:
        return
    from newsmon.cli import _open_db
    from newsmon.pipeline import utcnow
    from storage.views import feed_statuses

    settings = _state().settings()
    db = _open_db(settings)
    try:
        with db.session() as s:
            rows = feed_statuses(s, [(f.url, f.name) for f in settings.feeds])
    finally:
        db.dispose()
    now = utcnow()
    for f in rows:
        if jsonl:
            click.echo(_json({"url": f.url, "name": f.name, "state": f.state, "last_polled": f.last_polled,
                              "last_success": f.last_success, "consecutive_failures": f.consecutive_failures,
                              "last_error": f.last_error, "failing_since": f.failing_since,
                              "items_seen": f.items_seen}))
            continue
        mark = {"ok": "ok     ", "failing": "FAILING", "down": "DOWN   ", "new": "new    "}[f.state]
        click.echo(f"{mark} {f.name or f.url}  ({f.items_seen} article(s); last success {_ago(f.last_success, now)})")
        click.echo(f"        {f.url}")
        if f.consecutive_failures:
            click.echo(f"        {f.consecutive_failures} failure(s) in a row since "
                       f"{_ago(f.failing_since, now)}: {f.last_error or 'unknown error'}")


@feeds.command("export")
@click.option("--out", type=click.Path(dir_okay=False, writable=True), help="Write to this file (default stdout).")
def feeds_export(out: str | None) -> None:
    """Write the configured feeds as OPML 2.0, for any feed reader.

    \b
    Example:
      newsmon feeds export --out newsmon.opml
    """
    from extractors.opml import render_opml
    from newsmon.pipeline import utcnow

    settings = _state().settings()
    _write(render_opml(settings.feeds, title="newsmon feeds", now=utcnow()), out)


@feeds.command("import")
@click.argument("file", type=click.File("rb"))
def feeds_import(file: Any) -> None:
    """Add the feeds of an OPML file to your config file, as [[feeds]] entries.

    The config file is the one newsmon reads (--config, $NEWSMON_CONFIG, else ./newsmon.toml,
    created if missing). Feeds already listed are skipped; nothing else in the file changes. If the
    file had no [[feeds]] (you were using the built-in feeds), [feeds_options] include_defaults =
    true is added too, so the built-in feeds stay next to the imported ones.

    \b
    Example:
      newsmon feeds import ~/Downloads/feedly.opml
    """
    from pathlib import Path

    from extractors.opml import parse_opml
    from newsmon.cli import ConfigProblem
    from newsmon.config_edit import add_feeds_to_config
    from newsmon.errors import ConfigError

    state = _state()
    state.settings()  # the current config must be valid before we add to it
    try:
        found = parse_opml(file.read(), getattr(file, "name", "OPML"))
    except NewsmonError as err:
        raise click.BadParameter(str(err), param_hint="FILE") from err
    if not found:
        raise click.BadParameter("the OPML file lists no feed (no <outline xmlUrl=…>)", param_hint="FILE")
    path = Path(state.config_path() or "newsmon.toml")
    try:
        result = add_feeds_to_config(path, found)
    except ConfigError as err:
        raise ConfigProblem(err) from err
    click.echo(f"added {len(result.added)} feed(s) to {path}; {result.already} already listed")
    if result.kept_defaults:
        click.echo("the built-in feeds stay too ([feeds_options] include_defaults = true)")


def _write(text: str, out: str | None) -> None:
    if out is None:
        click.echo(text, nl=not text.endswith("\n"))
        return
    from pathlib import Path

    Path(out).write_text(text, encoding="utf-8")
    click.echo(f"wrote {out}", err=True)


# -- export ----------------------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    """One CSV cell; text a spreadsheet would run as a formula gets a leading apostrophe."""
    text = "" if value is None else (_iso(value) or "") if isinstance(value, datetime) else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _evidence_text(evidence: dict[str, list[str]] | None) -> str:
    return "; ".join(f"{topic}: {', '.join(phrases)}" for topic, phrases in (evidence or {}).items() if phrases)


def _export_records(what: str, s: Any, topic: str | None, since: datetime | None) -> Any:
    """(header, iterator of dicts) for jsonl/csv."""
    from storage import views

    if what == "articles":
        header = ["url", "title", "source", "published", "fetched_at", "topics", "story_id", "text"]
        rows = ({"url": a.url, "title": a.title, "source": a.source, "published": a.published,
                 "fetched_at": a.fetched_at, "topics": list(a.topics), "story_id": a.story_id, "text": a.text}
                for a in views.iter_article_rows(s, topic=topic, since=since))
        return header, rows
    stories = views.story_rows(s, topic=topic, since=since, alerted_only=what == "alerts",
                               newest_first=what == "alerts")
    if what == "stories":
        header = ["story_id", "title", "url", "topics", "created_at", "last_seen_at", "alert_state", "sources"]
        return header, ({"story_id": st.id, "title": st.title, "url": st.url, "topics": list(st.topics),
                         "created_at": st.created_at, "last_seen_at": st.last_seen_at,
                         "alert_state": st.alert_state,
                         "sources": [{"source": x.source, "url": x.url, "title": x.title} for x in st.sources]}
                        for st in stories)
    header = ["story_id", "url", "title", "source", "published", "alerted_at", "topics", "evidence",
              "also_reported_by", "deliveries"]
    return header, ({"story_id": st.id, "url": st.url, "title": st.title, "source": st.source,
                     "published": st.published, "alerted_at": st.created_at, "topics": list(st.topics),
                     "evidence": st.evidence or {},
                     "also_reported_by": [{"source": x.source, "url": x.url, "title": x.title}
                                          for x in st.sources if x.url != st.url],
                     "deliveries": st.deliveries or {}} for st in stories)


def _csv_value(key: str, value: Any) -> str:
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return " | ".join(f"{v.get('source')} <{v.get('url')}>" for v in value)
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    if isinstance(value, dict):
        if key == "evidence":
            return _evidence_text(value)
        return ";".join(f"{k}={v}" for k, v in value.items())
    return _cell(value)


@click.command()
@click.option("--what", type=click.Choice(["articles", "stories", "alerts"]), default="alerts", show_default=True,
              help="Which rows: stored articles, stories (with every source), or alerted stories.")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl", "atom"]), default="jsonl", show_default=True,
              help="csv (UTF-8, header row), jsonl, or atom (alerts only: a feed any reader subscribes to).")
@click.option("--topic", metavar="ID", help="Only rows filed under this topic.")
@click.option("--since", metavar="ISO8601", help="Only rows since then (articles: published or fetched; "
                                                  "stories and alerts: first seen).")
@click.option("--out", type=click.Path(dir_okay=False, writable=True), help="Write to this file (default stdout).")
def export(what: str, fmt: str, topic: str | None, since: str | None, out: str | None) -> None:
    """Export stored articles, stories or alerts as CSV, JSON lines or an Atom feed.

    alerts (the default) are the stories that met your alert topics, newest first, each with its
    source, why it matched (evidence per topic) and who else reported it. --format atom gives one
    Atom entry per alerted story linking to the stored article: serve the file or point a feed
    reader at it. CSV is UTF-8 with a header row (with a byte-order mark when written with --out,
    so spreadsheets pick the encoding); lists are joined with ";" and sources with " | ".

    \b
    Examples:
      newsmon export --format atom --out alerts.xml
      newsmon export --what articles --format csv --topic chip-export --since 2026-11-01 --out chips.csv
      newsmon export --what stories --format jsonl
    """
    import csv
    import io

    from newsmon.cli import _open_db, _parse_since
    from newsmon.pipeline import utcnow

    if fmt == "atom" and what != "alerts":
        raise click.BadParameter("atom is available for --what alerts only", param_hint="--format")
    settings = _state().settings()
    check_topic(settings, topic)
    since_dt = _parse_since(since)
    db = _open_db(settings)
    target = open(out, "w", encoding="utf-8-sig" if fmt == "csv" else "utf-8", newline="") if out else None  # noqa: SIM115
    try:
        with db.session() as s:
            if fmt == "atom":
                from alerts.atom import render_alerts_atom
                from storage.views import story_rows

                stories = story_rows(s, topic=topic, since=since_dt, alerted_only=True, newest_first=True)
                xml = render_alerts_atom(stories, now=utcnow()).decode("utf-8")
                (target.write(xml) if target else click.echo(xml, nl=False))
                return
            header, records = _export_records(what, s, topic, since_dt)
            sink: Any = target or io.StringIO()
            writer = csv.writer(sink) if fmt == "csv" else None
            if writer is not None:
                writer.writerow(header)
            count = 0
            for record in records:
                count += 1
                if writer is not None:
                    writer.writerow([_csv_value(k, record[k]) for k in header])
                else:
                    sink.write(_json(record) + "\n")
                if target is None:
                    click.echo(sink.getvalue(), nl=False)
                    sink.seek(0)
                    sink.truncate()
            if target is None and writer is not None and count == 0:
                click.echo(sink.getvalue(), nl=False)
    finally:
        db.dispose()
        if target is not None:
            target.close()
    if out:
        click.echo(f"wrote {out}", err=True)


# -- report ----------------------------------------------------------------------------------------


@click.command()
@click.option("--out", required=True, type=click.Path(dir_okay=False, writable=True), metavar="FILE.html",
              help="Where to write the page.")
@click.option("--days", type=click.IntRange(min=1, max=3660), default=14, show_default=True,
              help="How many days back (today included).")
@click.option("--alerts", "max_alerts", type=click.IntRange(min=0), default=30, show_default=True,
              help="How many of the latest alerts to show.")
def report(out: str, days: int, max_alerts: int) -> None:
    """Write one self-contained HTML page: articles per topic per day (a chart), top sources, the
    latest alerts with their evidence and who else reported them, and feed health.

    The page loads nothing from the network (inline SVG chart, inline style, no scripts), so it
    opens offline and can be mailed. Everything from feeds and pages is escaped.

    \b
    Examples:
      newsmon report --out report.html
      newsmon report --out week.html --days 7
    """
    from datetime import timedelta
    from pathlib import Path

    from classify.topics import load_topics
    from newsmon.cli import _open_db
    from newsmon.pipeline import utcnow
    from newsmon.report import ReportData, render_report
    from storage.db import mask_database_url
    from storage.views import activity, feed_statuses, story_rows

    settings = _state().settings()
    now = utcnow()
    since = (now - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    db = _open_db(settings)
    try:
        with db.session() as s:
            data = ReportData(
                generated_at=now, days=days, topics=[t.id for t in load_topics(settings.classify.topics_file)],
                activity=activity(s, since=since, until=now),
                alerts=story_rows(s, since=since, alerted_only=True, newest_first=True, limit=max_alerts),
                feeds=feed_statuses(s, [(f.url, f.name) for f in settings.feeds]),
                database=mask_database_url(settings.database_url),
            )
    finally:
        db.dispose()
    Path(out).write_text(render_report(data), encoding="utf-8")
    click.echo(f"wrote {out}: {sum(data.activity.totals)} article(s), {len(data.alerts)} alert(s), "
               f"{len(data.feeds)} feed(s)", err=True)


# -- runs ------------------------------------------------------------------------------------------


def run_record(run: Any) -> dict[str, Any]:
    """One ``newsmon runs --jsonl`` line: the run's identity and times plus its summary figures."""
    stats = dict(run.stats)
    for key in ("run_id", "kind"):
        stats.pop(key, None)
    status = "running" if run.finished_at is None else "finished"
    return {"run_id": run.id, "kind": run.kind, "status": status, "started_at": run.started_at,
            "finished_at": run.finished_at, **stats}


@click.command()
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, help="How many of the latest.")
@click.option("--kind", type=click.Choice(["run", "backfill"]), help="Only cycles (run) or only backfills.")
@click.option("--jsonl", is_flag=True,
              help='JSON lines: {"run_id","kind","status","started_at","finished_at", and the figures of '
                   '`newsmon run --json`: "feeds_total","stored","new_by_topic","alerts_sent",…}.')
def runs(limit: int, kind: str | None, jsonl: bool) -> None:
    """List the latest monitoring cycles and backfills, newest first, with their figures.

    The figures are the ones each run printed and published as its Prefect artifact: feeds polled
    and failed, articles stored (by topic), alerts queued, sent, pending and given up. A run that
    is still going (or was killed) shows as running.

    \b
    Examples:
      newsmon runs
      newsmon runs --kind backfill --jsonl
    """
    from newsmon.cli import _open_db
    from storage.views import recent_runs

    settings = _state().settings()
    db = _open_db(settings)
    try:
        with db.session() as s:
            rows = recent_runs(s, limit=limit, kind=kind)
    finally:
        db.dispose()
    for run in rows:
        record = run_record(run)
        if jsonl:
            click.echo(_json(record))
            continue
        took = f"{(run.finished_at - run.started_at).total_seconds():.0f} s" if run.finished_at else "running"
        st = run.stats
        feeds_part = (f"feeds {st.get('feeds_total', 0)} ({len(st.get('feed_failures') or [])} failed) · "
                      if run.kind == "run" else "")
        topics = ", ".join(f"{t or '(none)'} {n}" for t, n in sorted((st.get("new_by_topic") or {}).items(),
                                                                     key=lambda kv: -kv[1]))
        click.echo(f"{run.started_at:%Y-%m-%d %H:%M} {run.kind:8} {took:>8}  {feeds_part}"
                   f"stored {st.get('stored', 0)} · alerts {st.get('alerts_sent', 0)} sent, "
                   f"{st.get('alerts_pending', 0)} pending, {st.get('alerts_failed', 0)} given up"
                   + (f"\n{'':25}by topic: {topics}" if topics else ""))


COMMANDS: tuple[click.Command, ...] = (search, feeds, export, report, runs)


def register(group: click.Group) -> None:
    """Add these commands to the ``newsmon`` group."""
    for command in COMMANDS:
        group.add_command(command)

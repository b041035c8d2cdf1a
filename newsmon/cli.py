"""The ``newsmon`` command line. Each command's docstring is its ``--help``.

Exit codes: 0 the command did its work (a run with some failed feeds or pages still exits 0;
each failure is recorded and listed); 1 it could not run (database unreachable, every input
failed); 2 bad configuration or usage (the message names the file, the key and what was expected).
Heavy imports (Prefect, trafilatura, SQLAlchemy) happen inside the commands so ``--help`` is quick.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NoReturn

import click

from newsmon import __version__
from newsmon.errors import ConfigError, NewsmonError

if TYPE_CHECKING:
    from newsmon.config import Settings
    from storage.db import Database

__all__ = ["cli", "main"]

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class ConfigProblem(click.ClickException):
    """A bad configuration: exit code 2, message names file, key and expectation."""

    exit_code = 2

    def __init__(self, err: ConfigError) -> None:
        super().__init__(f"bad configuration: {err}")


class State:
    """What the group options give to the commands."""

    def __init__(self, config: str | None, verbose: int) -> None:
        self.config = config
        self.verbose = verbose

    def settings(self) -> Settings:
        from newsmon.config import load_settings

        try:
            settings = load_settings(self.config)
            _check_alert_topics(settings)
        except ConfigError as err:
            raise ConfigProblem(err) from err
        return settings

    def config_path(self) -> str | None:
        """The config file the flow must load (absolute), or None for defaults."""
        from newsmon.config import find_config_path

        path = find_config_path(self.config, os.environ, Path.cwd())
        return str(path.resolve()) if path else None


def _check_alert_topics(settings: Settings) -> None:
    from classify.topics import load_topics

    known = [t.id for t in load_topics(settings.classify.topics_file)]
    for topic in settings.alerts.alert_topics():
        if topic not in known:
            key = "alerts.topics" if topic in settings.alerts.topics else "alerts.routes.topics"
            raise ConfigError(settings.source, key, f"unknown topic {topic!r}; expected one of {known}")


def _open_db(settings: Settings, *, writable: bool = False) -> Database:
    """Open (and migrate) the database; ``writable``: also prove it can be written, before any work."""
    from storage.db import open_database

    try:
        db = open_database(settings.database_url)
        if writable:
            try:
                db.check_writable()
            except NewsmonError:
                db.dispose()
                raise
        return db
    except NewsmonError as err:
        raise click.ClickException(f"cannot use the database: {err}") from err


def _run_flow(flow: Any, **parameters: Any) -> dict[str, Any]:
    """Run a flow in this process; newsmon's own errors become clean messages, not tracebacks."""
    from sqlalchemy.exc import DBAPIError

    from flows.localserver import start_ephemeral_server

    try:
        start_ephemeral_server()  # without PREFECT_API_URL: one ephemeral start at a time per Prefect home
        result: dict[str, Any] = flow(**parameters)
    except ConfigError as err:
        raise ConfigProblem(err) from err
    except NewsmonError as err:
        raise click.ClickException(str(err)) from err
    except DBAPIError as err:  # the database went away or turned read-only during the run
        first = (str(err.orig or err).strip().splitlines() or [type(err).__name__])[0]
        raise click.ClickException(f"database error during the run: {first}") from err
    except RuntimeError as err:
        if "Prefect" not in str(err):
            raise
        raise click.ClickException(
            f"{err} (set PREFECT_API_URL to a running `prefect server start`, or retry)") from err
    return result


def _setup_logging(verbose: int) -> None:
    """stderr gets newsmon's progress lines only, unless -v (info) or -vv (debug) asks for logs.

    Feed, page and delivery failures are data: they are in the summary, not in log lines.
    """
    level = logging.ERROR if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    # Prefect reads its settings from the environment when first imported
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", logging.getLevelName(level))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING" if verbose else "ERROR")
    # the ephemeral server needs 10-25 s on a busy 2-core machine; Prefect's default wait is 20 s
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    # apprise logs request details at DEBUG; never let tokens reach a log
    apprise_log = logging.getLogger("apprise")
    apprise_log.setLevel(max(level, logging.INFO))
    # apprise's own warnings (a failed delivery) are captured by alerts.deliver and reported in the
    # summary; without -v they must not also reach stderr
    apprise_log.propagate = verbose > 0


def _use_local_server(settings: Settings) -> None:
    """Without PREFECT_API_URL, use the local Prefect server of a running `newsmon serve`, if any.

    That is faster than Prefect's ephemeral mode (no server to start) and keeps two processes from
    writing one ephemeral SQLite database at once.
    """
    if os.environ.get("PREFECT_API_URL") or settings.schedule.prefect_home is None:
        return
    from flows.localserver import running_local_server

    url = running_local_server(settings.schedule.prefect_home)
    if url:
        os.environ["PREFECT_API_URL"] = url


@click.group(context_settings=CONTEXT)
@click.option("--config", "config", metavar="PATH", type=click.Path(dir_okay=False),
              help="Config file (default: $NEWSMON_CONFIG, else ./newsmon.toml, else built-in defaults).")
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug), on stderr.")
@click.version_option(__version__, prog_name="newsmon")
@click.pass_context
def cli(ctx: click.Context, config: str | None, verbose: int) -> None:
    """newsmon watches the news on the US–China AI contest and alerts on the stories that matter.

    It polls RSS/Atom feeds, fetches each new article once, strips page chrome, stores the text
    (SQLite by default, PostgreSQL too), files each article under topics (chip-export,
    cloud-policy, …) with the reason, and sends one email/Slack alert per story for the topics
    you choose. Without any configuration it uses built-in feeds and a database in your data
    directory.

    \b
    Examples:
      newsmon run                       # one monitoring cycle
      newsmon serve --interval 900      # a cycle every 15 minutes
      newsmon articles --jsonl --topic chip-export --since 2026-11-01
      newsmon --config ~/newsmon.toml notify-test
    """
    _setup_logging(verbose)
    ctx.obj = State(config, verbose)


pass_state = click.make_pass_decorator(State)


# -- run / serve / backfill ---------------------------------------------------------------------


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as one JSON object.")
@pass_state
def run(state: State, as_json: bool) -> None:
    """Run one monitoring cycle (a Prefect flow): poll every feed, fetch new articles, extract,
    store, classify and alert.

    Feeds answering 304 Not Modified cost nothing. A feed or page that fails is recorded and listed
    at the end; the cycle goes on and exits 0. It exits non-zero only when it cannot run at all
    (bad config: 2; database unreachable: 1). Undelivered alerts are retried on the next cycle.

    \b
    Example:
      newsmon run
      NEWSMON_DATABASE_URL=postgresql+psycopg://user@db/newsmon newsmon run
    """
    settings = state.settings()
    _open_db(settings, writable=True).dispose()
    _use_local_server(settings)
    from flows.cycle import run_cycle
    from newsmon.summary import render_summary

    click.echo(f"newsmon: polling {len(settings.feeds)} feed(s) …", err=True)
    result = _run_flow(run_cycle, config_path=state.config_path())
    click.echo(json.dumps(result) if as_json else render_summary(result))


@cli.command()
@click.option("--interval", type=click.IntRange(min=30), metavar="SECONDS",
              help="Run a cycle every SECONDS (default: [schedule] in the config, else 900).")
@click.option("--cron", metavar="EXPR", help='Run on a cron schedule instead, e.g. "*/10 * * * *".')
@click.option("--name", default="newsmon", show_default=True, help="Deployment name in Prefect.")
@pass_state
def serve(state: State, interval: int | None, cron: str | None, name: str) -> None:
    """Run the cycle on a schedule, as a Prefect deployment served from this process.

    Prefect needs a server to turn a schedule into runs. With PREFECT_API_URL set, newsmon serves
    against that server; without it, newsmon starts a local Prefect server itself (127.0.0.1, a
    free port, its state in the `prefect` folder of newsmon's data directory) and stops it on exit.
    The schedule comes from --interval/--cron, else the config's [schedule] section, else every
    900 s. At most one cycle runs at a time; a tick that falls due while a cycle runs is dropped.
    Ctrl-C or SIGTERM stops serving once the running cycle is done (a second Ctrl-C cancels it).

    \b
    Examples:
      newsmon serve --interval 600
      newsmon serve --cron "*/15 6-22 * * 1-5"
      PREFECT_API_URL=http://127.0.0.1:4200/api newsmon serve
    """
    if interval and cron:
        raise click.UsageError("give --interval or --cron, not both")
    settings = state.settings()
    if not interval and not cron:
        interval, cron = settings.schedule.interval, settings.schedule.cron
    if cron:
        _check_cron(cron)
    _open_db(settings, writable=True).dispose()
    from flows.serve_supervisor import supervise

    try:
        code = supervise(name=name, interval=None if cron else (interval or 900), cron=cron,
                         config_path=state.config_path(), prefect_home=settings.schedule.prefect_home,
                         api_url=os.environ.get("PREFECT_API_URL") or None)
    except NewsmonError as err:
        raise click.ClickException(str(err)) from err
    sys.exit(code)


def _check_cron(expr: str) -> None:
    """Refuse a cron expression Prefect's scheduler would refuse, before anything starts."""
    from pydantic import ValidationError

    from newsmon.config import check_cron

    problem = check_cron(expr)
    if problem is None:
        from prefect.client.schemas.schedules import CronSchedule

        try:
            CronSchedule(cron=expr)
        except ValidationError as err:
            problem = f"invalid cron expression {expr!r}: {err.errors()[0]['msg']}"
    if problem:
        raise click.BadParameter(problem, param_hint="--cron / schedule.cron")


def _unusable_reason(url: str) -> str | None:
    """Why newsmon cannot parse or store this http(s) URL (bad port, broken IPv6 literal, too long), else None."""
    from extractors.urls import MAX_URL_LENGTH, canonical_url
    from newsmon.errors import InvalidURL

    try:
        if len(canonical_url(url)) > MAX_URL_LENGTH or len(url) > 2 * MAX_URL_LENGTH:
            return f"longer than {MAX_URL_LENGTH} characters"
    except InvalidURL as exc:
        return exc.reason
    return None


def _read_url_list(stream: IO[str]) -> list[str]:
    """The URLs of a backfill list: the first word of each line; blank and ``#`` lines skipped.

    Raises :class:`click.UsageError` naming the first line that is not a usable http(s) URL.
    """
    urls: list[str] = []
    bad: list[tuple[int, str, str]] = []
    for number, raw in enumerate(stream, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        url = line.split()[0]
        if not url.startswith(("http://", "https://")):
            bad.append((number, line[:200], "is not an http(s) URL"))
            continue
        reason = _unusable_reason(url)
        if reason:
            bad.append((number, line[:200], f"is not a usable URL ({reason})"))
        else:
            urls.append(url)
    if bad:
        number, line, why = bad[0]
        more = f" ({len(bad)} such lines)" if len(bad) > 1 else ""
        raise click.UsageError(f"line {number}: {line!r} {why}{more}; nothing was fetched")
    return urls


@cli.command()
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--alert", is_flag=True, help="Also send alerts for backfilled stories (default: none).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@pass_state
def backfill(state: State, file: IO[str], alert: bool, as_json: bool, no_progress: bool) -> None:
    """Ingest a list of article URLs: fetch, extract, store, classify, with a progress bar.

    FILE has one URL per line; blank lines and lines starting with # are ignored; - reads stdin.
    Resumable: URLs already stored are skipped, so an interrupted backfill can simply be rerun.
    Sends no alerts unless --alert. URLs you list are fetched wherever they point (the
    private-network rule applies only to links found inside feeds).

    \b
    Examples:
      newsmon backfill urls.txt
      grep -h https archive/*.txt | newsmon backfill - --alert
    """
    settings = state.settings()
    urls = _read_url_list(file)
    _open_db(settings, writable=True).dispose()
    _use_local_server(settings)
    from flows.backfill import run_backfill
    from newsmon.summary import render_summary

    click.echo(f"newsmon: backfilling {len(urls)} URL(s) …", err=True)
    result = _run_flow(run_backfill, urls=urls, config_path=state.config_path(), alert=alert,
                       progress=not no_progress)
    click.echo(json.dumps(result) if as_json else render_summary(result))


# -- extract / classify (no database) -------------------------------------------------------------


def _expand_inputs(inputs: Sequence[str]) -> Iterator[str]:
    for given in inputs:
        path = Path(given)
        if not given.startswith(("http://", "https://")) and path.is_dir():
            found = sorted(p for p in path.iterdir() if p.name.endswith((".html", ".html.gz", ".htm")))
            yield from (str(p) for p in found)
        else:
            yield given


def _read_input(given: str, client: Any, max_bytes: int) -> tuple[bytes, str]:
    """The bytes of one input: fetched (URL) or read (file; ``.gz`` inflated, capped at ``max_bytes``)."""
    from newsmon.decoding import DecodedTooLarge, UnsupportedEncoding, gunzip_capped

    if given.startswith(("http://", "https://")):
        page = client.fetch_page(given, trusted=True)
        return page.body, page.final_url
    path = Path(given)
    try:
        with path.open("rb") as fh:
            # a .gz input is compressed: its size on disk says little, the cap applies when inflating
            data = fh.read() if path.name.endswith(".gz") else fh.read(max_bytes + 1)
    except OSError as exc:
        raise NewsmonError(f"{given}: cannot read: {exc.strerror or exc}") from exc
    if path.name.endswith(".gz"):
        try:
            data = gunzip_capped(data, max_bytes)
        except DecodedTooLarge as exc:
            raise NewsmonError(f"{given}: decompresses to more than max_bytes={max_bytes}; skipped") from exc
        except UnsupportedEncoding as exc:
            raise NewsmonError(f"{given}: not a valid gzip file: {exc}") from exc
    return data, path.resolve().as_uri()


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


@cli.command()
@click.argument("inputs", nargs=-1, required=True, metavar="URL_OR_PATH...")
@click.option("--jsonl", is_flag=True, help='One JSON line per input: {"input","title","published","text"}.')
@click.option("--time-limit", type=click.FloatRange(min=0.1, max=3600), default=30.0, show_default=True,
              metavar="SECONDS", help="Stop extracting one input after this long (it fails, the rest go on).")
@pass_state
def extract(state: State, inputs: tuple[str, ...], jsonl: bool, time_limit: float) -> None:
    """Print the clean article of each URL or HTML file: title, published date, text.

    A directory means every *.html / *.html.gz file in it. With --jsonl, one line per input in
    order; a failed input gives {"input","error"} and the rest go on. No database needed.
    Each input is bounded: fetching by [fetch] timeout and max_bytes (a .gz file by max_bytes once
    inflated), extracting by --time-limit (in a worker process that is stopped when it runs over).

    \b
    Examples:
      newsmon extract https://example.com/news/chip-rules.html
      newsmon extract saved_pages/ --jsonl > articles.jsonl
    """
    from extractors.article import BoundedExtractor
    from newsmon.httpclient import HttpClient

    settings = state.settings()
    failed = 0
    with HttpClient(settings.fetch) as client, BoundedExtractor(workers=1, time_limit=time_limit) as bounded:
        for given in _expand_inputs(inputs):
            try:
                body, url = _read_input(given, client, settings.fetch.max_bytes)
                article = bounded.extract(body, url, max_bytes=settings.fetch.max_bytes)
            except NewsmonError as err:
                failed += 1
                message = getattr(err, "reason", None) or str(err)
                if jsonl:
                    click.echo(json.dumps({"input": given, "error": message}, ensure_ascii=False))
                else:
                    click.echo(f"error: {given}: {message}", err=True)
                continue
            if jsonl:
                click.echo(json.dumps({"input": given, "title": article.title,
                                       "published": _iso(article.published), "text": article.text},
                                      ensure_ascii=False))
            else:
                click.echo(f"# {article.title}\n{_iso(article.published) or 'date unknown'} · {given}\n")
                click.echo(article.text + "\n")
    if failed and not jsonl:
        sys.exit(1)


@cli.command("classify")
@click.argument("file", type=click.File("r", encoding="utf-8"), default="-", required=False)
@click.option("--jsonl", is_flag=True,
              help='Write JSON lines {"id","topics","scores","alert"} (default: a readable table). '
                   'Input is always JSON lines {"id","title","text"}.')
@click.option("--evidence", is_flag=True, help='Add "evidence": {topic: [phrases]} to each output line.')
@pass_state
def classify_cmd(state: State, file: IO[str], jsonl: bool, evidence: bool) -> None:
    """Classify JSON lines of articles into topics; no database needed.

    Reads {"id","title","text"} per line (stdin when no FILE) and writes, in order,
    {"id","topics":[ids],"scores":{id: float},"alert": bool}; alert is true when the topics meet
    [alerts] topics. A line that is not valid JSON gives {"id": null, "error": …}. Without --jsonl
    the same results are printed as a table: id, alert, topics with scores, title.

    \b
    Example:
      echo '{"id":1,"title":"US adds SMIC units to Entity List","text":"…"}' | newsmon classify --jsonl
      newsmon classify articles.jsonl
    """
    from classify.classifier import default_classifier

    settings = state.settings()
    classifier = default_classifier(settings.classify.topics_file)
    alert_topics = set(settings.alerts.topics)
    out = sys.stdout
    table: list[tuple[dict[str, Any], str]] = []
    for lineno, line in enumerate(file, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            if not isinstance(obj, dict):
                raise ValueError("expected a JSON object")
            title, text = str(obj.get("title") or ""), str(obj.get("text") or "")
        except ValueError as exc:
            if not jsonl:
                click.echo(f"line {lineno}: not a JSON object: {exc}", err=True)
                continue
            out.write(json.dumps({"id": None, "error": f"line {lineno}: {exc}"}) + "\n")
            continue
        c = classifier.classify(title, text)
        record: dict[str, Any] = {"id": obj.get("id"), "topics": list(c.topics), "scores": dict(c.scores),
                                  "alert": bool(alert_topics.intersection(c.topics))}
        if evidence:
            record["evidence"] = {k: list(v) for k, v in c.evidence.items()}
        if jsonl:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        else:
            table.append((record, title))
    if not jsonl:
        from newsmon.browse import classify_table

        click.echo(classify_table(table, evidence=evidence))


# -- reading the database -------------------------------------------------------------------------


def _parse_since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)  # OverflowError for 0001-01-01T00:00:00+01:00 (year 0 in UTC)
    except (ValueError, OverflowError) as exc:
        raise click.BadParameter(f"expected an ISO 8601 date or time between years 1 and 9999 in UTC, e.g. "
                                 f"2026-11-01 or 2026-11-01T08:00:00Z; got {value!r}", param_hint="--since") from exc


@cli.command()
@click.option("--jsonl", is_flag=True, help='JSON lines: {"url","title","source","published","text","topics"}.')
@click.option("--topic", metavar="ID", help="Only articles filed under this topic.")
@click.option("--since", metavar="ISO8601", help="Only articles published (or fetched) since then.")
@pass_state
def articles(state: State, jsonl: bool, topic: str | None, since: str | None) -> None:
    """List stored articles, oldest first.

    \b
    Examples:
      newsmon articles --jsonl --topic chip-export --since 2026-11-01 > chip.jsonl
      newsmon articles --since 2026-11-20T00:00:00Z
    """
    from newsmon.browse import check_topic
    from storage import repo

    settings = state.settings()
    check_topic(settings, topic)
    since_dt = _parse_since(since)
    db = _open_db(settings)
    try:
        with db.session() as s:
            for a in repo.iter_articles(s, topic=topic, since=since_dt):
                if jsonl:
                    click.echo(json.dumps({"url": a.url, "title": a.title, "source": a.source,
                                           "published": _iso(a.published), "text": a.text,
                                           "topics": list(a.topics)}, ensure_ascii=False))
                else:
                    when = (a.published or a.fetched_at).strftime("%Y-%m-%d")
                    tags = ",".join(a.topics) or "-"
                    click.echo(f"{when}  {a.title[:90]}  [{tags}]  {a.source}\n            {a.url}")
    finally:
        db.dispose()


@cli.command()
@click.option("--jsonl", is_flag=True,
              help='JSON lines: {"url","title","topics","target","status","attempts","sent_at"}.')
@pass_state
def alerts(state: State, jsonl: bool) -> None:
    """List alerts, one line per alert and target, with delivery status.

    status is sent, pending (will be retried on the next cycle) or failed (gave up after the
    retry limit; still listed). Targets are shown with every secret masked.

    \b
    Example:
      newsmon alerts --jsonl | jq 'select(.status != "sent")'
    """
    from alerts.pipeline import iter_alert_rows

    settings = state.settings()
    db = _open_db(settings)
    try:
        with db.session() as s:
            for row in iter_alert_rows(s):
                if jsonl:
                    click.echo(json.dumps(row, ensure_ascii=False, default=_json_default))
                else:
                    click.echo(f"{row.get('status')!s:8} {row.get('attempts')}x  "
                               f"{str(row.get('title'))[:70]}  → {row.get('target')}")
    finally:
        db.dispose()


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


@cli.command()
@click.option("--limit", default=50, show_default=True, help="How many of the newest failures.")
@click.option("--jsonl", is_flag=True,
              help='JSON lines: {"at","stage","url","reason","run_id","resolved","resolved_at"}.')
@pass_state
def failures(state: State, limit: int, jsonl: bool) -> None:
    """List recorded failures (feeds, pages, deliveries), newest first: what, when and why.

    Each says whether it was later resolved: a feed polled fine afterwards, a page stored on a
    later try, a target that took a later alert.

    \b
    Example:
      newsmon failures --limit 20
    """
    from storage.views import failure_rows

    settings = state.settings()
    db = _open_db(settings)
    try:
        with db.session() as s:
            for f in failure_rows(s, limit=limit):
                if jsonl:
                    click.echo(json.dumps({"at": _iso(f.at), "stage": f.stage, "url": f.url,
                                           "reason": f.reason, "run_id": f.run_id,
                                           "resolved": f.resolved_at is not None,
                                           "resolved_at": _iso(f.resolved_at)}))
                else:
                    mark = f"resolved {f.resolved_at:%Y-%m-%d %H:%M}" if f.resolved_at else "UNRESOLVED"
                    click.echo(f"{f.at:%Y-%m-%d %H:%M}  {f.stage:8} {mark:27} {f.url}\n"
                               f"                  {f.reason}")
    finally:
        db.dispose()


@cli.command()
@pass_state
def topics(state: State) -> None:
    """List the topics articles are filed under, with their descriptions.

    Topics come from a data file (the packaged one, or [classify] topics_file in your config);
    edit or extend it to add a topic, no code needed.

    \b
    Example:
      newsmon topics
    """
    from classify.topics import load_topics

    settings = state.settings()
    alerting = set(settings.alerts.topics)
    for t in load_topics(settings.classify.topics_file):
        mark = "  (alerts)" if t.id in alerting else ""
        click.echo(f"{t.id}{mark}\n    {t.description}")


@cli.command()
@click.option("--dry-run", is_flag=True, help="Only count what would change.")
@pass_state
def reclassify(state: State, dry_run: bool) -> None:
    """Re-file every stored article with the current topic file.

    Use it after editing the topics. It updates topics, scores and evidence. An article newer
    than [classify] reclassify_alert_days (default 2) that now falls under [alerts] topics and did
    not before is queued for alerting once (the next cycle sends it); older ones are only
    re-filed. It sends nothing itself and never re-sends an alert already sent.

    \b
    Example:
      newsmon reclassify --dry-run
    """
    from datetime import timedelta

    from alerts.pipeline import queue_reclassified
    from classify.classifier import default_classifier
    from newsmon.pipeline import utcnow
    from storage import repo

    settings = state.settings()
    classifier = default_classifier(settings.classify.topics_file)
    wanted = settings.alerts.alert_topics()
    now = utcnow()
    cutoff = now - timedelta(days=settings.classify.reclassify_alert_days)
    db = _open_db(settings)
    changed = total = queued = 0
    newly_alerting: list[int] = []
    try:
        with db.session() as s:
            for a in list(repo.iter_articles(s)):
                total += 1
                c = classifier.classify(a.title, a.text)
                if tuple(c.topics) != tuple(a.topics):
                    changed += 1
                    was = any(t in wanted for t in a.topics)
                    now_meets = any(t in wanted for t in c.topics)
                    when = a.published or a.fetched_at
                    if now_meets and not was and when >= cutoff:
                        newly_alerting.append(a.id)
                if not dry_run:
                    repo.set_classification(s, a.id, c, now=now)
            if not dry_run and newly_alerting:
                queued = queue_reclassified(s, newly_alerting, settings, now=now)
    finally:
        db.dispose()
    verb = "would change" if dry_run else "changed"
    click.echo(f"{total} article(s) re-filed; topics {verb} on {changed}")
    if newly_alerting:
        verb = "would be queued" if dry_run else f"queued ({queued} delivery(ies))"
        click.echo(f"{len(newly_alerting)} recent article(s) newly under alert topics: alerts {verb}")


@cli.command("notify-test")
@pass_state
def notify_test(state: State) -> None:
    """Send one test message to every configured alert target and say which succeeded.

    Exits 1 when a target failed or none is configured. Targets are shown masked.

    \b
    Example:
      NEWSMON_NOTIFY_URLS="mailtos://user:pass@smtp.example.com?to=me@example.com" newsmon notify-test
    """
    from alerts.pipeline import notify_test as send_tests

    settings = state.settings()
    if not settings.alerts.notify:
        raise click.ClickException(
            "no alert targets configured: set [alerts] notify = [\"mailto://…\", \"slack://…\"] "
            "or $NEWSMON_NOTIFY_URLS")
    results = send_tests(settings)
    for r in results:
        mark = "ok    " if r.ok else "FAILED"
        click.echo(f"{mark} {r.target_masked}" + (f"  ({r.error})" if r.error else ""))
    if not all(r.ok for r in results):
        sys.exit(1)


def _register_browse_commands() -> None:
    """search, export, report, feeds, runs: their bodies live in :mod:`newsmon.browse`."""
    from newsmon import browse

    browse.register(cli)


_register_browse_commands()


def main() -> NoReturn:
    """Entry point of the ``newsmon`` script."""
    try:
        cli.main(prog_name="newsmon", standalone_mode=True)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    sys.exit(0)

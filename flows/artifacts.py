"""What each cycle and backfill leaves behind: its row in ``runs`` and a Prefect markdown artifact.

The artifact (key ``newsmon-run`` for cycles, ``newsmon-backfill`` for backfills) is a markdown table of
new articles by topic, alerts sent and pending, and failed feeds, pages and deliveries with reasons, so
the Prefect UI shows what each run did; ``newsmon runs`` reads the same figures from the database.
"""

from __future__ import annotations

from typing import Any

from prefect.artifacts import create_markdown_artifact

from newsmon.pipeline import utcnow
from newsmon.summary import CycleSummary, render_markdown
from storage import repo
from storage.db import Database
from storage.views import topic_counts

__all__ = ["ARTIFACT_KEYS", "publish_summary", "record_summary"]

ARTIFACT_KEYS = {"run": "newsmon-run", "backfill": "newsmon-backfill"}


def record_summary(db: Database, summary: CycleSummary) -> dict[str, Any]:
    """Count the new articles by topic and store the run's figures (also when the run failed midway)."""
    with db.session() as s:
        summary.new_by_topic = topic_counts(s, summary.stored_ids)
        figures = summary.as_dict()
        repo.finish_run(s, summary.run_id, figures, now=utcnow())
    return figures


def publish_summary(figures: dict[str, Any]) -> None:
    """Publish the run's markdown artifact in the current flow run."""
    kind = str(figures.get("kind", "run"))
    create_markdown_artifact(
        markdown=render_markdown(figures), key=ARTIFACT_KEYS.get(kind, "newsmon-run"),
        description=f"newsmon {'cycle' if kind == 'run' else kind} {figures.get('run_id')}: new articles by topic, "
                    "alerts, failures",
    )

"""Alerts in a hostile world (issue 14): Slack formatting from feed text never renders (the exact
payload apprise sends, at the HTTP boundary), and an alert in flight when its process is killed -9 is
delivered on the next cycle, once (a real killed subprocess, a real SMTP server, SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import select

from alerts.deliver import send_message
from alerts.pipeline import deliver_pending, enqueue_alerts
from alerts.render import StoryAlert, render_alert
from storage import outbox
from storage.db import open_database
from tests.alerts_support import STORIES, SlackSink, add_article, mail_url, make_settings
from tests.support import free_port

# -- item 9: Slack --------------------------------------------------------------------------------------

SLACK = "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#general"
HOSTILE = StoryAlert(
    title="Chips _rally_ as ~tariffs~ *fall* <@U024BE7LH> <!here> `rm`",
    url="https://wire.example/a_b~c",
    source="Wire _Desk_",
    published=datetime(2026, 11, 23, 8, 30, tzinfo=UTC),
    topics=("chip-export",),
    summary="Shares *jumped* _sharply_ after ~the~ rule. <https://evil.example|click>",
    evidence={"chip-export": ["Entity List"]},
    other_sources=(),
)


@pytest.fixture
def slack_sink(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlackSink]:
    """apprise's Slack webhook base pointed at a loopback sink (Slack itself is not reachable here)."""
    from apprise.plugins.slack import NotifySlack

    with SlackSink() as sink:
        monkeypatch.setattr(NotifySlack, "webhook_url", sink.base + "/services")
        yield sink


def test_slack_payload_renders_no_formatting_or_mention_from_feed_text(slack_sink: SlackSink) -> None:
    send_message(SLACK, render_alert(HOSTILE))
    ((path, _headers, body),) = slack_sink.requests
    assert path == "/services/T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ"
    payload = json.loads(body)
    (attachment,) = payload.pop("attachments")
    assert payload == {"mrkdwn": True, "channel": "#general", "icon_url": payload["icon_url"]}
    # the attachment title is plain text in Slack (no mrkdwn); apprise escapes <, > and & in it
    assert attachment["title"] == ("[newsmon] chip-export · Chips _rally_ as ~tariffs~ *fall* "
                                   "&lt;@U024BE7LH&gt; &lt;!here&gt; `rm`")
    assert attachment["text"] == (
        "*<https://wire.example/a_b~c|Chips ＿rally＿ as ∼tariffs∼ ∗fall∗ ‹＠U024BE7LH› ‹ǃhere› ˋrmˋ>*\n"
        "_Wire ＿Desk＿_ · 2026-11-23 08:30 UTC · chip-export\n"
        "Shares ∗jumped∗ ＿sharply＿ after ∼the∼ rule. ‹https://evil.example¦click›\n"
        "Why: matched: Entity List"
    )
    assert "mrkdwn_in" not in attachment or attachment["mrkdwn_in"] == ["text"]


# -- item 11: kill -9 mid-delivery ---------------------------------------------------------------------


class StallingSMTP:
    """aiosmtpd that, while ``stall`` is set, holds each DATA open (the client waits mid-delivery)."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[EmailMessage] = []
        self.stall = True
        self.stalled = threading.Event()
        sink = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                if sink.stall:
                    sink.stalled.set()
                    for _ in range(600):
                        if not sink.stall:
                            break
                        await asyncio.sleep(0.1)
                    return "451 4.3.0 the sender was gone anyway"
                sink.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> StallingSMTP:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stall = False
        self.controller.stop()


_DELIVER = """
import sys
from alerts.pipeline import deliver_pending
from newsmon.pipeline import utcnow
from storage.db import open_database
from tests.alerts_support import make_settings
db_url, target = sys.argv[1], sys.argv[2]
settings = make_settings(db_url, notify=[target])
deliver_pending(open_database(db_url), settings, now=utcnow(), run_id="doomed-run")
"""


def statuses(db_url: str) -> list[str]:
    db = open_database(db_url)
    with db.session() as s:
        found = list(s.scalars(select(outbox.Delivery.status)))
    db.dispose()
    return found


def test_alert_in_flight_at_kill_9_goes_out_on_the_next_cycle_once(db_url: str) -> None:
    with StallingSMTP() as smtp:
        target = mail_url(smtp.port)
        settings = make_settings(db_url, notify=[target])  # lease_seconds stays 900 (15 min)
        db = open_database(db_url)
        article = add_article(db, url="https://x.example/e", title=STORIES["entity"][0], text=STORIES["entity"][1])
        with db.session() as s:
            assert enqueue_alerts(s, [article], settings, now=datetime.now(UTC)).deliveries_created == 1
        proc = subprocess.Popen([sys.executable, "-c", _DELIVER, db_url, target])
        try:
            assert smtp.stalled.wait(90), "the doomed process never reached DATA"
            assert statuses(db_url) == ["sending"]
            proc.send_signal(signal.SIGKILL)
            assert proc.wait(10) == -signal.SIGKILL
        finally:
            proc.kill()
        smtp.stall = False
        # the next cycle (well inside the 15-minute lease) sees the claim's owner is gone
        sent = 0
        deadline = time.monotonic() + 10
        while not sent and time.monotonic() < deadline:  # PostgreSQL notices the closed connection quickly
            sent = deliver_pending(db, settings, now=datetime.now(UTC), run_id="next-cycle").sent
            if not sent:
                time.sleep(0.2)
        assert sent == 1
        again = deliver_pending(db, settings, now=datetime.now(UTC), run_id="cycle-after")
        assert again.sent == 0
        assert len(smtp.messages) == 1 and STORIES["entity"][0] in str(smtp.messages[0]["Subject"])
        assert statuses(db_url) == ["sent"]
        db.dispose()


def test_a_live_claim_is_not_taken_over(db_url: str) -> None:
    """A claim whose owner is alive (this process) stays its own until the lease ends."""
    settings = make_settings(db_url, notify=["json://127.0.0.1:9/x"])
    db = open_database(db_url)
    article = add_article(db, url="https://x.example/e", title=STORIES["entity"][0], text=STORIES["entity"][1])
    now = datetime.now(UTC)
    with db.session() as s:
        enqueue_alerts(s, [article], settings, now=now)
    token = outbox.owner_token("mine")
    with outbox.owner_lock(db.engine, token):
        with db.session() as s:
            (row_id,) = s.scalars(select(outbox.Delivery.id))
            assert outbox.claim_deliveries(s, [row_id], token=token, now=now, lease_seconds=900) == [row_id]
        with db.session() as s:
            keys = [r.target_key for r in s.scalars(select(outbox.Delivery))]
            assert outbox.dead_owner_tokens(s, now=now, lease_seconds=900, target_keys=keys) == []
        report = deliver_pending(db, settings, now=now, run_id="other")
        assert report.sent == 0 and statuses(db_url) == ["sending"]
    db.dispose()

"""apprise delivery: the exact requests sent, real loopback servers, and secrets kept out of sight."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from alerts.deliver import mask_url, scrub, send_message, target_key, target_kind
from alerts.render import SourceRef, StoryAlert, render_alert
from newsmon.errors import DeliveryError
from tests.alerts_support import SlackSink, mail_url
from tests.support import LoopbackHTTP, SMTPSink, free_port

SLACK = "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#general"
SLACK_TOKENS = ("A1BRTD4JD", "TIiajkdnlazkcOXrIdevi7FQ")

ALERT = StoryAlert(
    title="US adds <b>14</b> firms to Entity List <!channel>",
    url="https://wire.example/entity",
    source="Example Wire",
    published=datetime(2026, 11, 23, 8, 30, tzinfo=UTC),
    topics=("chip-export",),
    summary="The Commerce Department added 14 companies. Suppliers need a licence.",
    evidence={"chip-export": ["Entity List", "SMIC"]},
    other_sources=(SourceRef("The Paper", "https://paper.example/a"),),
)


SLACK_PATH = "/services/T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ"


@pytest.fixture
def slack_to_loopback(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlackSink]:
    """Point apprise's Slack webhook base at a loopback sink (Slack itself is unreachable here)."""
    from apprise.plugins.slack import NotifySlack

    with SlackSink() as sink:
        monkeypatch.setattr(NotifySlack, "webhook_url", sink.base + "/services")
        yield sink


def test_slack_request_is_exactly_what_slack_expects(slack_to_loopback: SlackSink) -> None:
    message = render_alert(ALERT)
    send_message(SLACK, message)
    ((path, headers, body),) = slack_to_loopback.requests
    assert path == SLACK_PATH
    assert headers["Content-Type"].startswith("application/json")
    payload = json.loads(body)
    assert payload["channel"] == "#general"
    assert payload["mrkdwn"] is True
    (attachment,) = payload["attachments"]
    assert attachment["title"] == (  # apprise escapes &, <, > in the title itself
        "[newsmon] chip-export · US adds &lt;b&gt;14&lt;/b&gt; firms to Entity List &lt;!channel&gt;"
    )
    text = attachment["text"]
    assert text.splitlines()[0] == (
        "*<https://wire.example/entity|US adds ‹b›14‹/b› firms to Entity List ‹ǃchannel›>*"
    )
    assert "<!channel>" not in text and "Why: matched: Entity List · SMIC" in text
    assert "<https://paper.example/a|The Paper>" in text


def test_email_is_multipart_text_and_html(smtp: SMTPSink) -> None:
    send_message(mail_url(smtp.port), render_alert(ALERT))
    (msg,) = smtp.messages
    assert msg["Subject"] == "[newsmon] chip-export · US adds <b>14</b> firms to Entity List <!channel>"
    assert msg["To"] == "analyst@example.com"
    assert msg.get_content_type() == "multipart/alternative"
    html_part = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    text_part = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "&lt;b&gt;14&lt;/b&gt;" in html_part and "<b>14</b> firms" not in html_part
    assert '<a href="https://wire.example/entity">' in html_part
    for needle in ("Example Wire", "2026-11-23 08:30 UTC", "licence", "Entity List · SMIC", "The Paper",
                   "https://wire.example/entity"):
        assert needle in text_part


def test_json_endpoint_gets_the_text_version(http: LoopbackHTTP) -> None:
    send_message(http.url("/hook").replace("http://", "json://"), render_alert(ALERT))
    (payload,) = http.json_posts("/hook")
    assert payload["title"].startswith("[newsmon] chip-export · ")
    assert "Link: https://wire.example/entity" in payload["message"]


def test_refusal_raises_delivery_error_with_masked_target(smtp: SMTPSink) -> None:
    smtp.refuse_next(1)
    with pytest.raises(DeliveryError) as info:
        send_message(mail_url(smtp.port), render_alert(ALERT))
    assert info.value.target.startswith("mailto://127.0.0.1")
    assert len(smtp.messages) == 0


def test_unreachable_target_error_has_no_password() -> None:
    url = f"mailto://bob:hunter2secret@127.0.0.1:{free_port()}?to=a@example.com&mode=insecure"
    with pytest.raises(DeliveryError) as info:
        send_message(url, render_alert(ALERT))
    assert "hunter2secret" not in str(info.value)
    assert "****" in info.value.target


@pytest.mark.parametrize(
    ("url", "secrets"),
    [
        ("mailtos://bob:hunter2secret@smtp.example.com?to=me@example.com", ["hunter2secret"]),
        (SLACK, list(SLACK_TOKENS)),
        ("json://user:s3cretpass@hooks.example.com/path", ["s3cretpass"]),
        ("nonsense://user:s3cretpass@x", ["s3cretpass", "user"]),
    ],
)
def test_mask_url_hides_every_secret(url: str, secrets: list[str]) -> None:
    masked = mask_url(url)
    for secret in secrets:
        assert secret not in masked
        assert secret not in scrub(f"failed posting to {url}", url)


def test_debug_logging_never_prints_a_token(slack_to_loopback: SlackSink,
                                           caplog: pytest.LogCaptureFixture) -> None:
    """Neither apprise's DEBUG lines nor urllib3's request lines (full webhook path) leak a token."""
    apprise_logger = logging.getLogger("apprise")
    previous = apprise_logger.level
    apprise_logger.setLevel(logging.DEBUG)
    slack_to_loopback.statuses.append(500)
    try:
        with caplog.at_level(logging.DEBUG), pytest.raises(DeliveryError) as info:
            send_message(SLACK, render_alert(ALERT))
        send_message(SLACK, render_alert(ALERT))  # and on success
    finally:
        apprise_logger.setLevel(previous)
    assert caplog.records, "apprise logged nothing at all: the test would prove nothing"
    for token in SLACK_TOKENS:
        assert token not in caplog.text
        assert token not in str(info.value)


def test_target_kind_and_key() -> None:
    assert target_kind(mail_url(25)) == "email"
    assert target_kind(SLACK) == "slack"
    assert target_kind("json://127.0.0.1/x") == "text"
    assert target_key(SLACK) == target_key(f" {SLACK} ") and len(target_key(SLACK)) == 64
    assert json.dumps(mask_url(SLACK))  # serialisable, used in --jsonl

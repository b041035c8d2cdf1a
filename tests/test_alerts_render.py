"""Alert rendering: subject, body parts, escaping of everything that came from a feed. Pure, fast."""

from __future__ import annotations

from datetime import UTC, datetime

from alerts.render import (
    FeedHealthEvent,
    SourceRef,
    StoryAlert,
    clean_line,
    format_evidence,
    render_alert,
    render_digest,
    render_feed_health,
    slack_text,
    summarize,
)

WHEN = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)


def _alert(**kw: object) -> StoryAlert:
    base: dict[str, object] = {
        "title": "US adds 14 Chinese firms to Entity List",
        "url": "https://wire.example/entity?id=1&x=2",
        "source": "Example Wire",
        "published": WHEN,
        "topics": ("chip-export", "investment"),
        "alert_topics": ("chip-export",),
        "summary": "The Commerce Department added 14 companies. Suppliers need a licence.",
        "evidence": {"chip-export": ["Entity List", "SMIC", "Commerce Department"]},
        "other_sources": (SourceRef("The Paper", "https://paper.example/a", "Copy"),),
    }
    base.update(kw)
    return StoryAlert(**base)  # type: ignore[arg-type]


def test_subject_names_topic_and_headline() -> None:
    assert render_alert(_alert()).subject == "[newsmon] chip-export · US adds 14 Chinese firms to Entity List"
    two = render_alert(_alert(alert_topics=("chip-export", "cloud-policy")))
    assert two.subject.startswith("[newsmon] chip-export, cloud-policy · ")


def test_subject_cannot_inject_headers() -> None:
    msg = render_alert(_alert(title="Headline\r\nBcc: victim@example.com\x00"))
    assert "\n" not in msg.subject and "\r" not in msg.subject and "\x00" not in msg.subject


def test_body_has_source_date_link_summary_why_and_other_sources() -> None:
    msg = render_alert(_alert())
    for body in (msg.html, msg.text, msg.slack):
        assert "Example Wire" in body
        assert "2026-11-23 08:30 UTC" in body
        assert "licence" in body
        assert "matched: Entity List · SMIC · Commerce Department" in body
        assert "The Paper" in body
    assert 'href="https://wire.example/entity?id=1&amp;x=2"' in msg.html
    assert "Link: https://wire.example/entity?id=1&x=2" in msg.text


def test_html_escapes_everything_from_the_feed() -> None:
    evil = '<img src=x onerror="alert(1)">'
    msg = render_alert(_alert(title=f"Chips {evil}", source=evil, summary=evil,
                              evidence={"chip-export": [evil]},
                              other_sources=(SourceRef(evil, "javascript:alert(1)", evil),)))
    assert "<img" not in msg.html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in msg.html or "&lt;img" in msg.html
    assert "javascript:" not in msg.html  # only http(s) URLs become links


def test_slack_text_cannot_ping_or_link() -> None:
    msg = render_alert(_alert(title="Breaking <!channel> <@U123> <https://evil.example|click> now!here"))
    first_line = msg.slack.splitlines()[0]
    assert first_line.startswith("*<https://wire.example/entity?id=1&x=2|")
    assert "<!channel>" not in msg.slack and "<@U123>" not in msg.slack
    assert "<https://evil.example" not in msg.slack
    assert first_line.count("<") == 1 and first_line.count(">") == 1  # only our own link
    assert slack_text("a|b>c<d") == "a¦b›c‹d"


def test_summary_takes_two_to_three_sentences() -> None:
    text = ("WASHINGTON — The Commerce Department added firms on Tuesday. Suppliers now need a licence to ship. "
            "Officials said the firms trained models for weapons. The embassy objected strongly to it.")
    summary = summarize(text)
    assert summary.count(". ") + 1 == 3 and summary.endswith("weapons.")
    assert len(summarize("word " * 400)) <= 480


def test_evidence_is_deduplicated_and_alert_topics_first() -> None:
    ev = {"investment": ["Big Fund", "SMIC"], "chip-export": ["Entity List", "SMIC"]}
    assert format_evidence(ev, ["chip-export"]) == "matched: Entity List · SMIC · Big Fund"
    assert format_evidence({}) == ""


def test_digest_lists_every_story() -> None:
    msg = render_digest([_alert(), _alert(title="Second story")], heading="daily digest")
    assert msg.subject == "[newsmon] daily digest · 2 stories (chip-export)"
    assert "Second story" in msg.html and "Second story" in msg.slack and "Second story" in msg.text


def test_feed_health_messages() -> None:
    down = render_feed_health(FeedHealthEvent("down", "https://f.example/rss", "F", 3, "HTTP 503", None))
    assert down.subject == "[newsmon] feed down · F" and "3 polls in a row" in down.text
    up = render_feed_health(FeedHealthEvent("recovered", "https://f.example/rss", None, 0, None, WHEN))
    assert up.subject == "[newsmon] feed recovered · https://f.example/rss"


def test_clean_line_cuts_long_headlines() -> None:
    assert clean_line("x" * 500).endswith("…") and len(clean_line("x" * 500)) == 180

"""The public API: findings, placeholders, JSON-like values, and the structlog processor."""

from itertools import pairwise

import structlog

from agentrun.logic.redaction import (
    PLACEHOLDERS,
    EntityType,
    Finding,
    Redacted,
    contains_sensitive,
    find_entities,
    redact_event_dict,
    redact_text,
    redact_value,
)

CARD = "4111 1111 1111 1111"
EMAIL = "dana@example.com"


def test_redact_text_replaces_findings_with_typed_placeholders() -> None:
    text = f"Email {EMAIL}, card {CARD}, password=hunter2."  # the full stop is not the value
    result = redact_text(text)
    assert result == Redacted(
        "Email [REDACTED:email], card [REDACTED:card], password=[REDACTED:password].",
        (
            Finding(EntityType.EMAIL, 6, 22),
            Finding(EntityType.CARD, 29, 48),
            Finding(EntityType.PASSWORD, 59, 66),
        ),
    )
    assert [text[f.start : f.end] for f in result.findings] == [EMAIL, CARD, "hunter2"]


def test_clean_text_is_returned_unchanged() -> None:
    text = "Refund 42.50 EUR for order ORD-7730192 on 2025-03-14, approved by the team."
    assert redact_text(text) == Redacted(text, ())
    assert not contains_sensitive(text)
    assert find_entities("") == ()
    assert find_entities("a@b") == ()


def test_placeholders_are_not_detected_again() -> None:
    every = " ".join(PLACEHOLDERS.values())
    assert find_entities(every) == ()
    assert find_entities(f"password={PLACEHOLDERS[EntityType.PASSWORD]}") == ()
    assert find_entities(f"Authorization: Bearer {PLACEHOLDERS[EntityType.BEARER]}") == ()


def test_findings_are_sorted_and_never_overlap() -> None:
    text = f"{CARD} {EMAIL} +44 20 7946 0958 token=abc123 {CARD}"
    findings = find_entities(text)
    assert [f.type for f in findings] == [
        EntityType.CARD,
        EntityType.EMAIL,
        EntityType.PHONE,
        EntityType.PASSWORD,
        EntityType.CARD,
    ]
    assert all(a.end <= b.start for a, b in pairwise(findings))


def test_overlapping_candidates_become_one_finding() -> None:
    # The slack token's characters run into the private key block: both are redacted, once.
    text = "xoxb-1234567890-abc-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----"
    assert redact_text(text).text == "[REDACTED:api_key]"


def test_earlier_stages_win_over_key_value_secrets() -> None:
    # The whole card is reported, not the first group as the token's value.
    assert redact_text(f"token={CARD}").text == "token=[REDACTED:card]"
    assert redact_text(f'{{"password": "{EMAIL}"}}').text == '{"password": "[REDACTED:email]"}'


def test_redact_value_walks_json_like_values() -> None:
    value = {
        "user": EMAIL,
        "tags": ["x", f"card {CARD}"],
        "pair": (1, EMAIL),
        "n": 4111111111111111,
        "ok": True,
        "none": None,
        "nested": {"password": "hunter2", "note": "password=hunter2"},
    }
    assert redact_value(value) == {
        "user": "[REDACTED:email]",
        "tags": ["x", "card [REDACTED:card]"],
        "pair": (1, "[REDACTED:email]"),
        "n": 4111111111111111,
        "ok": True,
        "none": None,
        "nested": {"password": "hunter2", "note": "password=[REDACTED:password]"},
    }
    assert value["user"] == EMAIL  # the input is not modified
    assert redact_value(3.5) == 3.5
    assert redact_value(EMAIL) == "[REDACTED:email]"


def test_structlog_processor_redacts_every_string() -> None:
    event = {
        "event": f"refund for {EMAIL}",
        "card": CARD,
        "args": ["Bearer abc123def456ghi789", 3],
        "extra": {"deep": {"k": "token=abc123"}},
        "count": 2,
    }
    out = redact_event_dict(None, "info", event)
    assert out is event
    assert out == {
        "event": "refund for [REDACTED:email]",
        "card": "[REDACTED:card]",
        "args": ["Bearer [REDACTED:bearer]", 3],
        "extra": {"deep": {"k": "token=[REDACTED:password]"}},
        "count": 2,
    }


def test_structlog_processor_in_a_real_pipeline() -> None:
    sink = structlog.testing.CapturingLogger()
    log = structlog.wrap_logger(
        sink,
        processors=[redact_event_dict, structlog.processors.KeyValueRenderer(sort_keys=True)],
        wrapper_class=structlog.BoundLogger,  # whatever level the global configuration filters
    )
    message = f"charged {CARD}"
    log.info(message, customer=EMAIL, amount=12.5)
    assert [call.args for call in sink.calls] == [
        ("amount=12.5 customer='[REDACTED:email]' event='charged [REDACTED:card]'",)
    ]

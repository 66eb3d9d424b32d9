"""Phone numbers: shapes that reach phonenumbers, and numbers that must never reach it."""

import pytest

from agentrun.logic.redaction import find_entities
from agentrun.logic.redaction.phones import clear_cache, is_phone


def found(text: str) -> list[tuple[str, str]]:
    return [(f.type.value, text[f.start : f.end]) for f in find_entities(text)]


@pytest.mark.parametrize(
    "phone",
    [
        "+1 415-555-0132",
        "+1 (415) 555-0132",
        "(415) 555-0132",
        "415-555-0132",
        "415.555.0132",
        "415 555 0132",
        "1-415-555-0132",
        "+14155550132",
        "+44 20 7946 0958",
        "+44 (0) 20 7946 0958",
        "0044 20 7946 0958",
        "+49 30 123456",
        "+33 1 23 45 67 89",
        "+91 81234 56789",
        "+81 3-1234-5678",
        "+55 11 96123-4567",
        "+61 491 570 156",
        "+39 02 1234 5678",
        "+800 1234 5678",  # non-geographic (international freephone)
    ],
)
def test_phone_formats(phone: str) -> None:
    assert found(f"Call {phone} today.") == [("phone", phone)]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Tel: 020 7946 0958", "020 7946 0958"),
        ("phone number 030 123456 (office)", "030 123456"),
        ("mobile 06 12 34 56 78", "06 12 34 56 78"),
        ('{"phone": "4155550132"}', "4155550132"),
    ],
)
def test_national_numbers_need_a_keyword(text: str, value: str) -> None:
    assert found(text) == [("phone", value)]
    assert (
        found(text.replace("Tel", "Ref").replace("phone", "order").replace("mobile", "batch")) == []
    )


@pytest.mark.parametrize(
    "text",
    [
        "Released 2024-01-15, patched 15/01/2024 and 01.02.2024.",
        "ISBN 978-3-16-148410-0 and ISBN 0-306-40615-2",
        "Upgrade to v10.15.7 or 2.31.0.1; build 2025.03.1",
        "Hosts 192.168.100.254 and 10.0.4.17:7233",
        "Total 1,234,567.89 EUR; 12,345 calls",
        "Ticket #4155550132 and ORD-415-555-0132",
        "4155550132 with no keyword is just ten digits",
        "+1 555 555 5555 is not a valid number",
        "Coordinates 37.7749, -122.4194",
        "event_time_ms=1710409262118",
        "Timestamps 2025-03-14T09:41:02.118Z and 2025-03-14 09:41:02",
        "Serials 1000234, 1000235",
        "Phone: see page 2",
    ],
)
def test_not_phones(text: str) -> None:
    assert found(text) == [], found(text)


def test_trailing_and_leading_groups_are_dropped() -> None:
    assert found("call 415 555 0132 24 hours a day") == [("phone", "415 555 0132")]
    assert found("room 12 415-555-0132") == [("phone", "415-555-0132")]


def test_validation_does_not_depend_on_the_cache() -> None:
    clear_cache()
    assert is_phone("+44 20 7946 0958", "442079460958", lambda: False)
    assert is_phone("+44 20 7946 0958", "442079460958", lambda: False)
    clear_cache()
    assert not is_phone("+1 555 555 5555", "15555555555", lambda: False)


def test_keyword_is_only_asked_when_the_shape_does_not_decide() -> None:
    asked: list[bool] = []

    def keyword() -> bool:
        asked.append(True)
        return True

    assert is_phone("(415) 555-0132", "4155550132", keyword)
    assert not asked
    assert is_phone("4155550132", "4155550132", keyword)
    assert asked

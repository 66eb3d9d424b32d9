"""Cards, SSNs and IBANs: checksums, issuer ranges, layouts and the numbers that only look alike."""

import pytest

from agentrun.logic.redaction import EntityType, find_entities
from agentrun.logic.redaction.cards import card_ok, card_scheme_ok, luhn_ok
from agentrun.logic.redaction.ibans import iban_ok


def found(text: str) -> list[tuple[str, str]]:
    return [(f.type.value, text[f.start : f.end]) for f in find_entities(text)]


@pytest.mark.parametrize(
    "number",
    [
        "4111111111111111",  # Visa
        "4222222222222",  # Visa, 13 digits
        "5555555555554444",  # Mastercard
        "2223003122003222",  # Mastercard 2-series
        "378282246310005",  # Amex
        "6011111111111117",  # Discover
        "3530111333300000",  # JCB
        "30569309025904",  # Diners, 14 digits
        "6200000000000005",  # UnionPay
    ],
)
def test_published_test_cards_validate(number: str) -> None:
    assert card_ok(number)


def test_luhn_and_issuer_ranges() -> None:
    assert luhn_ok("79927398713")
    assert not luhn_ok("79927398710")
    assert not card_scheme_ok("9111111111111111")  # no network issues 9...
    assert card_scheme_ok("4111111111111")  # Visa issues 13 digits
    assert not card_scheme_ok("37828224631000")  # Amex is 15 digits, not 14
    assert not card_scheme_ok("5555555555554")  # Mastercard is 16 digits


@pytest.mark.parametrize(
    "text",
    [
        "Card 4111 1111 1111 1111 exp 12/27",
        "card=4111-1111-1111-1111;",
        "Amex 3782 822463 10005.",
        '{"number": "5555555555554444"}',
        "Diners 3056 930902 5904 on file",
    ],
)
def test_cards_in_context(text: str) -> None:
    assert [kind for kind, _ in found(text)] == ["card"]


@pytest.mark.parametrize(
    "text",
    [
        "Order 4111 1111 1111 1112 shipped",  # fails Luhn
        "Order number 4532015112830361 is late",  # fails Luhn
        "Tracking 9111111111111111 (Luhn-valid, no issuer starts with 9)",
        "Reference 1234567812345670 is Luhn-valid but not an issuer range",
        "Mixed separators 4111 1111-1111 1111",
        "Glued ORD-4111111111111111 and x4111111111111111 and 4111111111111111x",
        "Amount 4111111111111111.50 or 1,4111111111111111",
    ],
)
def test_numbers_that_are_not_cards(text: str) -> None:
    assert "card" not in [kind for kind, _ in found(text)], found(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("SSN 234-56-7890 on file", "234-56-7890"),
        ("ssn: 234 56 7890", "234 56 7890"),
        ("SSN#078-05-1121", "078-05-1121"),
        ("Social security number 234567890.", "234567890"),
        ('{"customer_ssn": "234567890"}', "234567890"),
    ],
)
def test_ssns(text: str, value: str) -> None:
    assert found(text) == [("ssn", value)]


@pytest.mark.parametrize(
    "text",
    [
        "000-12-3456",  # area 000
        "666-12-3456",  # area 666
        "912-34-5678",  # area 9xx
        "234-00-5678",  # group 00
        "234-56-0000",  # serial 0000
        "078-05-1120",  # the Woolworth wallet number, voided
        "234-56 7890",  # mixed separators
        "Invoice 234567890 is due",  # nine bare digits without an SSN keyword
        "ssn: 1234567890",  # ten digits
    ],
)
def test_not_ssns(text: str) -> None:
    assert found(text) == []


@pytest.mark.parametrize(
    "iban",
    [
        "DE89 3704 0044 0532 0130 00",
        "DE89370400440532013000",
        "GB82 WEST 1234 5698 7654 32",
        "GB82WEST12345698765432",
        "FR14 2004 1010 0505 0001 3M02 606",
        "NL91 ABNA 0417 1643 00",
        "NO93 8601 1117 947",
        "CH93 0076 2011 6238 5295 7",
        "SA03 8000 0000 6080 1016 7519",
        "MT84 MALT 0110 0001 2345 MTLC AST0 01S",
    ],
)
def test_ibans(iban: str) -> None:
    assert iban_ok(iban.replace(" ", ""))
    assert found(f"Pay to IBAN {iban}, thanks.") == [("iban", iban)]


@pytest.mark.parametrize(
    "text",
    [
        "IBAN DE89 3704 0044 0532 0130 01 failed",  # checksum off by one
        "DE88370400440532013000",  # check digits wrong
        "DE89 3704 0044 0532 0130",  # too short for Germany
        "XX89 3704 0044 0532 0130 00",  # not an IBAN country
        "de89 3704 0044 0532 0130 00",  # lower case
        "CZ13 3053 0264 5543 8221 0618",  # bad checksum whose digits pass Luhn as a Diners card
    ],
)
def test_not_ibans(text: str) -> None:
    assert found(text) == []


def test_iban_checksum_rejects_length_and_country() -> None:
    assert not iban_ok("DE8937040044053201300")
    assert not iban_ok("ZZ89370400440532013000")
    assert EntityType.IBAN.value == "iban"

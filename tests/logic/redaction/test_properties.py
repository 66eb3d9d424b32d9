"""Properties over generated text: idempotence, nothing left to find, JSON shape kept, no crash.

The text strategy glues entities, near-misses, keywords, placeholders and separators together in
any order (with no spaces between them as often as with), which is where detectors' boundary
rules interact; plain arbitrary unicode covers the rest.
"""

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentrun.logic.redaction import credentials, find_entities, redact_text, redact_value
from agentrun.logic.redaction.cards import luhn_ok
from agentrun.logic.redaction.model import Candidate

PIECES = (
    "4111 1111 1111 1111", "4111111111111111", "3782 822463 10005", "4111 1111 1111 1112",
    "+1 415-555-0132", "(415) 555-0132", "415-555-0132", "4155550132", "+44 20 7946 0958",
    "0044 20 7946 0958", "020 7946 0958", "234-56-7890", "234 56 7890", "234567890", "000-12-3456",
    "DE89 3704 0044 0532 0130 00", "DE89370400440532013000", "GB82 WEST 1234 5698 7654 32",
    "DE89 3704 0044 0532 0130 01", "dana.w@example.com", "a@b.co", "@", "icon@2x.png",
    "AKIAIOSFODNN7EXAMPLE", "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY",
    "ghp_16C7e42F292c6912E7710c838347Ae178B4a", "xoxb-123456789012-abcdef",
    "sk_live_4eC39HqLyjWDarjtT1zdp7dc", "sk-abcdefghijklmnopqrstuvwxyz123456",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----",
    "-----BEGIN RSA PRIVATE KEY-----",
    "Bearer abc123def456ghi", "Bearer ", "Authorization: ", "Authorization: Basic ", "password=",
    "password: ", '"password": "', "'pwd': '", '\\"secret\\": \\"', "token=", "PWD=", "api_key:",
    "aws_secret_access_key=", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "hunter2", "ssn ",
    "phone ", "tel:", "2025-03-14", "2025-03-14 09:41", "9fceb02d0ae598e95dc970b74767f19372d61af8",
    "[REDACTED:card]", "[REDACTED:", "[", "]", " ", "-", ".", ",", "(", ")", "+", ":", "=", '"',
    "'", "\n", "\\", "_", "#", "/", "0", "1", "9", "12", "x", "A", "é", "İ", "\u2019", "\x00",
    # the gaps closed for issue 17: RFC 5322 local parts, URL credentials, prose labels, values
    # with punctuation, random tokens near secret words
    "o'connor", "josé.garcía", '"john doe"', "!#$%&*^~", "https://", "app:", "pw@db.io", " is ",
    "the password is ", "pin: ", "4471", "&", "?", ";", "key ", " leaked", "token ", "apiKey",
    "9fK2aLm3Qx7Rt5Vb8Nc1Zp4Ws6Yd0Hj2Gk3Lq7Q", "vD3kQ9xL2mN7pR4tW8yB1cF6hJ0sZ5gA", "sk-live-",
    "abcdefghijklmnopqrstuvwxyz", "SGVsbG8gd29ybGQsIHRoaXMgaXMgYSB0ZXN0", "public ", "sha256:",
)  # fmt: skip
texts = st.one_of(
    st.lists(st.sampled_from(PIECES), max_size=12).map("".join),
    st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=4)), max_size=8).map("".join),
    st.text(max_size=120),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | texts,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(texts)
def test_redaction_is_idempotent_and_leaves_nothing_to_find(text: str) -> None:
    once = redact_text(text)
    assert find_entities(once.text) == ()
    assert redact_text(once.text).text == once.text


@SETTINGS
@given(texts)
def test_findings_are_sorted_disjoint_spans_that_rebuild_the_output(text: str) -> None:
    result = redact_text(text)
    rebuilt, pos = "", 0
    for f in result.findings:
        assert pos <= f.start < f.end <= len(text)
        rebuilt += text[pos : f.start] + f"[REDACTED:{f.type}]"
        pos = f.end
    assert rebuilt + text[pos:] == result.text


@SETTINGS
@given(st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=200))
def test_arbitrary_unicode_never_raises(text: str) -> None:
    result = redact_text(text)
    assert isinstance(result.text, str)


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


@SETTINGS
@given(json_values)
def test_redact_value_keeps_shape_and_non_strings(value: Any) -> None:
    redacted = redact_value(value)
    before, after = _leaves(value), _leaves(redacted)
    assert len(before) == len(after)
    for old, new in zip(before, after, strict=True):
        if isinstance(old, str):
            assert new == redact_text(old).text
        else:
            assert new is old
    if isinstance(value, dict):
        assert list(redacted) == list(value)
    json.dumps(redacted)  # still serialisable


@SETTINGS
@given(
    st.sampled_from(["4", "51", "2221", "37", "6011", "3528"]),
    st.lists(st.integers(0, 9), min_size=14, max_size=14),
    st.sampled_from(["", " ", "-"]),
    st.sampled_from(["card ", "paid with ", '{"number": "', "x "]),
)
def test_any_luhn_valid_card_in_range_is_found(
    prefix: str, body: list[int], sep: str, before: str
) -> None:
    length = 15 if prefix == "37" else 16
    digits = (prefix + "".join(map(str, body)))[: length - 1]
    digits += next(d for d in "0123456789" if luhn_ok(digits + d))
    if length == 15:
        number = sep.join((digits[:4], digits[4:10], digits[10:]))
    else:
        number = sep.join(digits[i : i + 4] for i in range(0, 16, 4))
    text = f"{before}{number} ok"
    assert [(f.type.value, text[f.start : f.end]) for f in find_entities(text)] == [
        ("card", number)
    ]


def _key_values(text: str, few: int) -> list[Candidate]:
    """What the key/value stage reports when told to take one of its two ways to find keys."""
    saved = credentials._FEW
    credentials._FEW = few
    try:
        found: list[Candidate] = []
        credentials.scan_key_values(text, found)
        return sorted(found)
    finally:
        credentials._FEW = saved


@SETTINGS
@given(texts)
def test_both_ways_of_finding_keys_agree(text: str) -> None:
    assert _key_values(text, few=-1) == _key_values(text, few=1 << 30)

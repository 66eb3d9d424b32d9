"""IBANs: found from their head (two capitals and two check digits), checked by mod 97.

The head is searched for in the numeric module's byte shape of the text, where every capital is
one byte and every digit another, so ``CC99`` is a single literal: a fast substring search rather
than a character-class scan. Lengths are the SWIFT registry's, per country; an IBAN may be
written in groups of four or unbroken, in capitals.
"""

import re

from agentrun.logic.redaction.model import (
    Candidate,
    EntityType,
    after_placeholder,
    before_placeholder,
    candidate,
)

HEAD = re.compile(rb"\x02\x02\x00\x00")

IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HN": 28, "HR": 21, "HU": 28,
    "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28,
    "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22,
    "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23,
    "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24,
    "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}  # fmt: skip


def iban_ok(compact: str) -> bool:
    """ISO 13616: the country's length, and the number read with its first four characters
    moved to the end (letters as 10..35) is 1 modulo 97."""
    if IBAN_LENGTHS.get(compact[:2]) != len(compact) or not compact[2:4].isdigit():
        return False
    return int((compact[4:] + compact[:4]).translate(_LETTER_VALUES)) % 97 == 1


# Letters count as 10..35 in the checksum.
_LETTER_VALUES = str.maketrans({chr(c): str(c - 55) for c in range(ord("A"), ord("Z") + 1)})
# Per length: that many capitals or digits, a single space allowed before any of them.
_BODIES = {n: re.compile(rf"[A-Z0-9](?: ?[A-Z0-9]){{{n - 1}}}") for n in set(IBAN_LENGTHS.values())}


def scan_ibans(text: str, shape: bytes, out: list[Candidate]) -> list[tuple[int, int]]:
    """Report valid IBANs; return the spans of everything IBAN-shaped, valid or not, so that
    the digits of a mistyped IBAN are not taken for a card or a phone number."""
    spans: list[tuple[int, int]] = []
    for m in HEAD.finditer(shape):
        i = m.start()
        if (spans and i < spans[-1][1]) or text[i : i + 2] not in IBAN_LENGTHS:
            continue
        end, valid = _iban_at(text, i)
        if end:
            spans.append((i, end))
            if valid:
                out.append(candidate(i, end, EntityType.IBAN))
    return spans


def _iban_at(text: str, i: int) -> tuple[int, bool]:
    """The end of the IBAN-shaped token at ``i`` (its country's length of capitals and digits,
    single spaces allowed) and whether its checksum holds; (0, False) if there is none."""
    if i > 0 and (text[i - 1].isalnum() or after_placeholder(text, i)):
        return 0, False
    m = _BODIES[IBAN_LENGTHS[text[i : i + 2]]].match(text, i)
    if m is None:
        return 0, False
    j = m.end()
    if j < len(text) and (text[j].isalnum() or before_placeholder(text, j)):
        return 0, False
    return j, iban_ok(m.group().replace(" ", ""))

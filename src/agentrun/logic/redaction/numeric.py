"""Cards, SSNs and phone numbers, found from runs of digits; IBANs first, from their head.

One regex pass finds runs of at least nine characters (digits, spaces, ``().-``) that start
with a digit: every card, SSN and phone number lies inside such a run. A realistic text has a
few dozen runs (dates, amounts, ids), and each is sorted out with string operations before any
checksum or ``phonenumbers`` call.

When an entity is found inside a run, what is left on either side is examined again as a run of
its own. That is exactly what a second pass over the redacted text would see, which keeps
redaction idempotent.
"""

import re

from agentrun.logic.redaction.cards import card_ok
from agentrun.logic.redaction.ibans import scan_ibans
from agentrun.logic.redaction.model import (
    Candidate,
    EntityType,
    after_placeholder,
    before_placeholder,
    candidate,
    context_before,
)
from agentrun.logic.redaction.phones import has_phone_keyword, is_phone

# Runs are searched for in a byte "shape" of the text: one byte per character, every digit
# turned into NUL and every capital into \x02 (those two bytes in the text into \x01). A pattern
# that starts with a literal byte is searched for with a tight loop, twice as fast as a
# character class over the text itself.
_RUN = re.compile(rb"\x00[\x00 ().\-]{8,}")
_SHAPE = bytes.maketrans(
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ\x00\x02", b"\x00" * 10 + b"\x02" * 26 + b"\x01\x01"
)
_ISO_DATE = b"\x00\x00\x00\x00-\x00\x00-\x00\x00"
_NOT_A_RUN = b"\x01" * len(_ISO_DATE)
_NON_DIGITS = str.maketrans("", "", " ().-+ABCDEFGHIJKLMNOPQRSTUVWXYZ")
# Card layouts: 4-4-4-1..4 (and 4-4-4-4-3), 4-6-4/5 (Diners, Amex), or 12-19 digits unbroken,
# with one kind of separator throughout; dots only in full groups of four (4.4.4.4 and
# 4.4.4.4.3, as a card is sometimes read out or printed), never 4.4.4.1 like a version number.
_CARD = re.compile(
    r"(?<![0-9])(?:[0-9]{4}([ \-]?)[0-9]{4}\1[0-9]{4}\1[0-9]{1,4}(?:\1[0-9]{3})?"
    r"|[0-9]{4}\.[0-9]{4}\.[0-9]{4}\.[0-9]{4}(?:\.[0-9]{3})?"
    r"|[0-9]{4}([ \-]?)[0-9]{6}\2[0-9]{4,5}|[0-9]{12,19})(?![0-9])"
)
_SSN = re.compile(r"(?<![0-9])([0-9]{3})([ \-])([0-9]{2})\2([0-9]{4})(?![0-9])")
_SSN_KEYWORD = re.compile(r"(?<![a-z])ssns?(?![a-z])|social security|soc\.? ?sec|\bss#")
_VOID_SSNS = frozenset({"078051120", "219099999", "123456789"})
# Characters that make a number part of something else when they touch it ("#" only for phone
# numbers: "ticket #88231" is an id, "SSN#078-05-1120" still an SSN).
_GLUE_BEFORE = frozenset("_-./\\$€£¥%@")
_PHONE_GLUE_BEFORE = _GLUE_BEFORE | {"#"}
_GLUE_AFTER = frozenset("_/\\%@")
_TRIM = " .-("
# Groups of a run: what lies between spaces and parentheses. Every entity the other stages can
# report ends before one of these or before a character that glues a number to it, so a run cut
# short by a placeholder in a second pass starts and ends at group boundaries of the first.
_GROUP = re.compile(r"[0-9][0-9.\-]*[0-9]|[0-9]")
_SPLIT = re.compile(r"[ ()]")
_NARROW_GROUPS, _WIDE_GROUPS = 4, 7
_KEYWORD_WINDOW = 32


def _free_before(text: str, i: int, glue: frozenset[str] = _GLUE_BEFORE) -> bool:
    if i == 0:
        return True
    c = text[i - 1]
    if c == ",":  # "1,234": glued to what comes before (a placeholder there may be a number)
        return not (text[i - 2 : i - 1].isdigit() or after_placeholder(text, i - 1))
    return not (c.isalnum() or c in glue or after_placeholder(text, i))


def _free_after(text: str, j: int) -> bool:
    if j >= len(text):
        return True
    c = text[j]
    if c.isalnum() or c in _GLUE_AFTER or before_placeholder(text, j):
        return False
    # "1,234" or "4.5": glued to what follows (a placeholder there stands for such a number)
    return not (c in ".-," and (text[j + 1 : j + 2].isdigit() or before_placeholder(text, j + 1)))


def scan_numbers(text: str, out: list[Candidate]) -> None:
    shape = text.encode("ascii", "replace").translate(_SHAPE)  # "replace": one byte a character
    shape = shape.replace(_ISO_DATE, _NOT_A_RUN)  # the commonest run of all, never an entity
    ibans = scan_ibans(text, shape, out)
    k = 0
    for m in _RUN.finditer(shape):
        segment = m.group()
        # Most runs are dates, amounts and ids, and this loop is the hot path: nothing under
        # nine digits is a card, an SSN or a national phone number, nothing under eight an
        # international one.
        n = segment.count(0)  # digits are NUL in the shape
        if n < 9 and (n < 8 or text[m.start() - 1 : m.start()] != "+"):
            continue
        start, end = m.span()
        while k < len(ibans) and ibans[k][1] <= start:
            k += 1
        if k < len(ibans) and ibans[k][0] <= start:  # the account part of an IBAN
            start = ibans[k][1]
        elif start > 0 and (text[start - 1].isalnum() or text[start - 1] in _GLUE_BEFORE):
            # The first group belongs to a word or id ("ORD-2024...", "1Z999AA1012..."); what
            # follows a space or a parenthesis in the run may still stand alone.
            split = _SPLIT.search(text, start, end)
            if split is None:
                continue
            start = split.start()
        start = _next_digit(text, start, end)
        if end - start >= 9 or (end - start == 8 and text[start - 1] == "+"):
            _run(text, start, end, out)


def _next_digit(text: str, i: int, end: int) -> int:
    while i < end and not text[i].isdigit():
        i += 1
    return i


def _run(text: str, start: int, end: int, out: list[Candidate]) -> None:
    """Classify the run ``text[start:end]`` (it starts with a digit)."""
    while end > start and text[end - 1] in _TRIM:
        end -= 1
    if end - start < 7:
        return
    segment = text[start:end]
    if segment.endswith(")") and segment.count("(") < segment.count(")"):
        end -= 1
        segment = segment[:-1]
    digits = segment.translate(_NON_DIGITS)
    if len(digits) < 7:
        return
    found = _pattern_entity(text, start, end, _CARD, EntityType.CARD) if len(digits) >= 12 else None
    if found is None and len(digits) >= 9:
        found = _pattern_entity(text, start, end, _SSN, EntityType.SSN)
    if found is not None:
        out.append(candidate(found[0], found[1], found[2]))
        if found[0] - start >= 7:
            _run(text, start, found[0], out)
        right = _next_digit(text, found[1], end)
        if end - right >= 7:
            _run(text, right, end, out)
        return
    if (
        len(digits) == 9
        and segment == digits
        and _ssn_ok(digits)
        and _free_before(text, start)
        and _free_after(text, end)
        and _SSN_KEYWORD.search(context_before(text, start, _KEYWORD_WINDOW))
    ):
        out.append(candidate(start, end, EntityType.SSN))
        return
    phone = _phone(text, start, end)
    if phone is not None:
        out.append(candidate(phone[0], phone[1], EntityType.PHONE))
        if phone[0] - start >= 7:
            _run(text, start, phone[0], out)
        right = _next_digit(text, phone[1], end)
        if end - right >= 7:
            _run(text, right, end, out)


def _pattern_entity(
    text: str, start: int, end: int, pattern: re.Pattern[str], kind: EntityType
) -> tuple[int, int, EntityType] | None:
    """The first match of ``pattern`` in the run that validates and stands free."""
    pos = start
    while (m := pattern.search(text, pos, end)) is not None:
        s, e = m.span()
        digits = m.group().translate(_NON_DIGITS)
        valid = card_ok(digits) if kind is EntityType.CARD else _ssn_ok(digits)
        if valid and _free_before(text, s) and _free_after(text, e):
            return s, e, kind
        pos = s + 1
    return None


def _ssn_ok(digits: str) -> bool:
    area = digits[:3]
    return not (
        area in ("000", "666")
        or area[0] == "9"
        or digits[3:5] == "00"
        or digits[5:] == "0000"
        or digits in _VOID_SSNS
    )


def _phone(text: str, start: int, end: int) -> tuple[int, int] | None:
    """The leftmost, then longest, window of whole groups of the run that is a phone number.

    Every plausible window is tried, because a neighbouring secret may take a group at either
    end and a second pass over the redacted text must not find more. Plausible: 7 to 17 digits;
    at most four groups (``1 (415) 555 0132``) unless the number starts with ``+`` or ``0``, at
    most seven (``+33 1 23 45 67 89``) if it does; which keeps long tables of numbers linear.
    """
    groups = [
        (m.start(), m.end(), len(m.group().translate(_NON_DIGITS)))
        for m in _GROUP.finditer(text, start, end)
    ]
    for i, (first, _, _) in enumerate(groups):
        wide = text[first] == "0" or text[first - 1 : first] == "+"
        windows: list[int] = []
        total = 0
        for _, last, count in groups[i : i + (_WIDE_GROUPS if wide else _NARROW_GROUPS)]:
            total += count
            if total > 17:
                break
            if total >= 7:
                windows.append(last)
        for last in reversed(windows):
            found = _phone_at(text, first, last)
            if found is not None:
                return found
    return None


def _phone_at(text: str, start: int, end: int) -> tuple[int, int] | None:
    """``text[start:end]`` (with a ``+`` or ``(`` just before it) as a phone number."""
    if start > 0 and text[start - 1] in "+(":
        start -= 1
        if start > 0 and text[start] == "(" and text[start - 1] == "+":
            start -= 1
    if not (_free_before(text, start, _PHONE_GLUE_BEFORE) and _free_after(text, end)):
        return None
    digits = text[start:end].translate(_NON_DIGITS)
    if not 7 <= len(digits) <= 17:
        return None

    def keyword() -> bool:
        return has_phone_keyword(context_before(text, start, _KEYWORD_WINDOW))

    return (start, end) if is_phone(text[start:end], digits, keyword) else None

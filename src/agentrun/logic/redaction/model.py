"""What a detector reports, and the placeholder that replaces it.

Detectors append raw ``Candidate`` tuples (cheap to build by the hundred). The engine runs them
in stages, and each stage sees the spans found by the earlier ones overwritten by :data:`MASK`.
Every boundary and keyword rule treats a masked span exactly like the placeholder that will
replace it (a number glued to a card stays glued to the card's placeholder), so each stage sees
in the first pass what it would see in a second pass over the redacted text, and a second pass
finds nothing: redaction is idempotent by construction.
"""

from dataclasses import dataclass
from enum import StrEnum


class EntityType(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    CARD = "card"
    IBAN = "iban"
    SSN = "ssn"
    API_KEY = "api_key"
    JWT = "jwt"
    BEARER = "bearer"
    PASSWORD = "password"  # noqa: S105 -- the entity type's name, not a secret


@dataclass(frozen=True, slots=True)
class Finding:
    type: EntityType
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Redacted:
    text: str
    findings: tuple[Finding, ...]


# When two candidates of one stage start at the same place and are as long, the more specific
# format names the finding: a JWT sent as a bearer token is reported as a JWT.
RANK: dict[EntityType, int] = {
    t: i
    for i, t in enumerate(
        (
            EntityType.API_KEY,
            EntityType.JWT,
            EntityType.CARD,
            EntityType.IBAN,
            EntityType.SSN,
            EntityType.EMAIL,
            EntityType.BEARER,
            EntityType.PASSWORD,
            EntityType.PHONE,
        )
    )
}

# (start, end, rank, type)
Candidate = tuple[int, int, int, EntityType]

PLACEHOLDER_PREFIX = "[REDACTED:"
# Stands for an already-found span while later stages run: a control character that no
# detector's character classes admit.
MASK = "\x00"
PLACEHOLDERS: dict[EntityType, str] = {t: f"{PLACEHOLDER_PREFIX}{t.value}]" for t in EntityType}
_PLACEHOLDER_ENDINGS = tuple(PLACEHOLDERS.values())
_LONGEST = max(len(p) for p in _PLACEHOLDER_ENDINGS)


def candidate(start: int, end: int, kind: EntityType) -> Candidate:
    return (start, end, RANK[kind], kind)


def after_placeholder(text: str, i: int) -> bool:
    """True when ``text[:i]`` ends with a placeholder or with a masked span."""
    if i <= 0:
        return False
    c = text[i - 1]
    return c == MASK or (c == "]" and text.endswith(_PLACEHOLDER_ENDINGS, max(0, i - _LONGEST), i))


def before_placeholder(text: str, i: int) -> bool:
    """True when ``text[i:]`` starts with a placeholder or with a masked span."""
    return text[i : i + 1] == MASK or text.startswith(PLACEHOLDER_PREFIX, i)


def mask(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` with each span overwritten by :data:`MASK` (same length, so offsets hold)."""
    parts, pos = [], 0
    for start, end in spans:
        parts.append(text[pos:start])
        parts.append(MASK * (end - start))
        pos = end
    parts.append(text[pos:])
    return "".join(parts)


def context_before(text: str, i: int, width: int) -> str:
    """Up to ``width`` characters before ``i`` on the same line and after any placeholder or
    masked span, lower-cased: where a keyword such as "ssn" or "phone" gives a bare number its
    meaning.

    Stopping at a placeholder keeps the window a subset of what the first pass saw, so a
    redaction never brings a distant keyword closer to a number.
    """
    lo = max(0, i - width)
    cut = max(text.rfind("\n", lo, i), text.rfind("]", lo, i), text.rfind(MASK, lo, i))
    return text[max(lo, cut + 1) : i].lower()


def lower_aligned(text: str) -> str:
    """``text`` in lower case, one character for one, so offsets into either agree: the few
    characters that lower-case to two ("İ") are kept as they are."""
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    return "".join(low if len(low := c.lower()) == 1 else c for c in text)

"""Find and replace sensitive entities in text and in JSON-like values.

Detectors run in stages, each over the text with the earlier stages' findings masked (see
``model``), so a character is reported at most once and a second pass over redacted text finds
nothing new. Within a stage, overlapping candidates become one finding covering all of them:
nothing a detector flagged is left in the text.
"""

from collections.abc import Callable
from typing import Any, TypeVar, cast

from agentrun.logic.redaction.contacts import scan_emails
from agentrun.logic.redaction.credentials import scan_key_values
from agentrun.logic.redaction.keys import scan_tokens
from agentrun.logic.redaction.loose import scan_loose_secrets
from agentrun.logic.redaction.model import (
    PLACEHOLDERS,
    Candidate,
    EntityType,
    Finding,
    Redacted,
    mask,
)
from agentrun.logic.redaction.numeric import scan_numbers

T = TypeVar("T")
# Most specific first: provider keys, JWTs, private keys and URL credentials (so a key is an
# api_key whatever its name, and "user:pw@host" is no email); then the numbers (so that
# "token=4111 1111 1111 1111" keeps the whole card); then emails; then random tokens near a
# secret word in prose; key/value secrets last. The prose stage comes before the key/value one
# because the latter bounds its values by what follows them: a token the prose stage replaced
# later must already be masked when it runs, or a second pass would bound a value otherwise.
_STAGES: tuple[Callable[[str, list[Candidate]], None], ...] = (
    scan_tokens,
    scan_numbers,
    scan_emails,
    scan_loose_secrets,
    scan_key_values,
)

# The shortest entity any detector reports ("pwd=x", "a@b.io") is five characters.
_MIN_LENGTH = 5


def find_entities(text: str) -> tuple[Finding, ...]:
    """Sorted, non-overlapping findings in ``text``."""
    if len(text) < _MIN_LENGTH:
        return ()
    found: list[tuple[int, int, EntityType]] = []
    view = text
    for stage in _STAGES:
        candidates: list[Candidate] = []
        stage(view, candidates)
        if candidates:
            spans = _settle(candidates)
            found += spans
            view = mask(view, [(start, end) for start, end, _ in spans])
    found.sort()
    return tuple(Finding(kind, start, end) for start, end, kind in found)


def _settle(candidates: list[Candidate]) -> list[tuple[int, int, EntityType]]:
    """Where candidates overlap, the one that starts first (then the longer, then the more
    specific type) names the span, stretched over the others' characters too."""
    candidates.sort(key=lambda c: (c[0], -c[1], c[2]))
    spans: list[tuple[int, int, EntityType]] = []
    for start, end, _, kind in candidates:
        if spans and start < spans[-1][1]:
            if end > spans[-1][1]:
                spans[-1] = (spans[-1][0], end, spans[-1][2])
            continue
        spans.append((start, end, kind))
    return spans


def redact_text(text: str) -> Redacted:
    """``text`` with every finding replaced by ``[REDACTED:<type>]``."""
    findings = find_entities(text)
    if not findings:
        return Redacted(text, ())
    parts: list[str] = []
    pos = 0
    for f in findings:
        parts.append(text[pos : f.start])
        parts.append(PLACEHOLDERS[f.type])
        pos = f.end
    parts.append(text[pos:])
    return Redacted("".join(parts), findings)


def redact_value(value: T) -> T:
    """Strings redacted, dicts (values only), lists and tuples recursively; anything else as is."""
    return cast(T, _redact(value))


def _redact(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value).text
    if isinstance(value, dict):
        return {k: _redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_redact(v) for v in value)
    return value


def contains_sensitive(text: str) -> bool:
    return bool(find_entities(text))

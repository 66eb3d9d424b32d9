"""The text a screen reads of a JSON value: its decoded strings, never an escaped serialisation.

``json.dumps`` (``ensure_ascii=True``) turns a zero-width space into the six characters
``\\u200b``, a tag character into a surrogate pair of escapes and a newline into ``\\n``: then
Unicode folding and invisible-character checks see nothing, and "\\nIgnore all previous
instructions" starts with the letter ``n``. So a screen reads every string and every key, as
the model will, one per line. Each object's values come before its keys: an instruction split
across fields ({"a": "Ignore all previous", "b": "instructions"}) then reads as one sentence,
and an object's keys read together ("role", "content"; "name", "arguments").
"""

import json
from collections.abc import Iterator

# Bounds the work of one screen on a pathological value (the screen cuts its text here too).
MAX_SCREENED_CHARS = 200_000
_MAX_DEPTH = 64
# Strings that hold JSON themselves (a tool's arguments, a webhook body) are read as JSON too,
# a bounded number of times.
_MAX_NESTED = 32
_END = object()


class _Key:
    """A key, told apart from a string value: a key is never parsed as JSON."""

    __slots__ = ("text",)

    def __init__(self, key: object) -> None:
        self.text = str(key)


def screened_text(value: object) -> str:
    """Every string (and number) of ``value``, dict keys included, one per line: depth first,
    each object's values (in order) before its keys (in order).

    A ``str`` that holds a JSON object or array (a tool's output as the model receives it) is
    decoded first; any other string is itself. At most :data:`MAX_SCREENED_CHARS` characters.
    """
    if isinstance(value, str):
        parsed = _parse(value)
        if parsed is None:
            return value[:MAX_SCREENED_CHARS]
        value = parsed
    parts: list[str] = []
    size = 0
    nested = 0
    stack: list[Iterator[object]] = [iter((value,))]
    while stack and size <= MAX_SCREENED_CHARS:
        item = next(stack[-1], _END)
        if item is _END:
            stack.pop()
            continue
        children = _children(item, len(stack) < _MAX_DEPTH, nested < _MAX_NESTED)
        if children is not None:
            nested += isinstance(item, str)
            stack.append(children)
            continue
        text = _leaf(item)
        if text:
            parts.append(text)
            size += len(text) + 1
    return "\n".join(parts)[:MAX_SCREENED_CHARS]


def _children(item: object, room: bool, parse: bool) -> Iterator[object] | None:
    """What ``item`` holds, or None for a leaf; nothing below the depth limit."""
    if isinstance(item, dict):
        return _pairs(item) if room else iter(())
    if isinstance(item, list | tuple):
        return iter(item) if room else iter(())
    if isinstance(item, str) and room and parse:
        inner = _parse(item)
        return iter((inner,)) if inner is not None else None
    return None


def _leaf(item: object) -> str:
    if isinstance(item, _Key):
        return item.text
    if isinstance(item, str):
        return item
    return "" if item is None or isinstance(item, bool) else str(item)


def _pairs(mapping: dict[object, object]) -> Iterator[object]:
    yield from mapping.values()
    for key in mapping:
        yield _Key(key)


def _parse(text: str) -> object | None:
    """The JSON object or array ``text`` holds, or None (also when it nests too deep to parse)."""
    if not text.lstrip().startswith(("{", "[")):
        return None
    try:
        parsed: object = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return parsed if isinstance(parsed, dict | list) else None

"""The text a screen reads of a JSON value: its decoded strings, never an escaped serialisation.

``json.dumps`` (``ensure_ascii=True``) turns a zero-width space into the six characters
``\\u200b`` and a newline into ``\\n``: Unicode normalisation and invisible-character checks then
see nothing, and "\\nIgnore all previous instructions" starts with the letter ``n``. So a screen
reads every string leaf and every key, as the model will, one per line.
"""

import json
from typing import Any

# Bounds the work of one screen on a pathological value (the screen cuts its text here too).
MAX_TEXT_CHARS = 200_000
_MAX_DEPTH = 64


def screened_text(value: Any) -> str:
    """Every string (and number) of ``value``, keys included, joined by newlines.

    A ``str`` that holds a JSON object or array (a tool's output as the model receives it) is
    decoded first; any other string is itself.
    """
    if isinstance(value, str):
        text: str = value
        if not text.lstrip().startswith(("{", "[")):
            return text[:MAX_TEXT_CHARS]
        try:
            value = json.loads(text)
        except ValueError:
            return text[:MAX_TEXT_CHARS]
    parts: list[str] = []
    _collect(value, parts, [0], 0)
    return "\n".join(parts)[:MAX_TEXT_CHARS]


def _collect(value: Any, parts: list[str], size: list[int], depth: int) -> None:
    if size[0] > MAX_TEXT_CHARS:
        return
    if isinstance(value, dict) and depth < _MAX_DEPTH:
        for key, item in value.items():
            _add(str(key), parts, size)
            _collect(item, parts, size, depth + 1)
    elif isinstance(value, list | tuple) and depth < _MAX_DEPTH:
        for item in value:
            _collect(item, parts, size, depth + 1)
    elif isinstance(value, str):
        _add(value, parts, size)
    elif value is not None and not isinstance(value, bool | dict | list | tuple):
        _add(str(value), parts, size)


def _add(text: str, parts: list[str], size: list[int]) -> None:
    if text:
        parts.append(text)
        size[0] += len(text) + 1

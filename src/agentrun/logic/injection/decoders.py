"""Decoding what may carry an instruction past a pattern: base64 (standard or URL-safe,
padded or not, wrapped at 76 characters as MIME does), base32, 8-bit binary, hex (plain,
spaced, ``\\x`` and ``\\u`` escapes), percent-encoding (and ``+`` for spaces in query
strings) and HTML entities. ROT13 needs no candidate and is a view
(:func:`agentrun.logic.injection.views.rot13`).

The work is bounded whatever the text: at most :data:`MAX_CANDIDATES` decode attempts and
:data:`MAX_DECODED_CHARS` characters of decoded text per screen, shared by both levels (a
decoded text is searched for encodings once more, never a third time). Every candidate is
decoded, not the first few, so decoy blobs in front of the payload do not hide it; what decodes
to text is screened in one pass, joined.
"""

import base64
import binascii
import html
import re
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass

MAX_CANDIDATES = 512
MAX_DECODED_CHARS = 100_000
_MIN_LETTERS = 6

# Every pattern here is linear in the text: single character classes, possessive runs, and
# checks that would need backtracking (counting escapes) done in Python instead.
_B64 = re.compile(r"[A-Za-z0-9+/_-]{16,}+={0,2}")
_MIME = re.compile(r"(?:[A-Za-z0-9+/]{40,}+={0,2}[ \t]*\r?\n[ \t]*)+[A-Za-z0-9+/]{4,}+={0,2}")
_MIME_HINT = re.compile(r"[A-Za-z0-9+/]{40}={0,2}[ \t]*\r?\n")
_MIME_BREAK = re.compile(r"\s+")
_HEX = re.compile(r"[0-9A-Fa-f :]{24,}+")
_HEX_SEP = re.compile(r"[ :]")
_ESCAPES = re.compile(r"(?:\\x[0-9A-Fa-f]{2}|\\u[0-9A-Fa-f]{4}){6,}+")
_ESCAPE = re.compile(r"\\x([0-9A-Fa-f]{2})|\\u([0-9A-Fa-f]{4})")
_PERCENT = re.compile(r"[^\s%]*+(?:%[0-9A-Fa-f]{2}[^\s%]*+)++")
_QUERY_VALUE = re.compile(r"[?&][\w.-]++=([^\s&#]++)")
_B32 = re.compile(r"[A-Z2-7]{24,}+={0,6}")
_BINARY = re.compile(r"(?:[01]{8}[ ]?){6,}+")
_ENTITY = re.compile(r"&(?:#\d{2,7}|#x[0-9A-Fa-f]{2,6}|[A-Za-z]{2,8});")
_LETTER = re.compile(r"[^\W\d_]")
_URLSAFE = str.maketrans("-_", "+/")


@dataclass(slots=True)
class Budget:
    """What one screen may still spend on decoding, across both levels."""

    candidates: int = MAX_CANDIDATES
    chars: int = MAX_DECODED_CHARS


def decoded_texts(text: str, budget: Budget) -> list[str]:
    """The texts hidden in ``text`` by any of the encodings, in the order found."""
    found: list[str] = []
    for decode in (_base64, _hex, _binary, _escapes, _percent, _entities):
        for decoded in decode(text):
            budget.candidates -= 1
            if budget.candidates < 0:
                return found
            if len(decoded) <= budget.chars and _is_text(decoded):
                budget.chars -= len(decoded)
                found.append(decoded)
    return found


def _base64(text: str) -> Iterator[str]:
    if "\n" in text and _MIME_HINT.search(text):  # MIME wraps at 76: unwrap first
        text = _MIME.sub(lambda m: _MIME_BREAK.sub("", m.group()), text)
    for match in _B64.finditer(text):
        if len(match.group()) >= 24 and _B32.fullmatch(match.group()):
            yield from _base32(match.group())
        raw = match.group().rstrip("=").translate(_URLSAFE)
        raw = raw[: len(raw) - 1] if len(raw) % 4 == 1 else raw
        try:
            yield _utf8(base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True))
        except (binascii.Error, ValueError):
            yield ""


def _base32(text: str) -> Iterator[str]:
    for match in _B32.finditer(text):
        raw = match.group().rstrip("=")
        try:
            yield _utf8(base64.b32decode(raw + "=" * (-len(raw) % 8)))
        except (binascii.Error, ValueError):
            yield ""


def _binary(text: str) -> Iterator[str]:
    if "0110" not in text and "0111" not in text:  # every ASCII letter's byte has one of them
        return
    for match in _BINARY.finditer(text):
        bits = match.group().replace(" ", "")
        yield _utf8(int(bits, 2).to_bytes(len(bits) // 8, "big"))


def _hex(text: str) -> Iterator[str]:
    """Long unbroken hex, or runs of byte pairs ("49 67 6e", "49:67:6e"); a run is split at
    its separators first, so a word ending in a-f before it does not shift every byte."""
    for match in _HEX.finditer(text):
        group: list[str] = []
        for token in [*_HEX_SEP.split(match.group()), ""]:
            if len(token) >= 24 and len(token) % 2 == 0:
                yield _utf8(bytes.fromhex(token))
            elif len(token) in (2, 4):
                group.append(token)
                continue
            if sum(map(len, group)) >= 24:
                yield _pairs(group)
            group = []


def _pairs(group: list[str]) -> str:
    """The text of the pairs; a stray pair at either end (a word ending in a-f, "ce 49 67")
    would spoil the UTF-8, so the run is tried without it too."""
    for trimmed in (group, group[1:], group[:-1], group[1:-1]):
        decoded = _utf8(bytes.fromhex("".join(trimmed)))
        if decoded:
            return decoded
    return ""


def _escapes(text: str) -> Iterator[str]:
    if "\\" not in text:
        return
    for match in _ESCAPES.finditer(text):
        raw = bytearray()
        for byte, code in _ESCAPE.findall(match.group()):
            raw += bytes.fromhex(byte) if byte else chr(int(code, 16)).encode("utf-8", "replace")
        yield _utf8(bytes(raw))


def _percent(text: str) -> Iterator[str]:
    """Tokens with three or more escapes, and query values with "+" for spaces."""
    if "%" in text:
        for match in _PERCENT.finditer(text):
            if match.group().count("%") >= 3:
                yield urllib.parse.unquote_plus(match.group())
    if "+" in text and "=" in text:
        for match in _QUERY_VALUE.finditer(text):
            if match.group(1).count("+") >= 2:
                yield urllib.parse.unquote_plus(match.group(1))


def _entities(text: str) -> Iterator[str]:
    if "&" in text and len(_ENTITY.findall(text)) >= 4:
        yield html.unescape(text)


def _utf8(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return ""


def _is_text(decoded: str) -> bool:
    """Readable text, not the bytes of an id, a hash or a picture."""
    if len(_LETTER.findall(decoded[:400])) < _MIN_LETTERS:
        return False
    return decoded.replace("\n", " ").replace("\r", " ").replace("\t", " ").isprintable()

"""Email addresses, found from each ``@`` outwards rather than by scanning the whole text.

A text without ``@`` costs one ``str.find``. The local part takes the characters of an RFC 5322
dot-atom that do not double as field separators in running text: letters and digits (accented
Latin, Greek and Cyrillic too, as RFC 6531 allows), ``.`` and ``!#$%&'*+-^_~`` (and the typeset
apostrophe, U+2019). ``= / ? | { }`` and the backtick end it: ``user=bob@...``,
``?to=bob@...`` and ``a|bob@...`` are far commoner than an address containing them. Punctuation
that opens a quotation or markup (``'bob@x.io'``, ``*bob@x.io*``) is not part of the address,
so the local part starts at a letter, a digit or ``_``. A quoted local part (``"john
doe"@example.com``) is taken whole, quotes included.

A domain needs a top-level label of letters, and one that is an image or file extension
(``icon@2x.png``) is not taken for a domain, nor a host followed by ``:path``
(``git@github.com:org/repo``). Scripts written without spaces (Chinese, Japanese) are left out
of both parts, so an address glued to such text is found without the words before it.
"""

import re

from agentrun.logic.redaction.model import (
    MASK,
    PLACEHOLDER_PREFIX,
    Candidate,
    EntityType,
    after_placeholder,
    before_placeholder,
    candidate,
)

_ATOM = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+-!#$&'*^~\u2019"
)
_STARTS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
# Letters beyond ASCII that a local part or a domain may hold: Latin-1 and Latin Extended
# (without x and ÷), Greek, Cyrillic, and Latin Extended Additional (Vietnamese).
_LETTERS = "\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u0370-\u03ff\u0400-\u052f\u1e00-\u1eff"
_LABEL = f"A-Za-z0-9{_LETTERS}"
_DOMAIN = re.compile(
    rf"(?:[{_LABEL}](?:[{_LABEL}\-]{{0,61}}[{_LABEL}])?\.)+"
    rf"([A-Za-z{_LETTERS}]{{2,24}}|xn--[a-z0-9\-]{{2,59}})"
    rf"(?![{_LABEL}_\-]|\.[{_LABEL}])"
)
_FILE_EXTENSIONS = frozenset(
    {"png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "ico", "tif", "tiff", "pdf", "js", "ts"}
)
_MAX_LOCAL = 64
# "git@github.com:org/repo.git" is an SSH address, not an email address.
_SCP_PATH = re.compile(r":[^\s]")
# What may stand before the opening quote of a quoted local part.
_BEFORE_QUOTE = frozenset(" \t\n<(:;,[")


def _local_char(c: str) -> bool:
    if c in _ATOM:
        return True
    return ("\u00c0" <= c < "\u0530" or "\u1e00" <= c <= "\u1eff") and c.isalnum()


def scan_emails(text: str, out: list[Candidate]) -> None:
    at = text.find("@")
    while at != -1:
        nxt = at + 1
        i = _local_start(text, at)
        if (
            i < at
            and (m := _DOMAIN.match(text, at + 1)) is not None
            and m.group(1).lower() not in _FILE_EXTENSIONS
            and not before_placeholder(text, m.end())
            and not _SCP_PATH.match(text, m.end())
        ):
            out.append(candidate(i, m.end(), EntityType.EMAIL))
            nxt = m.end()
        at = text.find("@", nxt)


def _local_start(text: str, at: int) -> int:
    """Where the local part before the ``@`` at ``at`` starts (``at`` when there is none)."""
    if at > 1 and text[at - 1] == '"':
        return _quoted_start(text, at)
    i = at
    while i > 0 and at - i <= _MAX_LOCAL and _local_char(text[i - 1]):
        i -= 1
    # Glued to a masked span or a placeholder, even through punctuation ("]&dana@..."), it is
    # not reported: what the placeholder replaced may have been a longer local part (a bearer
    # token or a quoted password the later stages find), too long in the first pass.
    stop = i
    while i < at and text[i] in _ATOM and text[i] not in _STARTS:
        i += 1
    if i == at or at - i > _MAX_LOCAL or text[at - 1] == "." or after_placeholder(text, stop):
        return at
    return i


def _quoted_start(text: str, at: int) -> int:
    """``"john doe"@example.com``: the opening quote, on the same line and after a space or
    the punctuation that may precede an address."""
    q = text.rfind('"', max(0, at - 2 - _MAX_LOCAL), at - 1)
    if q == -1 or (q > 0 and text[q - 1] not in _BEFORE_QUOTE):
        return at
    inner = text[q + 1 : at - 1]
    if not inner.strip() or "\n" in inner or MASK in inner or PLACEHOLDER_PREFIX in inner:
        return at
    return q

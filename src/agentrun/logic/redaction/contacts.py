"""Email addresses, found from each ``@`` outwards rather than by scanning the whole text.

A text without ``@`` costs one ``str.find``. Only ASCII addresses are reported; a domain needs a
top-level label of letters, and one that is an image or file extension (``icon@2x.png``) is not
taken for a domain, nor a host followed by ``:path`` (``git@github.com:org/repo``).
"""

import re

from agentrun.logic.redaction.model import (
    Candidate,
    EntityType,
    after_placeholder,
    before_placeholder,
    candidate,
)

_LOCAL = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+-")
_DOMAIN = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+([A-Za-z]{2,24})"
    r"(?![A-Za-z0-9_\-]|\.[A-Za-z0-9])"
)
_FILE_EXTENSIONS = frozenset(
    {"png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "ico", "tif", "tiff", "pdf", "js", "ts"}
)
_MAX_LOCAL = 64
# "git@github.com:org/repo.git" is an SSH address, not an email address.
_SCP_PATH = re.compile(r":[^\s]")


def scan_emails(text: str, out: list[Candidate]) -> None:
    at = text.find("@")
    while at != -1:
        nxt = at + 1
        i = at
        while i > 0 and text[i - 1] in _LOCAL and at - i <= _MAX_LOCAL:
            i -= 1
        while i < at and text[i] == ".":
            i += 1
        if (
            i < at
            and at - i <= _MAX_LOCAL
            and text[at - 1] != "."
            and not after_placeholder(text, i)
            and (m := _DOMAIN.match(text, at + 1)) is not None
            and m.group(1).lower() not in _FILE_EXTENSIONS
            and not before_placeholder(text, m.end())
            and not _SCP_PATH.match(text, m.end())
        ):
            out.append(candidate(i, m.end(), EntityType.EMAIL))
            nxt = m.end()
        at = text.find("@", nxt)

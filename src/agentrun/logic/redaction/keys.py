"""Secrets recognisable by their own shape: provider API keys, private key blocks, JWTs, and
the password of a URL with credentials (``postgres://app:s3cr3t@db:5432/x``).

Provider keys are found by their documented prefixes (``AKIA``, ``AIza``, ``ghp_``, ``xoxb-``,
``sk_live_``, ``sk-ant-``...), each a literal the regex engine searches for with a fast substring
scan, so a text without them costs a few microseconds. This stage runs first, so such a value is
an ``api_key`` whatever name it is given ("password: sk_live_..."); :func:`key_shaped` applies
the same rule, more loosely, to values that later stages find after a key.

URL credentials are found here too because the password sits just before an ``@``: were it left
to the email stage, ``s3cr3t@db.example.com`` would be taken for an address.
"""

import re

from agentrun.logic.redaction.model import (
    Candidate,
    EntityType,
    after_placeholder,
    candidate,
)

_WORD = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
TOKEN_CHARS = frozenset(_WORD | {"-"})

# (pattern, characters that must precede it as part of the key ("" for none), characters that
# may not precede the key, whether the key needs a digit). Every pattern starts with a literal,
# which the regex engine finds with a fast substring search.
_PREFIXED: tuple[tuple[re.Pattern[str], str, frozenset[str], bool], ...] = (
    (
        re.compile(
            r"A(?:(?:KIA|SIA|BIA|CCA)[A-Z0-9]{16}(?![A-Za-z0-9]|\[REDACTED:)"
            r"|Iza[A-Za-z0-9_\-]{35}(?![A-Za-z0-9_\-]|\[REDACTED:))"
        ),
        "",
        _WORD,
        False,
    ),
    (
        re.compile(
            r"g(?:h[pousr]_[A-Za-z0-9]{36,255}|ithub_pat_[A-Za-z0-9_]{50,255})"
            r"(?![\w\-]|\[REDACTED:)"
        ),
        "",
        TOKEN_CHARS,
        False,
    ),
    (re.compile(r"xox[abprs]-[A-Za-z0-9\-]{10,250}"), "", TOKEN_CHARS, True),
    # Stripe (sk_live_, rk_live_, test keys too) and OpenAI/Anthropic (sk-, sk-proj-, sk-ant-).
    (
        re.compile(
            r"k(?:_(?:live|test)_[A-Za-z0-9]{16,247}(?![\w\-]|\[REDACTED:)"
            r"|-[A-Za-z0-9_\-]{20,250})"
        ),
        "sr",
        TOKEN_CHARS,
        False,
    ),
)
# The same providers' prefixes with looser lengths: a value that starts like this after a key
# ("password: sk-live-...", "api_key=AKIA...") is a provider key, not a password.
_KEY_SHAPE = re.compile(
    r"(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{12,}|AIza[\w\-]{20,}|gh[pousr]_[A-Za-z0-9]{20,}"
    r"|github_pat_\w{20,}|xox[abprs]-[\w\-]{10,}|[sr]k_(?:live|test)_\w{10,}|sk-[\w\-]{16,}"
)
_AWS_SECRET = re.compile(r"[A-Za-z0-9/+]{40}")
_JWT = re.compile(r"eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*")
_PEM_BEGIN = re.compile(r"-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----")
_PEM_END = re.compile(r"-----END [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----")
_PEM_BODY = re.compile(r"[A-Za-z0-9+/=\s\\:\-,]*")
# After "scheme://": user, ":", password, "@", host. The password runs to the last "@" before
# the path (an unencoded "@" in it is common), and the host must look like one.
_URL_CREDENTIALS = re.compile(
    r"[^\s:/?#@\[\]\"'<>\x00]*:([^\s/?#\"'<>\x00]{1,256})@(?=[A-Za-z0-9\[])"
)
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]{0,30}$")
_MASKED = frozenset("*xX•.")


def key_shaped(value: str, key: str) -> bool:
    """``value``, found after the key ``key`` (lower case), is a provider key or an AWS
    secret access key."""
    return _KEY_SHAPE.fullmatch(value) is not None or (
        ("aws" in key or key.endswith("secret_access_key"))
        and _AWS_SECRET.fullmatch(value) is not None
    )


def scan_tokens(text: str, out: list[Candidate]) -> None:
    for pattern, lead, glue, needs_digit in _PREFIXED:
        for m in pattern.finditer(text):
            s = m.start()
            if lead:
                if s == 0 or text[s - 1] not in lead or (text[s - 1] == "r" and text[s + 1] == "-"):
                    continue
                s -= 1
            if (s > 0 and (text[s - 1] in glue or after_placeholder(text, s))) or (
                (needs_digit or text[s + 2] == "-") and not any(c.isdigit() for c in m.group())
            ):
                continue
            out.append(candidate(s, m.end(), EntityType.API_KEY))
    for m in _JWT.finditer(text):
        s = m.start()
        if s == 0 or not (
            text[s - 1] in TOKEN_CHARS or text[s - 1] == "." or after_placeholder(text, s)
        ):
            out.append(candidate(s, m.end(), EntityType.JWT))
    pos, ends = 0, True
    while (begin := _PEM_BEGIN.search(text, pos)) is not None:
        end = _PEM_END.search(text, begin.end()) if ends else None
        if end is None:  # cut short: the base64 lines that follow
            ends = False  # nor will any later block have an END: do not search again
            body = _PEM_BODY.match(text, begin.end())
            pos = body.end() if body else begin.end()
        else:
            pos = end.end()
        out.append(candidate(begin.start(), pos, EntityType.API_KEY))
    _url_credentials(text, out)


def _url_credentials(text: str, out: list[Candidate]) -> None:
    at = text.find("://")
    while at != -1:
        m = _URL_CREDENTIALS.match(text, at + 3)
        if m is not None and _SCHEME.search(text, max(0, at - 31), at):
            s, e = m.span(1)
            value = text[s:e]
            if not (
                set(value) <= _MASKED
                or value[0] in "$%{<"  # ${DB_PASSWORD}, %(password)s, {password}, <password>
                or "[REDACTED:" in value
            ):
                out.append(candidate(s, e, EntityType.PASSWORD))
        at = text.find("://", at + 3)

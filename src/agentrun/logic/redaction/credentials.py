"""API keys, private keys, JWTs, bearer tokens and ``password=...`` style secrets.

Provider keys are found by their documented prefixes (``AKIA``, ``AIza``, ``ghp_``, ``xoxb-``,
``sk_live_``, ``sk-ant-``...), each a literal the regex engine searches for with a fast substring
scan, so a text without them costs a few microseconds. Key/value secrets are found from their key
(``password``, ``client_secret``, ``api_key``, ``Authorization``...): the key must end with one
of those words, so ``max_tokens=512`` or ``token_count: 3`` are not secrets, and the value is
redacted while the key is kept. A bare hex string (a git SHA, a UUID) is never a key by itself.
"""

import re

from agentrun.logic.redaction.model import (
    PLACEHOLDER_PREFIX,
    Candidate,
    EntityType,
    after_placeholder,
    candidate,
)

_WORD = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_TOKEN_CHAR = frozenset(_WORD | {"-"})

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
        _TOKEN_CHAR,
        False,
    ),
    (re.compile(r"xox[abprs]-[A-Za-z0-9\-]{10,250}"), "", _TOKEN_CHAR, True),
    # Stripe (sk_live_, rk_live_, test keys too) and OpenAI/Anthropic (sk-, sk-proj-, sk-ant-).
    (
        re.compile(
            r"k(?:_(?:live|test)_[A-Za-z0-9]{16,247}(?![\w\-]|\[REDACTED:)"
            r"|-[A-Za-z0-9_\-]{20,250})"
        ),
        "sr",
        _TOKEN_CHAR,
        False,
    ),
)
_JWT = re.compile(r"eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*")
_PEM_BEGIN = re.compile(r"-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----")
_PEM_END = re.compile(r"-----END [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----")
_PEM_BODY = re.compile(r"[A-Za-z0-9+/=\s\\:\-,]*")
_BEARER_TOKEN = re.compile(r"[ \t]+([A-Za-z0-9\-._~+/]+=*)")

# Words searched for, each with the endings that complete it ("pass" + "word").
_KEY_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("pass", ("word", "wd", "phrase")),
    ("pwd", ()),
    ("secret", ()),
    ("token", ()),
    ("key", ()),
    ("authorization", ()),
)
_AFTER_KEY = frozenset({'"', "'", " ", "\t", ":", "=", "\\"})
_KEY_FORMS = tuple(w + e for w, endings in _KEY_WORDS for e in endings or ("",))
_FEW = 32  # up to this many separators, keys are found back from them
_KEY_END = re.compile(
    r"(?:pass(?:word|wd|phrase)|pwd|secret|token|api[_\-]?key|(?:access|private|secret)[_\-]?key"
    r"|authorization)$"
)
_KEY_CHAR = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_.-")
# Separator and value after a key: quoted (JSON, code, escaped JSON inside a string) or bare.
_VALUE = re.compile(
    r"(?:\\?[\"'])?[ \t]*(=>|:=|[:=])[ \t]*(?:"
    r"\"((?:[^\"\\\n\x00]|\\[^\n\x00]){0,1024})\""  # "double quoted"
    r"|'((?:[^'\\\n\x00]|\\[^\n\x00]){0,1024})'"  # 'single quoted'
    r"|\\\"((?:[^\"\\\n\x00]|\\[^\"\n\x00]){0,1024})\\\""  # \"quoted inside a JSON string\"
    r"|([^\s\"'`,;&<>(){}\[\]\x00]{1,1024}))"  # bare (bounded: linear time on any input)
)
_END_OF_CLAUSE = re.compile(r"[ \t]*(?:$|[\r\n,;})\]|&]|[ \t][A-Za-z_][\w.\-]*[ \t]*[:=])")
_NOT_SECRETS = frozenset(
    {"null", "none", "nil", "true", "false", "undefined", "redacted", "required", "optional"}
)
_SCHEMES = ("bearer ", "basic ", "token ", "digest ", "apikey ", "negotiate ")
_AWS_SECRET = re.compile(r"[A-Za-z0-9/+]{40}")
_BARE = 5
_MASKED = frozenset("*xX•.")  # "********", "xxxx": shown masked


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
            text[s - 1] in _TOKEN_CHAR or text[s - 1] == "." or after_placeholder(text, s)
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


def scan_key_values(text: str, out: list[Candidate]) -> None:
    lowered = text.lower()
    if len(lowered) != len(text):  # a few characters lower-case to two; stay aligned
        lowered = "".join(c.lower() if c.isascii() else "?" for c in text)
    _bearers(text, lowered, out)
    # Prose has few separators: looking behind each is cheaper than searching for every word.
    # Both ways give the same keys (a test holds them to it).
    separators = text.count(":")
    if separators <= _FEW:
        separators += text.count("=")
        if not separators:
            return
    keys = key_ends_by_separator(lowered) if separators <= _FEW else key_ends_by_word(lowered)
    done = 0
    for end, at in sorted(keys):
        if at >= done:  # not a key inside the value just found
            done = max(done, _key_value(text, lowered, at, end, out))


def key_ends_by_word(lowered: str) -> set[tuple[int, int]]:
    """(end, start) of every key word followed by what may come before a separator."""
    keys = set()
    for word, endings in _KEY_WORDS:
        at = lowered.find(word)
        while at != -1:
            end = at + len(word)
            if endings:
                end += next((len(e) for e in endings if lowered.startswith(e, end)), -end)
            # Most hits are part of a longer name ("max_tokens", "key_id") or of prose.
            if end > at and lowered[end : end + 1] in _AFTER_KEY:
                keys.add((end, at))
            at = lowered.find(word, at + len(word))
    return keys


def key_ends_by_separator(lowered: str) -> set[tuple[int, int]]:
    """The same keys, found back from each ``:`` and ``=`` over what ``_VALUE`` allows between
    a key and its separator (a quote, maybe escaped, then blanks)."""
    keys = set()
    for separator in ":=":
        p = lowered.find(separator)
        while p != -1:
            q = p
            while q > 0 and lowered[q - 1] in " \t":
                q -= 1
            if q > 0 and lowered[q - 1] in "\"'":
                q -= 1
                if q > 0 and lowered[q - 1] == "\\":
                    q -= 1
            if lowered.endswith(_KEY_FORMS, 0, q):
                form = next(f for f in _KEY_FORMS if lowered.endswith(f, 0, q))
                keys.add((q, q - len(form)))
            p = lowered.find(separator, p + 1)
    return keys


def _bearers(text: str, lowered: str, out: list[Candidate]) -> None:
    at = lowered.find("bearer")
    while at != -1:
        if (at == 0 or not (lowered[at - 1].isalnum() or after_placeholder(text, at))) and (
            m := _BEARER_TOKEN.match(text, at + 6)
        ):
            s, e = m.span(1)
            while e > s and text[e - 1] in ".,":
                e -= 1
            token = text[s:e]
            if len(token) >= 8 and any(c.isdigit() for c in token):
                out.append(candidate(s, e, EntityType.BEARER))
        at = lowered.find("bearer", at + 6)


def _key_value(text: str, lowered: str, at: int, end: int, out: list[Candidate]) -> int:
    """Report the value after the key ending at ``end``; return where the value ends, or 0."""
    m = _VALUE.match(text, end)
    if m is None:
        return 0
    start = at
    while start > 0 and lowered[start - 1] in _KEY_CHAR:
        start -= 1
    key = lowered[start:end].strip(".-_")
    if not _KEY_END.search(key):
        return 0
    group = m.lastindex or 0
    s, e = m.span(group)
    if group == _BARE and e - s > 1 and text[e - 1] in ".," and text[e : e + 1] in ("", " ", "\n"):
        e -= 1  # "password=hunter2." ends a sentence
    low = text[s:e].lower()
    kind = EntityType.PASSWORD
    if group == _BARE and low + " " in _SCHEMES:  # Authorization: Basic dXNlcjpwYXNz
        token = _BEARER_TOKEN.match(text, e)
        if token is None:
            return 0
        s, e = token.span(1)
        low = text[s:e].lower()
        kind = EntityType.BEARER
    elif group == _BARE and (
        (e < len(text) and text[e] in "([")  # a call or subscript in code, not a value
        or (m.group(1) == ":" and not _END_OF_CLAUSE.match(text, e))  # "Password: click here"
    ):
        return 0
    elif key.endswith("authorization") or low.startswith(_SCHEMES):
        kind = EntityType.BEARER
        scheme = next((p for p in _SCHEMES if low.startswith(p)), "")
        s += len(scheme)
        low = low[len(scheme) :]
    elif key.endswith("secret_access_key") and _AWS_SECRET.fullmatch(text, s, e):
        kind = EntityType.API_KEY
    if _placeholder_value(text[s:e], low, key):
        return 0
    out.append(candidate(s, e, kind))
    return e


def _placeholder_value(value: str, low: str, key: str) -> bool:
    """Values that stand for a secret without being one: empty, masked, templated, a path."""
    return (
        not value.strip()
        or PLACEHOLDER_PREFIX in value
        or low in _NOT_SECRETS
        or value[0] in "=$%"
        or set(value) <= _MASKED
        or (value[0] == "<" and value[-1] == ">")
        or (key.endswith("pwd") and value[0] in "/~")  # PWD=/home/...: the working directory
    )

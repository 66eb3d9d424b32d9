"""Secrets known by their name: ``password=...``, ``"client_secret": "..."``, ``pwd: ...``,
"the password is ...", and ``Authorization: Bearer ...`` credentials.

Key/value secrets are found from their key (``password``, ``passwd``, ``pass``, ``pin``,
``client_secret``, ``api_key``, ``Authorization``...): the key must end with one of those words,
so ``max_tokens=512``, ``token_count: 3`` or ``bypass=true`` are not secrets, and the value is
redacted while the key is kept. A value is reported as ``password`` (the name says what it is)
unless its own shape says more: a provider key's prefix makes it an ``api_key`` whatever the key
("password: sk-live-..."), a scheme makes it a ``bearer`` credential. A few other languages'
labels count too (``Passwort``, ``mot de passe``, ``contraseña``, ``senha``, ``пароль``,
``密码``, after a colon that may be full-width); the non-ASCII ones are looked for only in text
that is not all ASCII, so English text pays nothing for them.

Where a value ends depends on how it was written: a quoted value at its closing quote; a bare
value at whitespace, minus sentence punctuation and the quote or bracket that opened the pair
(``(password=x)``, ``'DB_PASSWORD=x'``), and at ``&`` only in a URL query or before the next
``name=`` (``secret=x&grant_type=y``): ``Tr0ub4dor&3`` is one password. Where a value could be
prose ("Password: click the link", "the key is under the mat") it must look like a password.
"""

import re

from agentrun.logic.redaction.entropy import password_shaped, status_word
from agentrun.logic.redaction.keys import key_shaped
from agentrun.logic.redaction.model import (
    PLACEHOLDER_PREFIX,
    Candidate,
    EntityType,
    after_placeholder,
    candidate,
    lower_aligned,
)

_BEARER_TOKEN = re.compile(r"[ \t]+([A-Za-z0-9\-._~+/]+=*)")

# Words searched for, each with the endings that complete it ("pass" + "word"; "" for itself).
_KEY_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # "passwort" (German), "passe" (French "mot de passe") come with the English search
    ("pass", ("word", "wd", "wort", "phrase", "code", "e", "")),
    ("senha", ()),
    ("pwd", ()),
    ("secret", ()),
    ("token", ()),
    ("key", ()),
    ("authorization", ()),
    ("pin", ("code", "")),
)
# Searched for only in text that is not all ASCII.
_KEY_WORDS_INTL: tuple[tuple[str, tuple[str, ...]], ...] = tuple(
    (word, ())
    for word in ("contraseña", "hasło", "lösenord", "пароль", "密码", "パスワード", "비밀번호")
)
_AFTER_KEY = frozenset({'"', "'", " ", "\t", ":", "=", "\\", "\uff1a"})
_KEY_FORMS = tuple(w + e for w, endings in _KEY_WORDS + _KEY_WORDS_INTL for e in endings or ("",))
_FEW = 32  # up to this many separators, keys are found back from them
_SEPARATORS = (":", "=", " is ", " was ", "\uff1a")  # and the full-width colon of CJK text
_KEY_END = re.compile(
    r"(?:pass(?:word|wd|phrase|code)|(?:^|[_.\-])pass|pwd|secret|token|api[_\-]?key"
    r"|(?:access|private|secret)[_\-]?key|authorization|(?:^|[_.\-])pin(?:code)?"
    r"|passwort|(?:^|[_.\-])passe|senha|contraseña|hasło|lösenord|пароль|密码|パスワード"
    r"|비밀번호)$"
)
# "pass" and "pin" alone are also words of other trades ("pass: 3 fail: 0", "pin=13" on a
# board): a pass must not be a number, a PIN must be one of 4 to 8 digits.
_PASS_KEY = re.compile(r"(?:^|[_.\-])passe?$")
_PIN_KEY = re.compile(r"(?:^|[_.\-])pin(?:code)?$")
_PIN = re.compile(r"[0-9]{4,8}")
# Tokens that hand out positions, not access: "next_page_token", "continuation token".
_NOT_SECRET_TOKEN = re.compile(
    r"(?:page|next|continuation|cursor|sync|pagination|paging|cancellation)[ _.\-]?token$"
)
_KEY_CHAR = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_.-")
# Separator and value after a key: quoted (JSON, code, escaped JSON inside a string) or bare.
# A bare value runs to whitespace, a masked span or a placeholder (bounded: linear time).
_VALUE = re.compile(
    r"(?:\\?[\"'])?[ \t]*(=>|:=|[:=\uff1a]|(?<= )(?i:is|was)(?= ))[ \t]*(?:"
    r"\"((?:[^\"\\\n\x00]|\\[^\n\x00]){0,1024})\""  # "double quoted"
    r"|'((?:[^'\\\n\x00]|\\[^\n\x00]){0,1024})'"  # 'single quoted'
    r"|\\\"((?:[^\"\\\n\x00]|\\[^\"\n\x00]){0,1024})\\\""  # \"quoted inside a JSON string\"
    r"|([^\s\"'`{(\[\x00=>](?:[^\s\x00\[]|\[(?!REDACTED:)){0,1023}))"  # bare
)
_BARE = 5
_END_OF_CLAUSE = re.compile(r"[ \t]*(?:$|[\r\n,;})\]|&]|[ \t][A-Za-z_][\w.\-]*[ \t]*[:=])")
_NEXT_PARAM = re.compile(r"[&;,|][A-Za-z_][\w.\-\[\]]*=")
_CLOSING = {"(": ")", "[": "]", "{": "}", "<": ">", '"': '"', "'": "'", "`": "`"}
_OPENING = {")": "(", "]": "[", "}": "{", ">": "<"}
# Code names where the secret is, not the secret: a call or subscript (closed, or left open
# at the end of the line, or on a name no password looks like: "get_password(", "os.environ["),
# a string literal with a prefix (f"..."), an environment lookup.
_CODE = re.compile(
    r"[A-Za-z_][\w.]*(?:\(.*\)|\[.*\]|[(\[{])"
    r"|[A-Za-z]*[_.][\w.]*[(\[].*"
    r"|[rbfuRBFU]{1,2}[\"'].*"
    r"|(?:process\.env|os\.environ|import\.meta\.env|secrets|vault)\.\w.*"
)
_SCHEMES = ("bearer ", "basic ", "token ", "digest ", "apikey ", "negotiate ")
_MASKED = frozenset("*xX•.")  # "********", "xxxx": shown masked


def names_a_secret(key: str) -> bool:
    """``key`` (lower case, as written before a separator) names a secret value."""
    key = key.strip(".-_")
    return _KEY_END.search(key) is not None and not _NOT_SECRET_TOKEN.search(key)


def scan_key_values(text: str, out: list[Candidate]) -> None:
    lowered = lower_aligned(text)
    _bearers(text, lowered, out)
    # Prose has few separators: looking behind each is cheaper than searching for every word.
    # Both ways give the same keys (a test holds them to it).
    separators = text.count(":")
    if separators <= _FEW:
        separators += text.count("=") + lowered.count(" is ") + lowered.count(" was ")
        separators += 0 if text.isascii() else text.count("\uff1a")
        if not separators:
            return
    if separators <= _FEW:
        keys = key_ends_by_separator(lowered)
    else:
        keys = key_ends_by_word(
            lowered, _KEY_WORDS if text.isascii() else _KEY_WORDS + _KEY_WORDS_INTL
        )
    done = 0
    for end, at in sorted(keys):
        if at >= done:  # not a key inside the value just found
            done = max(done, _key_value(text, lowered, at, end, out))


def key_ends_by_word(
    lowered: str, words: tuple[tuple[str, tuple[str, ...]], ...] = _KEY_WORDS + _KEY_WORDS_INTL
) -> set[tuple[int, int]]:
    """(end, start) of every key word followed by what may come before a separator."""
    keys = set()
    for word, endings in words:
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
    """The same keys, found back from each separator over what ``_VALUE`` allows between a key
    and its separator (a quote, maybe escaped, then blanks)."""
    keys = set()
    for separator in _SEPARATORS:
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
                # The longest form: "passcode" rather than the "code"-less "pass" it ends like.
                form = max((f for f in _KEY_FORMS if lowered.endswith(f, 0, q)), key=len)
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
    found = (
        _KEY_END.search(key)
        and not _NOT_SECRET_TOKEN.search(lowered, max(0, start - 16), end)
        and _value_span(text, m, key, text[start - 1 : start])
    )
    if not found:
        return 0
    s, e, kind = found
    value = text[s:e]
    if _placeholder_value(value, key) or not _fits_key(value, key):
        return 0
    if kind is EntityType.PASSWORD and key_shaped(value, key):
        kind = EntityType.API_KEY
    out.append(candidate(s, e, kind))
    return e


def _value_span(
    text: str, m: re.Match[str], key: str, before: str
) -> tuple[int, int, EntityType] | None:
    """The value ``_VALUE`` matched, bounded and typed; None if it is no value after all.
    ``before`` is the character before the key ("" at the start of the text)."""
    group = m.lastindex or 0
    s, e = m.span(group)
    prose = m.group(1)[0] in "iIwW"  # "is", "was"
    if group == _BARE and text[s:e].lower() + " " in _SCHEMES:  # Authorization: Basic dXNl
        token = _BEARER_TOKEN.match(text, e)
        return None if token is None else (*token.span(1), EntityType.BEARER)
    if group == _BARE:
        e = _bare_end(text, s, e, before)
        if not (_PIN_KEY.search(key) or _plausible_bare(text, s, e, m.group(1), prose)):
            return None
    elif prose and status_word(text[s:e]):  # the password is "expired"
        return None
    low = text[s:e].lower()
    if key.endswith("authorization") or low.startswith(_SCHEMES):
        scheme = next((p for p in _SCHEMES if low.startswith(p)), "")
        return s + len(scheme), e, EntityType.BEARER
    return s, e, EntityType.PASSWORD


def _bare_end(text: str, s: int, e: int, before: str) -> int:
    """Where the bare value ``text[s:e]`` (up to whitespace) really ends; ``before`` is the
    character before its key."""
    if before in ("?", "&"):  # a URL query: the value ends at the next parameter or fragment
        e = min((i for i in (text.find("&", s, e), text.find("#", s, e)) if i != -1), default=e)
    elif (param := _NEXT_PARAM.search(text, s, e)) is not None:  # password=x;user=y
        e = param.start()
    closing = _CLOSING.get(before)
    if closing is not None and (i := text.find(closing, s, e)) != -1:  # (password=x)
        e = i
    while e - s > 1:
        c = text[e - 1]
        if c in ".,;:":  # sentence punctuation
            e -= 1
        elif c in _OPENING and text.count(c, s, e) > text.count(_OPENING[c], s, e):
            e -= 1  # closes a bracket opened before the key
        elif c in "\"'`" and text.count(c, s, e) % 2:
            e -= 1  # closes a quote opened before the key ("note": "password=x")
            if e - s > 1 and text[e - 1] == "\\":
                e -= 1
        else:
            break
    return e


def _plausible_bare(text: str, s: int, e: int, separator: str, prose: bool) -> bool:
    """A bare value, as opposed to code, or to prose that follows a key word (a PIN is
    judged by ``_fits_key`` alone)."""
    value = text[s:e]
    if not value or _CODE.fullmatch(value):
        return False
    if prose or (not value.isascii() and any(c >= "\u3000" for c in value)):
        # "the password is hunter2", not "the password is incorrect"; CJK has no spaces, so
        # a "value" there is the rest of the sentence (after "密码", "please change it in the
        # settings") unless it looks like a password.
        return password_shaped(value)
    # "Password: click the link below" is a heading, "pwd: hunter2 (rotated)" a password.
    return (
        separator not in (":", "\uff1a")
        or bool(_END_OF_CLAUSE.match(text, e))
        or password_shaped(value)
    )


def _fits_key(value: str, key: str) -> bool:
    if _PIN_KEY.search(key):
        return _PIN.fullmatch(value) is not None
    if _PASS_KEY.search(key):
        return not value.isdigit()
    return True


def _placeholder_value(value: str, key: str) -> bool:
    """Values that stand for a secret without being one: empty, masked, templated, a path, or
    the variable of the same name in code (``token=token``, ``"password": password``)."""
    return (
        not value.strip()
        or _same_name(value.lower(), key)
        or not any(c.isalnum() for c in value)  # "-", "&", "?"
        or PLACEHOLDER_PREFIX in value
        or status_word(value)
        or value[0] in "=$%{"
        or set(value) <= _MASKED
        or (value[0] == "<" and value[-1] == ">")
        or (key.endswith("pwd") and value[0] in "/~")  # PWD=/home/...: the working directory
    )


def _same_name(low: str, key: str) -> bool:
    return low == key or key.endswith(("_" + low, "." + low, "-" + low))

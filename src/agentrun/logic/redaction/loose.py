"""Secrets in prose: a long random token a few words from a secret word, with no key before it.

"The key 9fK2...x7Q leaked", "rotate the secret, it is still vD3k...", "9fK2...x7Q was
exposed in the logs": no provider prefix and no ``name=value`` says what the token is, but a
secret word nearby (key, token, secret, password, credentials, leaked, exposed, rotated,
revoked...) and a random shape (:func:`~agentrun.logic.redaction.entropy.looks_random`) together
do. A token is looked for up to ~40 characters after such a word or ~24 before it, on its line.

This stage runs before the key/value stage and leaves it the tokens that follow a secret's key
and separator ("token: ...", reported there as a password). It is kept precise by what it
refuses: a word qualified as not secret ("public key", "idempotency key", "page token"), a
token labelled as a digest or an id ("sha256:", "commit", "order", "tracking"), a token in a
URL, a path, a host name, a file name or an email address, and every shape
:func:`looks_random` rejects (hex, UUIDs, slugs, identifiers, base64 text or images). Found
tokens are ``password`` after a password word and ``api_key`` otherwise.

It runs before the key/value stage because that one bounds a value by what follows it: a token
replaced here must already be masked there, in the first pass as in a second. And this stage's
own context may hold a value the key/value stage replaces later, so every context it judges by
only ever shrinks in a second pass: windows stop at a line break, a masked span and a
placeholder (as ``model.context_before`` does), and no token or word is judged next to a masked
span or a placeholder, which may hide a qualifier, a label or a key. A second pass over
redacted text thus finds nothing the first did not.
"""

import re

from agentrun.logic.redaction.credentials import names_a_secret
from agentrun.logic.redaction.entropy import MAX_RANDOM, MIN_RANDOM, looks_random
from agentrun.logic.redaction.model import (
    MASK,
    PLACEHOLDER_PREFIX,
    Candidate,
    EntityType,
    after_placeholder,
    before_placeholder,
    candidate,
    context_before,
    lower_aligned,
)

# A digest that carries its label in the token ("sha384-oqVu..." in an integrity attribute).
_LABELLED = re.compile(r"(?i:sha\d*|md5|blake\d*\w*)[-_:]")
_TOKEN_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-"
# Characters a token is glued to (the "=" of padding only ends one).
_TOKEN_CHARS = frozenset(_TOKEN_ALPHABET.decode())
# One byte a character: 1 for a token character, 0 for anything else (non-ASCII included).
_SHAPE = bytes(1 if b in _TOKEN_ALPHABET else 0 for b in range(256))
_RUN = b"\x01" * MIN_RANDOM
_WORDS = re.compile(r"key|token|secret|pass|pwd|cred|leak|expos|compromis|rotat|revok")
_WORD = re.compile(
    r"(?:keys?|tokens?|secrets?|pass(?:words?|wd|phrases?|codes?)|pwd|credentials?|creds"
    r"|leak(?:s|ed|ing|age)?|exposed?|compromised?|rotated?|revoked?)(?![a-z])"
)
_QUALIFIERS = frozenset(
    {
        "public", "publishable", "primary", "foreign", "idempotency", "cache", "caching",
        "partition", "sort", "object", "page", "paging", "pagination", "continuation", "cursor",
        "next", "routing", "dedup", "dedupe", "deduplication", "lookup", "composite", "unique",
        "index", "hash", "sharding", "shard", "map", "dictionary", "row", "range", "sequence",
        "bucket", "registry", "ssh", "gpg", "pgp", "host",
    }
)  # fmt: skip
_PREVIOUS_WORD = re.compile(r"([a-z0-9]+)[ \t_\-]*$")
# Labels that make the token after them a digest, a public key, a blob or an id (of a
# business object too: "charge ch_3Nq9...", "customer cus_...").
_LABEL = re.compile(
    r"(?:sha\d*|md5|blake\d*\w*|hash|digest|checksum|fingerprint|etag|integrity|commit|rev"
    r"|uuid|guid|(?<![a-z])id|ids|ref|order|tracking|sku|isbn|serial|build|version|trace"
    r"|span|request|nonce|salt|base64|ssh-[a-z0-9]+|ecdsa-[\w\-]+|slug|path|file|url"
    r"|charge|payment|invoice|customer|transaction|txn|event|refund|subscription|product"
    r"|price|record|object|message|thread)"
    r"[^a-z0-9]{0,3}$"
)
# A path: directories named in lower case ("/var/lib/app/", "~/keys/", "src/app/"). Base64
# holds a "/" anywhere, but seldom after lower-case-only segments.
_PATH = re.compile(r"~?/[a-z0-9._\-]+/|~?/?(?:[a-z0-9._\-]+/){2}")
_HEX_ID = re.compile(r"[0-9a-fA-F\-]+")  # SHAs, digests, UUIDs, trace ids
# A key and separator just before a token: the key/value stage's to report.
_NAMED = re.compile(
    r"([a-z0-9_.\-]+)\\?[\"']?[ \t]*(?:=>|:=|[:=\uff1a]|[ ](?:is|was)[ ])[ \t]*\\?[\"']?$"
)
_NAMED_TAIL = re.compile(r"\\?[\"']?[ \t]*(?:=>|:=|[:=\uff1a]|[ ]?(?:is|was)[ ])[ \t]*\\?[\"']?")
_NAMED_CONTEXT = 48
# The rest of the whitespace-delimited word before and after a token.
_WORD_AFTER = re.compile(r"\S*")
_CHUNK = 256
_AFTER = 40  # how far after the end of a secret word a token may start
_BEFORE = 24  # how far before the start of a word a token may end
_LONGEST_WORD = 12
_CONTEXT = 24


def scan_loose_secrets(text: str, out: list[Candidate]) -> None:
    # Long runs of token characters are few (ids, hashes, URLs), secret words many: find the
    # runs with one substring search over a byte shape of the text, then look around them.
    shape = text.encode("ascii", "replace").translate(_SHAPE)
    lowered = ""
    p = shape.find(_RUN)
    while p != -1:
        e = shape.find(0, p + MIN_RANDOM)
        e = len(text) if e == -1 else e
        while e < len(text) and text[e] == "=" and e - p < MAX_RANDOM:  # base64 padding
            e += 1
        if _stands_free(text, p, e):
            if not lowered:
                lowered = lower_aligned(text)
            # Ids look random too: the word is asked about first, being the cheaper question.
            kind = _secret_word(text, lowered, p, e)
            if kind is not None and _random_secret(text, p, e):
                out.append(candidate(p, e, kind))
        p = shape.find(_RUN, e)


def _secret_word(text: str, lowered: str, s: int, e: int) -> EntityType | None:
    """The type a secret word near ``text[s:e]`` gives it: a word ending at most ``_AFTER``
    characters before it, else one starting at most ``_BEFORE`` after it, with no line break,
    masked span or placeholder between; None without one."""
    before = after = None
    lo, hi = max(0, s - _AFTER - _LONGEST_WORD), e + _BEFORE + _LONGEST_WORD
    for m in _WORDS.finditer(lowered, lo, hi):  # one search: most tokens have no word near
        at = m.start()
        if at < s:
            word = _WORD.match(lowered, at, s)
            if (
                word is not None
                and word.end() >= s - _AFTER
                and not any(text.find(c, at, s) != -1 for c in ("\n", "]", MASK))
                and _stands_alone(text, lowered, at)
            ):
                before = m
        elif (
            e <= at <= e + _BEFORE
            and after is None
            and _WORD.match(lowered, at) is not None
            and _cut_forward(text, e, at) == at
            and _stands_alone(text, lowered, at)
        ):
            after = m
    nearest = before or after
    if nearest is None:
        return None
    return EntityType.PASSWORD if nearest.group() in ("pass", "pwd") else EntityType.API_KEY


def _stands_alone(text: str, lowered: str, at: int) -> bool:
    """The word at ``at`` starts a word ("monkey" does not hold "key", "apiKey" and
    "access_token" do), is not inside a placeholder, and is not qualified as not secret (nor
    right after a masked span, which may hide a qualifier)."""
    if _hidden_before(text, at):
        return False
    if at > 0:
        before = text[at - 1]
        if before.isalpha() and not (
            (before.islower() and text[at].isupper()) or lowered.endswith("api", 0, at)
        ):
            return False
        opening = lowered.rfind("[redacted:", max(0, at - 16), at)
        if opening != -1 and "]" not in lowered[opening:at]:
            return False
    previous = _PREVIOUS_WORD.search(context_before(text, at, _CONTEXT))
    return previous is None or previous.group(1) not in _QUALIFIERS


def _cut_forward(text: str, start: int, end: int) -> int:
    for stop in (text.find("\n", start, end), text.find(MASK, start, end)):
        if stop != -1:
            end = stop
    stop = text.find(PLACEHOLDER_PREFIX, start, end)
    return end if stop == -1 else stop


def _stands_free(text: str, s: int, e: int) -> bool:
    """``text[s:e]`` is a token of its own: not hex, a path or a slug, nor part of a host
    name, a file name or a placeholder."""
    token = text[s:e]
    if (
        len(token) > MAX_RANDOM
        or _PATH.match(token)
        or _HEX_ID.fullmatch(token)
        or token.count("-") + token.count("_") > max(2, len(token) // 8)  # a slug (see entropy)
    ):
        return False
    before = text[s - 1] if s > 0 else " "
    after = text[e] if e < len(text) else " "
    return not (
        after_placeholder(text, s)
        or before_placeholder(text, e)
        or (before == "." and s > 1 and text[s - 2].isalnum())  # host.name or file.name
        or (after == "." and text[e + 1 : e + 2].isalnum())
    )


def _random_secret(text: str, s: int, e: int) -> bool:
    """Random in shape; neither in a URL or an email address nor labelled as a digest or an
    id; and not the value of a secret's key ("token: ..."), which the key/value stage reports
    as a password."""
    if _hidden_before(text, s) or not looks_random(text[s:e]):
        return False
    chunk = _word_before(text, s)
    if "://" in chunk or "www." in chunk or "]" in chunk or MASK in chunk:  # part of a URL
        return False
    # In one word with an "@", it is (part of) an address, or glued to one: the email stage's.
    # A placeholder in its word may hide such an "@" (or anything): then it is not judged.
    tail = _WORD_AFTER.match(text, e, e + _CHUNK)
    after = "" if tail is None else tail.group()
    if "@" in chunk or "@" in after or MASK in after or PLACEHOLDER_PREFIX in after:
        return False
    context = context_before(text, s, _NAMED_CONTEXT)
    named = _NAMED.search(context)
    if named is not None and names_a_secret(named.group(1)):
        return False
    cut = s - len(context)
    if cut > 0 and text[cut - 1] in ("]", MASK) and _NAMED_TAIL.fullmatch(context):
        return False  # the key may be what a placeholder hides
    return not (_LABEL.search(context[-_CONTEXT:]) or _LABELLED.match(text, s, e))


def _word_before(text: str, i: int) -> str:
    """What lies between the last blank before ``i`` and ``i``."""
    lo = max(0, i - _CHUNK)
    return text[
        max(text.rfind(" ", lo, i), text.rfind("\n", lo, i), text.rfind("\t", lo, i), lo - 1)
        + 1 : i
    ]


def _hidden_before(text: str, i: int) -> bool:
    """A masked span or a placeholder (or any "]") ends before ``i`` with only blanks and
    symbols between. What it replaced may have been a qualifier, a label or a key, so nothing
    is judged next to it: the first pass, which saw that text, then never reports what a
    second pass, which sees the placeholder, would not."""
    j = i
    while j > 0 and i - j < _NAMED_CONTEXT and not text[j - 1].isalnum():
        if text[j - 1] in ("]", MASK):
            return True
        j -= 1
    return False

"""Does a string look like a secret? Shape tests for values that carry no provider prefix.

Two questions, asked only about strings that already stand next to a secret word, so their cost
is paid a few times per text at most:

- :func:`looks_random`: a long token (20+ characters) that a machine drew at random, as opposed
  to the long tokens that fill logs and reports: git SHAs and digests (hex), UUIDs, order and
  tracking numbers (one long run of digits after a word), slugs (words between dashes),
  identifiers (camelCase words) and base64 that decodes to text, an image or a public key.
  Thresholds were set on random tokens of every common alphabet (62 characters, lower case and
  digits, base32, base64, base64url): at 32 characters and more fewer than 1 in 200 is rejected;
  at 20-24 characters a few in 100 are (too few characters to tell a random token from an id).
- :func:`password_shaped`: a short value that is probably a password rather than a word of the
  sentence ("pwd: hunter2 (rotated)" against "Password: click the link").

Pure functions of their argument: no clock, no randomness, safe in workflow code.
"""

import binascii
import math
import re
from base64 import b64decode
from collections import Counter

MIN_RANDOM = 20
MAX_RANDOM = 512
_DIGITS = "0123456789"
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_LOWER = _UPPER.lower()
# What is left of a token without its separators (``-_./+=``), and the kind of each character.
_SEPARATORS = re.compile(r"[^A-Za-z0-9]+")
_KINDS = str.maketrans(_DIGITS + _UPPER + _LOWER, "0" * 10 + "A" * 26 + "a" * 26)
_SAME_KIND = re.compile(r"0+|A+|a+")
_HEX = re.compile(r"[0-9a-fA-F]+")
# Words of an identifier or a sentence written without spaces: "getUserById", "ORDER2024".
_CHUNK = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")
_MIN_ENTROPY = 0.7  # share of the most a string of its length and alphabet can have
_MAX_CHUNK = 3.0  # mean chunk length above which a mixed-case token is made of words
_MIN_MIXING = 0.5  # share of the class changes a random string of that make-up would have
_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}|[A-Za-z0-9_\-]+={0,2}")
# What base64 can carry that is no secret: images, documents, archives, SSH public keys and
# DER-encoded certificates and public keys.
_MAGIC = (
    b"\x89PNG",
    b"\xff\xd8\xff",
    b"GIF8",
    b"%PDF",
    b"PK\x03\x04",
    b"RIFF",
    b"\x00\x00\x00\x07ssh-",
    b"\x00\x00\x00\x0bssh-",
    b"\x00\x00\x00\x13ecdsa-",
    b"0\x82",
    b"0Y0\x13",
)
_K_LOG_K = tuple(k * math.log2(k) if k else 0.0 for k in range(MAX_RANDOM + 1))
_PRINTABLE = frozenset(range(0x20, 0x7F)) | {0x09, 0x0A, 0x0D}
_TEXT_SHARE = 0.85


def looks_random(token: str) -> bool:
    """``token`` (letters, digits and at most a few of ``-_./+=``) as a random secret."""
    if not MIN_RANDOM <= len(token) <= MAX_RANDOM:
        return False
    joined = token if token.isalnum() else _SEPARATORS.sub("", token)
    n = len(joined)
    # Random tokens have a separator in 32 characters or so; slugs and versions one in 5.
    if n < MIN_RANDOM - 2 or len(token) - n > max(2, len(token) // 8):
        return False
    if _HEX.fullmatch(joined):  # SHAs, digests, UUIDs, trace ids: never a secret by shape
        return False
    kinds = joined.translate(_KINDS)  # "0" for a digit, "A" for a capital, "a" for the rest
    shares = [k for k in (kinds.count("0"), kinds.count("A"), kinds.count("a")) if k]
    # One kind alone is a long word or a long number.
    return len(shares) > 1 and _well_mixed(joined, kinds, shares) and not _benign_base64(token)


def _well_mixed(joined: str, kinds: str, shares: list[int]) -> bool:
    """Entropy near the most a string of this length and alphabet can have, and kinds of
    characters that alternate the way random draws do rather than the way words do."""
    n = len(joined)
    alphabet = 10 * ("0" in kinds) + 26 * ("A" in kinds) + 26 * ("a" in kinds)
    # Shannon entropy in bits a character: log2(n) - sum(k log2 k) / n over the counts k.
    entropy = math.log2(n) - sum(_K_LOG_K[k] for k in Counter(joined).values()) / n
    if entropy < _MIN_ENTROPY * math.log2(min(n, alphabet)):
        return False
    if "A" in kinds and "a" in kinds:
        # Mixed case: words start with a capital ("TokenRefreshHandler2"), random text does not
        # keep to that, so its chunks are short.
        return n / len(_CHUNK.findall(joined)) < _MAX_CHUNK
    # One case and digits: an id is a word and a number ("ORDER20240314000123"); random text
    # changes between letters and digits about as often as their shares predict.
    expected = 1 - sum((k / n) ** 2 for k in shares)
    changes = len(_SAME_KIND.findall(kinds)) - 1
    return changes >= _MIN_MIXING * expected * (n - 1)


def _benign_base64(token: str) -> bool:
    """Base64 that decodes to mostly printable text or to a known file or key format."""
    if not _BASE64.fullmatch(token) or len(token.rstrip("=")) % 4 == 1:
        return False
    body = token.rstrip("=")
    padded = body + "=" * (-len(body) % 4)
    try:
        if "-" in body or "_" in body:
            data = b64decode(padded, altchars=b"-_", validate=True)
        else:
            data = b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return False
    if data.startswith(_MAGIC):
        return True
    return sum(b in _PRINTABLE for b in data) >= _TEXT_SHARE * len(data)


# Words a value after "password:" or "password is" may be without being a password.
_STATUS_WORDS = frozenset(
    {
        "n/a", "tbd", "unknown", "unset", "hidden", "masked", "redacted", "required",
        "optional", "invalid", "incorrect", "wrong", "expired", "missing", "empty", "set",
        "reset", "changed", "correct", "valid", "weak", "strong", "blank", "same", "ok",
        "none", "null", "nil", "true", "false", "yes", "no", "fail", "failed", "passed",
        "skipped", "disabled", "enabled", "locked", "undefined", "not",
    }
)  # fmt: skip
_MIN_PASSWORD = 4


def status_word(value: str) -> bool:
    return value.lower() in _STATUS_WORDS


def password_shaped(value: str) -> bool:
    """A value that mixes what a password policy asks for: letters and digits, or a symbol
    with them. A word of prose has neither, nor has a name in code (``cli_keys.ApiKeyOpt``: the
    type after ``api_key:``), and a number alone (a count, a length) is no password either when
    nothing else says it is."""
    if len(value) < _MIN_PASSWORD or status_word(value):
        return False
    letters = any(c.isalpha() for c in value)
    digits = any(c.isdigit() for c in value)
    symbols = any(not c.isalnum() and c not in "-'._" for c in value)
    return (letters and digits) or (symbols and (letters or digits))

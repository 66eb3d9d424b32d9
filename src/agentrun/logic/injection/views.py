"""Ways of reading one text so that a disguised instruction reads as a plain one.

Every view is pure string work on tables built at import time (Temporal's workflow sandbox
runs the screen: no I/O at call time). The base view folds what Unicode itself says is the same
letter (NFKC: full-width and mathematical letters; accents and zalgo marks stripped) and drops
invisible characters. The other views are *additional*: each is screened only when it turns up
a word that matters (:data:`VOCAB`) the base view did not have, so ordinary text, Chinese or
Russian included, pays for one pass.

- skeleton: Cyrillic and Greek letters that look Latin read as Latin (Unicode's confusables
  table, from ``confusable-homoglyphs``). A transliteration (Cyrillic "er" -> "r") would be
  wrong here: the attack relies on how a letter looks, not on how it sounds.
- leet: "1gn0r3 4ll pr3v10us" -> "ignore all previous", only inside words that mix letters
  and digits, so order numbers stay numbers.
- joined: "i g n o r e  a l l", "i.g.n.o.r.e", "ig-nore" -> "ignore all"; a run spaced with
  no gap between words ("i g n o r e a l l") becomes one squashed token for :data:`SQUASHED`.
- values: JSON keys (lines that are one identifier) dropped, so an instruction split across
  fields reads as one sentence.
- reversed: text inside a right-to-left override, which shows reversed.
- rot13, and the text read backwards.
"""

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable

from confusable_homoglyphs import confusables  # type: ignore[import-untyped]

from agentrun.logic.injection.rules import Spec


def _invisible() -> dict[int, None]:
    """Format characters (zero-width, bidi controls, soft hyphen, tags) and variation
    selectors: they change nothing a reader sees, so a screen must not see them either."""
    chars = [c for c in range(0x10000) if unicodedata.category(chr(c)) == "Cf"]
    chars += [*range(0xE0000, 0xE0080), *range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0)]
    chars += [0x034F, 0x180B, 0x180C, 0x180D, 0x180F]
    return dict.fromkeys(chars)


def _skeleton() -> dict[int, str]:
    """Each non-ASCII letter Unicode calls confusable with one ASCII letter or digit -> that
    character, lower case. A capital takes its small letter's mapping where there is one:
    Cyrillic capital "I" (U+0406) is listed as confusable with "l", its small letter with "i"."""
    data = confusables.confusables_data
    table: dict[int, str] = {}
    for char in data:
        if len(char) != 1 or char.isascii():
            continue
        small = char.lower()
        for source in (small, char) if small != char else (char,):
            targets = sorted(
                e["c"].lower()
                for e in data.get(source, ())
                if len(e["c"]) == 1 and e["c"].isascii() and e["c"].isalnum()
            )
            if targets:
                table[ord(char)] = targets[0]
                break
    return table


INVISIBLE = _invisible()
SKELETON = _skeleton()
TAG_CHARS = re.compile("[\U000e0000-\U000e007f]")
# Eight or more invisible characters in a row carry data (zero-width or variation-selector
# steganography); emoji sequences and stray joiners never come in runs.
INVISIBLE_RUN = re.compile(
    "[\u034f\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff"
    "\ufe00-\ufe0f\U000e0100-\U000e01ef]{8,}"
)
_MARKS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_SHARP_S = str.maketrans({"ß": "ss", "ẞ": "SS"})
_ROT13 = str.maketrans(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "nopqrstuvwxyzabcdefghijklmNOPQRSTUVWXYZABCDEFGHIJKLM",
)
_LEET = str.maketrans(
    {
        "4": "a",
        "8": "b",
        "3": "e",
        "1": "i",
        "0": "o",
        "5": "s",
        "$": "s",
        "7": "t",
        "+": "t",
        "9": "g",
    }
)
# Words mixing letters with digits; once one of them reads as a word of note, short numbers
# too ("70" for "to"). "@" stays, or every e-mail address would break.
_TOKEN = re.compile(r"[a-z0-9$+]+")
_LEET_WORD = re.compile(
    r"(?:[a-z$]+[0-9+]|[0-9]+[a-z$])[a-z0-9$+]*|(?<![\w.,:/-])[0-9]{1,3}(?![\w.,:/-])"
)
_NON_ASCII_WORD = re.compile(r"\w*[^\x00-\x7f]\w*")
_SEP = r"[ \t.\-_*|/\\·•~+,:@]"
_SPACED = re.compile(rf"(?<![^\W_])[^\W_](?:{_SEP}{{1,7}}[^\W_](?![^\W_])){{3,}}")
# What a gap between spaced letters keeps once the usual separator is gone: the punctuation of
# an address ("d u m p @ e v i l . e x a m p l e"); any other gap is a space between words.
_KEPT = frozenset({".", "@", ":", "//", "://"})
_SEP_CHUNK = re.compile(rf"{_SEP}+")
_INNER_SEP = re.compile(r"[-_·*|](?<=[^\W\d_].)(?=[^\W\d_])")  # not ".": it joins addresses
_LETTERS_BEFORE = re.compile(r"[^\W\d_]{1,40}$")
_LETTERS_AFTER = re.compile(r"[^\W\d_]{1,40}(?:[-_·*|][^\W\d_]{1,40})*")
_SPACED_HINT = re.compile(rf"[^\W_]{_SEP}{{1,7}}[^\W_]{_SEP}{{1,7}}[^\W_]{_SEP}{{1,7}}[^\W_]")
_KEY_LINE = re.compile(r"^[^\W\d][\w.-]{0,39}\n", re.MULTILINE)
_RLO = re.compile("\u202e([^\u202c\n]*)")
_WORD = re.compile(r"[a-z]+")

# Words whose appearance makes a derived view worth a screening pass.
VOCAB = frozenset(
    [
        "ignore",
        "ignoring",
        "disregard",
        "forget",
        "override",
        "bypass",
        "previous",
        "prior",
        "above",
        "earlier",
        "instructions",
        "instruction",
        "rules",
        "prompt",
        "prompts",
        "system",
        "reveal",
        "print",
        "developer",
        "mode",
        "unrestricted",
        "jailbreak",
        "jailbroken",
        "assistant",
        "ai",
        "llm",
        "pretend",
        "now",
        "you",
        "your",
        "send",
        "forward",
        "email",
        "upload",
        "customer",
        "customers",
        "data",
        "records",
        "conversation",
        "history",
        "passwords",
        "password",
        "credentials",
        "secret",
        "secrets",
        "token",
        "tokens",
        "api",
        "keys",
        "hidden",
        "tool",
        "function",
        "call",
        "invoke",
        "refund",
        "transfer",
        "approve",
        "admin",
        "exfiltrate",
        "guidelines",
        "directives",
        "restrictions",
        "policy",
        "policies",
        "context",
        "dan",
        "inst",
        "sys",
        "role",
        "content",
        "output",
        "dump",
        "leak",
        "disable",
        "unfiltered",
        "everything",
        "commands",
    ]
)
ROT13_STEMS = (
    "ignore", "disregard", "instruction", "system", "prompt", "reveal", "developer", "jailbr",
    "assistant", "previous", "exfiltrat", "override", "password", "customer", "unrestricted",
)  # fmt: skip


def fold(text: str) -> str:
    """The base view: Unicode-equivalent letters folded, invisible characters and accents
    dropped (patterns for other languages are folded alike, so they match either spelling)."""
    if text.isascii():
        return text
    text = unicodedata.normalize("NFKC", text.translate(INVISIBLE))
    if not text.isascii():
        text = unicodedata.normalize("NFC", _MARKS.sub("", unicodedata.normalize("NFD", text)))
    return text.translate(_SHARP_S)


def skeleton(text: str) -> str | None:
    """Lower-cased, look-alike letters read as Latin; None when no new word of note appears.
    Mapped before NFKC, which would turn some look-alikes (Greek lunate sigma) into others."""
    plain = text.translate(INVISIBLE)
    changed = [w.translate(SKELETON).lower() for w in _NON_ASCII_WORD.findall(plain)]
    if not any(_notable(w) or _notable(w.translate(_LEET)) for w in changed):
        return None
    return fold(plain.translate(SKELETON)).lower()


def leet(lowered: str) -> str | None:
    mixed = (t for t in _TOKEN.findall(lowered) if not t.isalpha() and not t.isdigit())
    if not any(_notable(t.translate(_LEET), 5) for t in mixed):
        return None
    return _LEET_WORD.sub(lambda m: m.group().translate(_LEET), lowered)


def joined(lowered: str) -> tuple[str | None, list[str]]:
    """The text with spaced and separated letters joined, or None when that makes no word of
    note; and the runs that were spaced throughout, squashed to letters, for :data:`SQUASHED`."""
    found: list[str] = []
    squashed: list[str] = []

    def join_run(match: re.Match[str]) -> str:
        run = match.group()
        chunks = _SEP_CHUNK.findall(run)
        usual = Counter(chunks).most_common(1)[0][0]
        word = _SEP_CHUNK.sub(lambda m: _gap(m.group(), usual), run)
        if " " not in word:
            squashed.append("".join(c for c in word if c.isalnum()))
        found.extend(word.split())
        return word

    view = _SPACED.sub(join_run, lowered) if _SPACED_HINT.search(lowered) else lowered
    inner = [_inner_word(view, m.start()) for m in _INNER_SEP.finditer(view)]
    if any(_notable(w, 5) for w in inner):
        view = _INNER_SEP.sub("", view)
        found.extend(inner)
    return (view if any(_notable(w, 5) for w in found) else None), squashed


def _inner_word(text: str, at: int) -> str:
    """The word a separator at ``at`` cuts ("ig-nore"), separators dropped."""
    before = _LETTERS_BEFORE.search(text, max(0, at - 40), at)
    after = _LETTERS_AFTER.match(text, at + 1)
    word = (before.group() if before else "") + (after.group() if after else "")
    return _INNER_SEP.sub("", word.replace("-", "").replace("_", ""))


def _gap(chunk: str, usual: str) -> str:
    if chunk == usual:
        return ""
    core = "".join(c for c in chunk if not c.isspace() and c not in usual)
    return core if core in _KEPT else " "


def values(lowered: str) -> str | None:
    """Without the lines that are a single identifier (JSON keys as ``screened_text`` lays
    them out) unless the identifier is a word of note ("system", "prompt" may be values), or
    None when there are none or fewer than three lines."""
    if lowered.count("\n") < 2:
        return None
    view = _KEY_LINE.sub(lambda m: m.group() if _notable(m.group()[:-1]) else "", lowered)
    return view if view != lowered else None


def reversed_runs(text: str) -> str | None:
    """Text inside a right-to-left override, reversed as it shows; None when there is none."""
    if "\u202e" not in text:
        return None
    return fold(_RLO.sub(lambda m: m.group(1)[::-1], text)).lower()


def rot13(lowered: str) -> str | None:
    view = lowered.translate(_ROT13)
    return view if any(stem in view for stem in ROT13_STEMS) else None


def backwards(lowered: str) -> str | None:
    """The whole text read from its end ("snoitcurtsni suoiverp lla erongi")."""
    view = lowered[::-1]
    return view if any(stem in view for stem in ROT13_STEMS) else None


def _notable(word: str, shortest: int = 1) -> bool:
    """A word of note; ``shortest`` keeps ids that happen to read "ai" or "api" out."""
    if len(word) < shortest:
        return False
    return word in VOCAB or word.startswith(("instruct", "ignor", "exfiltrat"))


def words(text: str) -> Iterable[str]:
    return _WORD.findall(text)


_AFTER_VERB = r"(?:all|any|the|your|every|of|previous|prior|above|earlier|system|safety|these|my)*"
# Patterns for runs spaced with no gap between words ("i g n o r e a l l p r e v i o u s"):
# letters only, no separators, so each is a whole phrase to keep the rate of chance hits low.
# fmt: off
SQUASHED: tuple[Spec, ...] = (
    (
        "override",
        rf"(?:ignore|disregard|forget|bypass|override){_AFTER_VERB}(?:instructions?|rules|prompts?|directives|guidelines|restrictions)",
        ("ignore", "disregard", "forget", "bypass", "override"),
    ),
    (
        "role",
        r"youarenow(?:in)?(?:developer|god|dan|unrestricted|admin|jailbreak)|developermode|jailbr(?:eak|oken)|doanythingnow",
        ("now", "mode", "jailbr"),
    ),
    (
        "system_prompt",
        r"(?:reveal|print|show|output|repeat|leak|tellme)(?:me)?(?:your|the)(?:system|hidden|secret|initial|original)?(?:prompt|instructions)|systemprompt",
        ("prompt", "instructions"),
    ),
    (
        "exfiltration",
        r"(?:send|forward|email|upload|post)(?:all|the|every)*(?:customer|user|client)?(?:records|data|conversation|history|passwords|credentials|emails)",
        ("send", "forward", "email", "upload", "post"),
    ),
)
# fmt: on

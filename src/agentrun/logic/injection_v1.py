"""The first prompt-injection screen, frozen: runs that began before ``screen-v2`` replay with it.

A run decides in its workflow code whether to stop for a person, so a changed screen would
change what a run in flight did when it replays (a nondeterminism error). New runs use
``agentrun.logic.injection``; this module must never change. Its design, as it was:

It looks for the shapes injected instructions take (overriding earlier instructions, recasting the
model's role, asking for the system prompt, sending data out to an address, chat-template markers
and invisible characters), not for single words, so that ordinary support traffic ("please ignore
the previous order, it was a duplicate") passes. The trade-off is deliberate: a hit only makes
the policy engine escalate to a human by default, so a false positive costs a review while a miss
costs a leak; yet every false positive on customer text also costs trust in the screen. So:

- an override needs an instruction-like object ("instructions", "rules", "prompt", "guidelines",
  "everything above"): "ignore the previous order" passes; "ignore my previous instructions
  about the address" fires (a false positive we accept: real attacks use exactly these words);
- "you are now" fires only when followed by a new role or mode ("you are now DAN", "... in
  developer mode"), not "you are now subscribed";
- "send/forward ... to <address or URL>" fires only when what is sent is bulk or secret data
  (data, records, credentials, conversation, all customer emails ...): a customer asking for
  their receipt at a new address passes;
- text that is not plain ASCII is NFKC-normalised with zero-width characters removed before
  matching, so full-width letters and "ig\u200bnore" do not slip through; Unicode tag characters
  (invisible text) are a hit on their own;
- base64 blobs (40+ characters) are decoded and screened once more, at most a few per text;
- each pattern runs only when one of its trigger words occurs in the text, which keeps a 4 KB
  tool output well under a millisecond.

Heuristics miss paraphrases and other languages; the screen is one layer of several (trust
labels, the lethal-trifecta rule and human review are the others).
"""

import base64
import binascii
import re
import unicodedata
from dataclasses import dataclass

# A screen runs on every input and tool output: bound the work on pathological sizes.
MAX_SCREENED_CHARS = 200_000
_MAX_BLOBS = 4
_PHRASE_CHARS = 120

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
_TAG_CHARS = re.compile("[\U000e0000-\U000e007f]")

_W = r"(?:[\w'-]+\s+)"  # any one word, for short gaps
_OVERRIDE_VERB = r"(?:ignore|disregard|forget|override|bypass|circumvent|neglect)"
_QUALIFIER = (
    r"(?:all|any|every|each|the|your|my|of|these|those|previous|previously|prior|above|"
    r"earlier|preceding|foregoing|former|original|initial|existing|current|given|"
    r"system|safety|developer|default|old|other|such)"
)
_INSTRUCTION_NOUN = (
    r"(?:instructions?|prompts?|rules|directives?|guidelines|guardrails|restrictions|"
    r"programming|policies|constraints|safeguards|commands)"
)
_ROLE_NOUN = (
    r"(?:ai|assistant|model|agent|bot|chatbot|llm|gpt|persona|character|hacker|"
    r"admin(?:istrator)?|root|superuser|jailbreak)"
)
_BULK_DATA = (
    r"(?:data|database|records|credentials|passwords?|api[\s_-]?keys?|secrets?|tokens?|"
    r"conversation|chat(?:\s+history|\s+log)?|history|transcripts?|system\s+prompt|"
    r"instructions|contacts|(?:customer|user|client|personal|private)\s+\w+|"
    r"(?:all|every)\s+(?:the\s+)?\w+)"
)
_ADDRESS = r"(?:[\w.+-]+@[\w-]+(?:\.[\w-]+)+|https?://[^\s\"'<>]+|ftp://[^\s\"'<>]+)"

_PATTERNS: tuple[tuple[str, str], ...] = (
    (
        "override",
        rf"\b{_OVERRIDE_VERB}\s+(?:{_QUALIFIER}\s+){{0,4}}{_INSTRUCTION_NOUN}\b",
    ),
    (
        "override",
        (
            rf"\b{_OVERRIDE_VERB}\s+(?:all\s+|everything\s+|anything\s+|whatever\s+)"
            r"(?:(?:you\s+(?:were|have\s+been|'ve\s+been)\s+(?:told|given|instructed))|"
            r"(?:(?:that\s+)?(?:was\s+|is\s+)?(?:said\s+)?(?:above|before|prior|previously|so\s+far)))"
        ),
    ),
    (
        "override",
        (
            r"\b(?:new|updated|real|actual|true|revised|secret|hidden)\s+(?:system\s+)?"
            r"instructions?\s*:"
        ),
    ),
    (
        "role",
        (
            rf"\byou\s+are\s+now\s+(?:(?:a|an|the|my|in|acting\s+as|playing)\s+)?{_W}{{0,2}}"
            rf"{_ROLE_NOUN}\b"
        ),
    ),
    (
        "role",
        (
            r"\byou\s+are\s+now\s+(?:in\s+)?(?:developer|god|admin|jailbreak|dan|unrestricted|"
            r"unfiltered|debug|sudo|maintenance)\s+mode\b"
        ),
    ),
    (
        "role",
        (
            r"\byou\s+are\s+now\s+(?:dan\b|free\s+(?:from|of)|no\s+longer\s+(?:bound|restricted|an?\s)|"
            r"unrestricted|unfiltered|jailbroken|unchained|released\s+from)"
        ),
    ),
    (
        "role",
        (
            r"\b(?:pretend|act)\s+(?:to\s+be|as\s+if\s+you\s+(?:are|were)|as)\s+(?:an?\s+)?"
            r"(?:unrestricted|unfiltered|jailbroken|evil|dan\b)"
        ),
    ),
    ("system_prompt", r"\bsystem\s+prompt\b"),
    (
        "system_prompt",
        (
            r"\b(?:reveal|print|show|repeat|output|disclose|leak|dump)\s+(?:me\s+)?(?:your|the)\s+"
            r"(?:initial|original|hidden|secret|full)?\s*(?:instructions|prompt)\b"
        ),
    ),
    (
        "exfiltration",
        (
            rf"\b(?:send|forward|e-?mail|mail|post|upload|transmit|leak|copy|share|submit)\s+"
            rf"(?:\S+\s+){{0,4}}?{_BULK_DATA}\b[^.\n]{{0,60}}?\bto\s+{_ADDRESS}"
        ),
    ),
    ("exfiltration", r"\bexfiltrat(?:e|es|ed|ing|ion)\b"),
    (
        "hidden",
        (
            r"<\|(?:im_start|im_end|system|endoftext|begin_of_text|start_header_id)\|>"
            r"|\[/?inst\]|<<\s*/?sys\s*>>|</?\s*system\s*>|###\s*(?:system|instruction)s?\s*:?\s*$"
        ),
    ),
    (
        "hidden",
        (
            r"\b(?:note|message|instructions?|attention|important)\s+(?:to|for)\s+(?:the\s+|any\s+)?"
            r"(?:ai|assistant|llm|language\s+model|agent|chatbot|bot)s?\b"
        ),
    ),
    (
        "hidden",
        (
            r"\bif\s+you\s+are\s+an?\s+(?:ai|llm|large\s+language\s+model|language\s+model|"
            r"assistant|ai\s+agent|agent|chatbot)\b"
        ),
    ),
    (
        "hidden",
        (
            r"\b(?:do\s+not|don't|never)\s+(?:tell|inform|mention\s+(?:this|it)\s+to|reveal\s+"
            r"(?:this|it)\s+to|alert|notify)\s+the\s+(?:user|customer|human|operator)\b"
        ),
    ),
)

# Words one of which must occur (lower-cased) before a pattern is worth running: substring tests
# are ~100x cheaper than a regex scan, and most text holds none of them. Single words only, so
# that odd spacing ("you  are\nnow") cannot skip a pattern.
_OVERRIDE_WORDS = ("ignore", "disregard", "forget", "override", "bypass", "circumvent", "neglect")
_TRIGGERS: tuple[tuple[str, ...], ...] = (
    _OVERRIDE_WORDS,
    _OVERRIDE_WORDS,
    ("instruction",),
    ("now",),
    ("now",),
    ("now",),
    ("pretend", "act"),
    ("prompt",),
    ("instruction", "prompt"),
    ("@", "://"),
    ("exfiltrat",),
    ("<|", "inst", "sys", "###"),
    ("note", "message", "instruction", "attention", "important"),
    ("you",),
    ("tell", "inform", "mention", "reveal", "alert", "notify"),
)
# A leading \b stops the regex engine from jumping to the pattern's first literal (30x slower
# on 4 KB), so it is checked by hand instead: (kind, regex, triggers, must start a word).
_SCREENS = tuple(
    (
        kind,
        re.compile(pattern.removeprefix(r"\b"), re.MULTILINE),
        triggers,
        pattern.startswith(r"\b"),
    )
    for (kind, pattern), triggers in zip(_PATTERNS, _TRIGGERS, strict=True)
)
_BLOB = re.compile(r"[A-Za-z0-9+/]{40,}={0,2}")


@dataclass(frozen=True, slots=True)
class InjectionHit:
    """``phrase`` is the matched text as screened (normalised when the text was not ASCII)."""

    kind: str
    phrase: str
    encoded: bool = False


def screen_injection(text: str) -> InjectionHit | None:
    """The first sign of injected instructions in ``text``, or None."""
    if len(text) > MAX_SCREENED_CHARS:
        text = text[:MAX_SCREENED_CHARS]
    if not text.isascii():
        tagged = _TAG_CHARS.search(text)
        if tagged is not None:
            return InjectionHit("hidden", "invisible Unicode tag characters")
        text = unicodedata.normalize("NFKC", text).translate(_ZERO_WIDTH)
    hit = _match(text)
    if hit is not None:
        return hit
    return _screen_blobs(text)


def _match(text: str) -> InjectionHit | None:
    """The leftmost match of any pattern (ties: the earlier pattern), as one regex would give.

    Patterns are written in lower case and run on the lower-cased text: case-insensitive
    matching costs the regex engine twice as much.
    """
    lowered = text.lower()
    best: re.Match[str] | None = None
    best_kind = ""
    for kind, regex, triggers, word_start in _SCREENS:
        if not any(word in lowered for word in triggers):
            continue
        match = _search(regex, lowered, word_start)
        if match is not None and (best is None or match.start() < best.start()):
            best, best_kind = match, kind
    if best is None:
        return None
    # Lower-casing keeps offsets except for a few non-ASCII letters; then quote the lower case.
    same = len(lowered) == len(text)
    matched = text[best.start() : best.end()] if same else best.group()
    phrase = " ".join(matched.split())[:_PHRASE_CHARS]
    return InjectionHit(best_kind, phrase)


def _search(regex: re.Pattern[str], text: str, word_start: bool) -> re.Match[str] | None:
    match = regex.search(text)
    while match is not None and word_start and match.start() > 0:
        before = text[match.start() - 1]
        if not (before.isalnum() or before == "_"):
            break
        match = regex.search(text, match.start() + 1)
    return match


def _screen_blobs(text: str) -> InjectionHit | None:
    """Instructions hidden in base64: decoded once (no recursion), screened like plain text."""
    for count, blob in enumerate(_BLOB.finditer(text)):
        if count >= _MAX_BLOBS:
            break
        raw = blob.group()
        try:
            decoded = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            continue
        if not decoded.isprintable() and not decoded.replace("\n", " ").isprintable():
            continue
        hit = _match(decoded)
        if hit is not None:
            return InjectionHit(hit.kind, hit.phrase, encoded=True)
    return None

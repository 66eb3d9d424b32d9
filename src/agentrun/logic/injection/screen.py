"""The screen itself: hidden characters, then each view of the text, then what decodes out of it."""

import re
from dataclasses import dataclass
from functools import cache
from typing import Final

from agentrun.logic.injection import (
    actions,
    disclosure,
    languages,
    more_languages,
    patterns,
    views,
    world_languages,
)
from agentrun.logic.injection.decoders import Budget, decoded_texts
from agentrun.logic.injection.json_text import MAX_SCREENED_CHARS
from agentrun.logic.injection.rules import RuleSet, compile_rules

_PHRASE_CHARS = 120
# A decoded text is searched for encodings once more (base64 of hex, say), never a third time.
_MAX_DEPTH = 2

# Which patterns a screen version runs. 2: English and nine other languages. 3: also Turkish,
# Polish, Indonesian, Vietnamese, Korean, Arabic and Ukrainian (``world_languages``). A run
# screens with the version it began with (PREPARING's result records it), so a pattern added
# later never changes what a run in flight decided, which its replay must repeat.
SCREEN_VERSION: Final = 3


@dataclass(frozen=True, slots=True)
class _Rules:
    ascii: RuleSet  # for views that are all ASCII: no pattern in another script can match them
    every: RuleSet


_LATIN = compile_rules(
    patterns.SPECS + disclosure.SPECS + actions.SPECS + languages.LATIN + more_languages.LATIN,
    views.fold,
)
_OTHER = compile_rules(more_languages.OTHER, views.fold)


@cache
def _rules_of(version: int) -> _Rules:
    """A version's rule sets, built on first use: indexing a set costs 10-40 ms, and
    a worker needs an older version only for runs that began under it."""
    if version == 2:
        return _Rules(_LATIN, _LATIN + _OTHER)
    latin = _LATIN + compile_rules(world_languages.LATIN, views.fold)
    return _Rules(latin, latin + _OTHER + compile_rules(world_languages.OTHER, views.fold))


_rules_of(SCREEN_VERSION)  # at import, like every other table: not in a run's first task
_SQUASHED = compile_rules(views.SQUASHED)


@dataclass(frozen=True, slots=True)
class InjectionHit:
    """``phrase`` is the matched text as screened: normalised when the text was not ASCII, and
    de-obfuscated or decoded when it was found in a view (``encoded`` says decoded)."""

    kind: str
    phrase: str
    encoded: bool = False


def screen_injection(text: str, *, version: int = SCREEN_VERSION) -> InjectionHit | None:
    """The first sign of injected instructions in ``text``, or None; ``version`` (2 or later)
    chooses the patterns (``SCREEN_VERSION``), the latest when not given.

    Pure (no I/O, clock or randomness): it runs in workflow code and must replay the same.
    """
    if len(text) > MAX_SCREENED_CHARS:
        text = text[:MAX_SCREENED_CHARS]
    rules = _rules_of(min(max(version, 2), SCREEN_VERSION))
    return _screen(text, rules, encoded=False, depth=0, budget=Budget())


def _screen(
    text: str, rules: _Rules, *, encoded: bool, depth: int, budget: Budget
) -> InjectionHit | None:
    if not text.isascii():
        if views.TAG_CHARS.search(text):
            return InjectionHit("hidden", "invisible Unicode tag characters", encoded)
        if views.INVISIBLE_RUN.search(text):
            return InjectionHit("hidden", "a run of invisible characters", encoded)
    folded = views.fold(text)
    lowered = folded.lower()
    hit = _match(rules, lowered, encoded, quote=folded)
    if hit is None:
        hit = _views(rules, text, lowered, encoded)
    if hit is None and depth < _MAX_DEPTH:
        decoded = decoded_texts(folded, budget)
        if decoded:
            hit = _screen("\n".join(decoded), rules, encoded=True, depth=depth + 1, budget=budget)
    return hit


def _views(rules: _Rules, text: str, lowered: str, encoded: bool) -> InjectionHit | None:
    """The derived views in turn; each is None unless it can tell something new."""
    shape = views.skeleton(text) if not text.isascii() else None
    candidates = (
        shape,
        views.leet(lowered),
        views.leet(shape) if shape is not None else None,  # homoglyphs and digits mixed
    )
    for view in candidates:
        hit = _match(rules, view, encoded) if view is not None else None
        if hit is not None:
            return hit
    joined, squashed = views.joined(lowered)
    hit = _match(rules, joined, encoded) if joined is not None else None
    for run in squashed:
        hit = hit or _found(_SQUASHED.leftmost(run), run, encoded)
    if hit is None:
        reversed_view = views.reversed_runs(text)
        hit = _match(rules, reversed_view, encoded) if reversed_view is not None else None
    for transform in (views.rot13, views.backwards):
        if hit is None:
            view = transform(lowered)
            hit = _match(rules, view, True) if view is not None else None
    return hit


def _match(
    rules: _Rules, lowered: str, encoded: bool, quote: str | None = None
) -> InjectionHit | None:
    """The leftmost match in the view. ``quote`` is the view before lower-casing: the phrase is
    quoted from it when lower-casing kept every offset (it does but for a few letters)."""
    chosen = rules.ascii if lowered.isascii() else rules.every
    return _found(
        chosen.leftmost(lowered),
        quote if quote and len(quote) == len(lowered) else lowered,
        encoded,
    )


def _found(
    found: tuple[str, re.Match[str]] | None, source: str, encoded: bool
) -> InjectionHit | None:
    if found is None:
        return None
    kind, match = found
    phrase = " ".join(source[match.start() : match.end()].split())[:_PHRASE_CHARS]
    return InjectionHit(kind, phrase or kind, encoded)

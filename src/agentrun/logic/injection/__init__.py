"""Prompt-injection screening of user input and tool output: a fast tripwire, no model.

What it is for. A hit makes the policy engine stop the run for a person (by default), so the
screen catches the crude and the copied attacks early and gives a reviewer the phrase. It is
not the defence: a paraphrase it has never seen gets through, and the rule that holds whatever
the screen says is the lethal trifecta (private data + untrusted content + a way out is never
allowed in one run without a person; ``agentrun.logic.policy``). Its rates are measured, not
assumed: ``python -m bench.injection`` scores it on the labelled corpus in
``tests/data/injection_corpus.jsonl`` and ``docs/performance.md`` has the figures, misses and
false positives listed.

How it reads a text (``screened_text`` first, for JSON: every string and key, decoded):

- invisible Unicode tag characters, or a run of other invisible characters, are a hit alone;
- the base view folds Unicode look-alikes (full-width, mathematical, accented and zalgo
  letters) and drops zero-width characters; English patterns (``patterns``, ``actions``) and
  patterns in sixteen other languages (``languages``, ``more_languages``, and from screen
  version 3 ``world_languages``) run on it;
- derived views (``views``) catch what is disguised: homoglyphs (Unicode's confusables table),
  leetspeak, spaced and separated letters, instructions split across JSON fields, right-to-left
  overrides and ROT13; each runs only when it turns up a word that matters;
- decoders (``decoders``) read base64 in its variants, hex, escapes, percent-encoding and HTML
  entities, every candidate within a fixed budget, and the decoded text is screened again
  (once more decoded at most).

Patterns look for the shape of an instruction aimed at the model, not for single words, so
that support traffic using the same words passes ("please ignore my previous email", "the new
instructions: leave parcels at the back door", "don't tell the customer yet"). A pattern is
tried only where one of its leading words occurs (``rules``), yet with ~140 patterns, six
views and the decoders the screen costs about three times the first one on a 4 KB tool output
(``bench.injection`` times both in one run). Everything is pure and its tables are built at
import: the screen runs in Temporal workflow code on every run input and tool output and must
replay identically, so a run screens with the version it began with (``SCREEN_VERSION``; the
guard version in PREPARING's result) and patterns are added as a new version.
"""

from agentrun.logic.injection.json_text import MAX_SCREENED_CHARS, screened_text
from agentrun.logic.injection.screen import SCREEN_VERSION, InjectionHit, screen_injection

__all__ = [
    "MAX_SCREENED_CHARS",
    "SCREEN_VERSION",
    "InjectionHit",
    "screen_injection",
    "screened_text",
]

"""How a list of patterns runs as one screen: every rule is tried only where it can start.

Patterns are written in lower case and run on lower-cased text (case-insensitive matching costs
the regex engine about twice as much). Most patterns begin with a choice of literal words
("ignore|disregard|forget ..."), and a regex that begins with a choice scans a text slowly,
trying every word at every position. So the leading words of each pattern are read off its
source at import, one trie-shaped regex finds where any of them occurs, and a rule is matched
(anchored) only at those positions: the cost follows the number of candidate words in a text,
not the number of rules times its length. A pattern whose start is not a plain choice of
literals (a line start, an optional group) is searched the ordinary way, and only when one of
its trigger substrings occurs in the text.
"""

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

# (kind, pattern, triggers): the form each module writes its patterns in.
Spec = tuple[str, str, tuple[str, ...]]

_META = frozenset("()[]{}.|^$")
_CLASS_ESCAPES = frozenset("sSwWdDbBAZ")


@dataclass(frozen=True, slots=True)
class Rule:
    kind: str
    regex: re.Pattern[str]
    triggers: tuple[str, ...]
    # The literal words every match starts with, or () when they cannot be read off the source.
    leads: tuple[str, ...]


class RuleSet:
    """Rules in priority order, indexed by their leading words."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules = tuple(rules)
        by_lead: dict[str, set[int]] = {}
        for index, rule in enumerate(self.rules):
            for lead in rule.leads:
                by_lead.setdefault(lead, set()).add(index)
        # A position where the lead "note" occurs is also one where "no" does.
        self._at: dict[str, tuple[int, ...]] = {
            lead: tuple(
                sorted(
                    set().union(*(by_lead.get(lead[:end], ()) for end in range(1, len(lead) + 1)))
                )
            )
            for lead in by_lead
        }
        words = sorted(lead for lead in by_lead if lead[0].isalnum())
        marks = sorted(lead for lead in by_lead if not lead[0].isalnum())
        parts = [rf"\b{_trie(words)}"] if words else []
        parts += [_trie(marks)] if marks else []
        self._leads = re.compile("|".join(parts)) if parts else None
        self._searched = tuple(i for i, rule in enumerate(self.rules) if not rule.leads)

    def __add__(self, other: "RuleSet") -> "RuleSet":
        return RuleSet(self.rules + other.rules)

    def leftmost(self, lowered: str) -> tuple[str, re.Match[str]] | None:
        """The leftmost match of any rule (ties: the earlier rule), as one big regex would give."""
        best: re.Match[str] | None = None
        best_index = len(self.rules)
        if self._leads is not None:
            for lead in self._leads.finditer(lowered):
                start = lead.start()
                for index in self._at[lead.group()]:
                    match = self.rules[index].regex.match(lowered, start)
                    if match is not None:
                        best, best_index = match, index
                        break
                if best is not None:
                    break
        seen: dict[str, bool] = {}
        for index in self._searched:
            rule = self.rules[index]
            if not any(_present(word, lowered, seen) for word in rule.triggers):
                continue
            end = best.start() + 1 if best is not None else len(lowered)
            match = rule.regex.search(lowered, 0, len(lowered))
            if (
                match is not None
                and match.start() < end
                and (best is None or (match.start(), index) < (best.start(), best_index))
            ):
                best, best_index = match, index
        return None if best is None else (self.rules[best_index].kind, best)


def compile_rules(specs: Iterable[Spec], prepare: Callable[[str], str] | None = None) -> RuleSet:
    """``prepare`` folds pattern and triggers as the text is folded (accents, letter forms),
    so a pattern can be written as the language spells it."""
    rules = []
    for kind, pattern, triggers in specs:
        source = prepare(pattern) if prepare else pattern
        words = tuple(prepare(t) if prepare else t for t in triggers)
        leads = tuple(_leads(source) or ())
        # Scripts written without spaces have no word boundary before a lead: search those.
        if any(ord(c) >= 0x2E80 for lead in leads for c in lead):
            leads = ()
        rules.append(Rule(kind, re.compile(source, re.MULTILINE), words, leads))
    return RuleSet(rules)


def _present(word: str, text: str, seen: dict[str, bool]) -> bool:
    found = seen.get(word)
    if found is None:
        found = seen[word] = word in text
    return found


def _leads(source: str) -> list[str] | None:
    """The literal prefixes every match of ``source`` starts with, or None if some
    alternative does not start with a literal (or the start is optional)."""
    leads: list[str] = []
    for raw in _split(source):
        alternative = raw.removeprefix(r"\b")
        while alternative.startswith(("(?<=", "(?<!")):  # zero-width: the match starts after
            end = _group_end(alternative)
            if end is None:
                return None
            alternative = alternative[end + 1 :].removeprefix(r"\b")
        if alternative.startswith("(?:"):
            end = _group_end(alternative)
            if end is None or alternative[end + 1 : end + 2] in ("?", "*", "{"):
                return None
            inner = _leads(alternative[3:end])
            if inner is None:
                return None
            leads += inner
            continue
        prefix = _literal_prefix(alternative)
        if not prefix:
            return None
        leads.append(prefix)
    return leads


def _literal_prefix(text: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\":
            escaped = text[i + 1 : i + 2]
            if not escaped or escaped in _CLASS_ESCAPES or escaped.isalnum():
                break
            out.append(escaped)
            i += 2
            continue
        if char in "?*" or text.startswith(("{0,", "{0}"), i):
            if out:
                out.pop()
            break
        if char in _META or char == "+":
            break
        out.append(char)
        i += 1
    return "".join(out)


def _structure(source: str) -> Iterator[tuple[int, str, int]]:
    """(index, character, depth before it) for each "(", ")" and "|" of a regex that is not
    escaped and not inside a character class: what both walks below need, written once."""
    depth, i, in_class = 0, 0, False
    while i < len(source):
        char = source[i]
        if char == "\\":
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char in "()|":
            yield i, char, depth
            depth += {"(": 1, ")": -1, "|": 0}[char]
        i += 1


def _split(source: str) -> list[str]:
    """``source`` cut at its top-level "|"."""
    parts, start = [], 0
    for i, char, depth in _structure(source):
        if char == "|" and depth == 0:
            parts.append(source[start:i])
            start = i + 1
    parts.append(source[start:])
    return parts


def _group_end(text: str) -> int | None:
    """Where the group that opens ``text`` closes."""
    for i, char, depth in _structure(text):
        if char == ")" and depth == 1:
            return i
    return None


def _trie(words: list[str]) -> str:
    """One regex for a set of literals, shaped as a trie so that a position is rejected after
    a character or two; the longest literal wins where several start at one position."""
    root: dict[str, dict] = {}  # type: ignore[type-arg]
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def build(node: dict[str, dict]) -> str:  # type: ignore[type-arg]
        branches = [re.escape(c) + build(child) for c, child in sorted(node.items()) if c]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return "(?:" + build(root) + ")"

"""``arg_constraint`` rules compiled into one closure per constraint, lookup included.

A policy of a hundred rules is mostly argument constraints, and ``decide`` runs all of those for
the pending tool, so each is one Python call: the argument is fetched inline (one ``dict.get``
for a plain key) and the passing case is decided by a type test and a comparison. Only a
violation builds its message. Every constraint fails closed: a missing argument, a value of the
wrong type (True is not a number here), NaN or an infinity violates it.
"""

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agentrun.contracts.policy import ArgConstraintRule, Scalar
from agentrun.logic.policy.facts import Check, RunFacts

_MISSING: Any = object()
_INF = math.inf
_SHOWN_CHARS = 60


def shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 3] + "..."


def lookup(args: object, parts: Sequence[str]) -> Any:
    """The value at a dotted path (keys of mappings, indexes of lists), or ``_MISSING``."""
    value = args
    for part in parts:
        if type(value) is dict or isinstance(value, Mapping):
            value = value.get(part, _MISSING)
            if value is _MISSING:
                return _MISSING
        elif isinstance(value, list | tuple) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


@dataclass(frozen=True, slots=True)
class _Arg:
    """Where the constrained argument is, and how to name it in a reason."""

    key: str | None  # the key when the path is a single key: the fast path
    parts: tuple[str, ...]
    where: str
    missing: str


def _scalar_key(value: object) -> tuple[str, object] | None:
    """Type-aware identity for one_of: True is not 1 and "1" is not 1."""
    kind = type(value)
    if kind is bool:
        return ("b", value)
    if kind is int or kind is float:
        return ("n", value)
    if kind is str:
        return ("s", value)
    if value is None:
        return ("z", None)
    return None


def _listed(values: tuple[Scalar, ...]) -> str:
    return ", ".join(shown(v) for v in values)


def _not_a_number(arg: _Arg, value: object) -> str:
    if value is _MISSING:
        return arg.missing
    return f"{arg.where} must be a number, got {shown(value)}"


def _at_most(arg: _Arg, high: float) -> Check:
    key, parts = arg.key, arg.parts

    def check(facts: RunFacts, _tool: str | None) -> str | None:
        args = facts.tool_args
        value = args.get(key, _MISSING) if key and type(args) is dict else lookup(args, parts)
        kind = type(value)
        if (kind is float or kind is int) and -_INF < value <= high:
            return None
        if kind is float or kind is int:
            return f"{arg.where}={value!r} is above the maximum {high:g}"
        return _not_a_number(arg, value)

    return check


def _at_least(arg: _Arg, low: float) -> Check:
    key, parts = arg.key, arg.parts

    def check(facts: RunFacts, _tool: str | None) -> str | None:
        args = facts.tool_args
        value = args.get(key, _MISSING) if key and type(args) is dict else lookup(args, parts)
        kind = type(value)
        if (kind is float or kind is int) and low <= value < _INF:
            return None
        if kind is float or kind is int:
            return f"{arg.where}={value!r} is below the minimum {low:g}"
        return _not_a_number(arg, value)

    return check


def _between(arg: _Arg, low: float, high: float) -> Check:
    """min and max together, in one comparison: finite bounds also keep out NaN and infinities."""
    key, parts = arg.key, arg.parts

    def check(facts: RunFacts, _tool: str | None) -> str | None:
        args = facts.tool_args
        value = args.get(key, _MISSING) if key and type(args) is dict else lookup(args, parts)
        kind = type(value)
        if (kind is float or kind is int) and low <= value <= high:
            return None
        if kind is float or kind is int:
            if low <= value:
                return f"{arg.where}={value!r} is above the maximum {high:g}"
            return f"{arg.where}={value!r} is below the minimum {low:g}"
        return _not_a_number(arg, value)

    return check


def _one_of(arg: _Arg, options: tuple[Scalar, ...]) -> Check:
    key, parts = arg.key, arg.parts
    allowed = frozenset(_scalar_key(v) for v in options)
    # Strings are the common case: a plain set lookup, no key tuple.
    strings = frozenset(v for v in options if type(v) is str)

    def check(facts: RunFacts, _tool: str | None) -> str | None:
        args = facts.tool_args
        value = args.get(key, _MISSING) if key and type(args) is dict else lookup(args, parts)
        if type(value) is str and value in strings:
            return None
        if value is _MISSING:
            return arg.missing
        scalar = _scalar_key(value)
        if scalar is not None and scalar in allowed:
            return None
        return f"{arg.where}={shown(value)} is not one of {_listed(options)}"

    return check


def _not_one_of(arg: _Arg, options: tuple[Scalar, ...]) -> Check:
    key, parts = arg.key, arg.parts
    banned = frozenset(_scalar_key(v) for v in options)
    strings = frozenset(v for v in options if type(v) is str)

    def check(facts: RunFacts, _tool: str | None) -> str | None:
        args = facts.tool_args
        value = args.get(key, _MISSING) if key and type(args) is dict else lookup(args, parts)
        if type(value) is str and value not in strings:
            return None
        if value is _MISSING:
            return arg.missing
        scalar = _scalar_key(value)
        if scalar is None:
            return f"{arg.where} must be a single value, got {shown(value)}"
        if scalar in banned:
            return f"{arg.where}={shown(value)} is not allowed"
        return None

    return check


def _pattern(arg: _Arg, pattern: str) -> Check:
    key, parts = arg.key, arg.parts
    fullmatch = re.compile(pattern).fullmatch

    def check(facts: RunFacts, _tool: str | None) -> str | None:
        args = facts.tool_args
        value = args.get(key, _MISSING) if key and type(args) is dict else lookup(args, parts)
        if type(value) is str and fullmatch(value) is not None:
            return None
        if value is _MISSING:
            return arg.missing
        if type(value) is not str:
            return f"{arg.where} must be a string, got {shown(value)}"
        return f"{arg.where}={shown(value)} does not match {pattern!r}"

    return check


def _max_length(arg: _Arg, longest: int) -> Check:
    key, parts = arg.key, arg.parts
    sized = (str, list, tuple, dict)

    def check(facts: RunFacts, _tool: str | None) -> str | None:
        args = facts.tool_args
        value = args.get(key, _MISSING) if key and type(args) is dict else lookup(args, parts)
        if type(value) in sized and len(value) <= longest:
            return None
        if value is _MISSING:
            return arg.missing
        if not isinstance(value, sized):
            return f"{arg.where} must be a string or a list, got {shown(value)}"
        if len(value) > longest:
            return f"{arg.where} is {len(value)} long, over the maximum {longest}"
        return None

    return check


def compile_arg_constraint(rule: ArgConstraintRule) -> Check:
    parts = tuple(rule.path.split("."))
    where = f"{rule.tool}.{rule.path}"
    arg = _Arg(
        key=parts[0] if len(parts) == 1 else None,
        parts=parts,
        where=where,
        missing=f"{where} is missing (a constraint on it cannot be checked)",
    )
    checks: list[Check] = []
    if rule.max is not None and rule.min is not None:
        checks.append(_between(arg, rule.min, rule.max))
    elif rule.max is not None:
        checks.append(_at_most(arg, rule.max))
    elif rule.min is not None:
        checks.append(_at_least(arg, rule.min))
    if rule.one_of is not None:
        checks.append(_one_of(arg, rule.one_of))
    if rule.not_one_of is not None:
        checks.append(_not_one_of(arg, rule.not_one_of))
    if rule.pattern is not None:
        checks.append(_pattern(arg, rule.pattern))
    if rule.max_length is not None:
        checks.append(_max_length(arg, rule.max_length))
    if len(checks) == 1:
        return checks[0]
    every = tuple(checks)

    def all_of(facts: RunFacts, tool: str | None) -> str | None:
        for check in every:
            reason = check(facts, tool)
            if reason is not None:
                return reason
        return None

    return all_of

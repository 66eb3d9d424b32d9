"""An agent version as an immutable snapshot: what it is, its digest, and what changed between two.

A run records ``name@version``; that only means something if the version always names the same
instructions, model, tool contracts, policies, budgets, review policy and input and output
schemas. The snapshot is all of that as plain JSON, and its digest is what the store compares
when a worker registers the version again.
"""

import hashlib
import json
from collections.abc import Iterator
from typing import Any

from agentrun.contracts.agents import AgentSpec

DIGEST_PREFIX = "sha256:"
# A changed value longer than this is shown cut, with its length: a prompt diff names the field.
_SHOWN = 80


def snapshot(
    spec: AgentSpec, input_schema: dict[str, Any], output_schema: dict[str, Any] | None
) -> dict[str, Any]:
    """Everything a version's runs depend on, as JSON (the schemas are the models' own)."""
    return {
        "spec": spec.model_dump(mode="json"),
        "input_schema": input_schema,
        "output_schema": output_schema,
    }


def digest(content: dict[str, Any]) -> str:
    """A digest of the snapshot's canonical JSON: key order and spacing do not count."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return DIGEST_PREFIX + hashlib.sha256(canonical.encode()).hexdigest()


def changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """One line per changed leaf, by its path (``spec.budget.max_cost_usd: 1.0 -> 2.0``).

    Lists of named things (tools, policies, rules) are matched by name, so a tool added in front
    reads as one added tool, not as every tool after it changed.
    """
    return list(_walk("", old, new))


def _walk(path: str, old: Any, new: Any) -> Iterator[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(old.keys() | new.keys()):
            yield from _walk(_join(path, str(key)), old.get(key, _MISSING), new.get(key, _MISSING))
    elif isinstance(old, list) and isinstance(new, list) and _named(old) and _named(new):
        before, after = _by_name(old), _by_name(new)
        for key in sorted(before.keys() | after.keys()):
            yield from _walk(f"{path}{key}", before.get(key, _MISSING), after.get(key, _MISSING))
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            yield from _walk(f"{path}[{i}]", a, b)
    elif old is _MISSING:
        yield f"{path}: added {_shown(new)}"
    elif new is _MISSING:
        yield f"{path}: removed (was {_shown(old)})"
    elif old != new:
        yield f"{path}: {_shown(old)} -> {_shown(new)}"


class _Missing:
    def __repr__(self) -> str:
        return "(missing)"


_MISSING: Any = _Missing()


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _named(items: list[Any]) -> bool:
    """A list whose items are objects with distinct names or ids (tools, rules, policies)."""
    keys = [_name_of(item) for item in items]
    return bool(items) and None not in keys and len(set(keys)) == len(keys)


def _name_of(item: Any) -> str | None:
    if not isinstance(item, dict):
        return None
    for key in ("name", "id", "policy_id"):
        if isinstance(item.get(key), str):
            return f"{key}={item[key]}"
    return None


def _by_name(items: list[Any]) -> dict[str, Any]:
    return {f"[{_name_of(item)}]": item for item in items}


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    if len(text) <= _SHOWN:
        return text
    return f"{text[: _SHOWN - 1]}… ({len(text)} chars)"

"""Policy files into validated documents, with errors that say which file, rule and field.

Every failure (unreadable file, bad YAML or JSON, a duplicate key, a schema violation) is a
``PolicyError`` whose problems read ``<file>: <location>: <why>``, e.g.
``policies/refund.yaml: rules[2] (refund-cap): max: must be a number``; nothing else escapes.
"""

import json
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from agentrun.contracts.policy import (
    RULE_KINDS,
    RULE_MODELS,
    AppliesTo,
    PolicyDocument,
)
from agentrun.logic.policy.facts import PolicyError

MAX_FILE_BYTES = 1_000_000
MAX_PROBLEMS = 20
SUFFIXES = (".yaml", ".yml", ".json")

_KINDS = ", ".join(RULE_KINDS)
# Field patterns, said in words.
_PATTERNS = {
    r"^[a-z][a-z0-9_]{0,63}$": "must be a tool name: a lowercase letter, then letters, digits, _",
    r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$": (
        "must be 1-100 letters, digits or _ . : - (starting with a letter or digit)"
    ),
    r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$": "must be a dotted path like amount or items.0.price",
}
_TYPES = {
    "missing": "required",
    "string_type": "must be a string",
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be an integer",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "tuple_type": "must be a list",
    "list_type": "must be a list",
    "model_type": "must be a mapping",
    "model_attributes_type": "must be a mapping",
    "dict_type": "must be a mapping",
    "timedelta_type": "must be a duration like 30s, 10m, 1h or 7d",
    "timedelta_parsing": "must be a duration like 30s, 10m, 1h or 7d",
    "recursion_loop": "refers to itself",
}
_ENUM_REPR = re.compile(r"<\w+\.\w+: ('[^']*')>")


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML keeps the last of two equal keys; in a policy that hides a rule's real limit."""


def _unique_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        try:
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        except TypeError:
            continue  # an unhashable key: construct_mapping reports it
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _unique_mapping,
)


def load_policy_file(path: Path) -> PolicyDocument:
    """Read and validate one policy file (.yaml, .yml or .json)."""
    source = str(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise PolicyError(
            [f"{source}: unsupported file type {suffix or '(none)'}: use .yaml or .json"]
        )
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise PolicyError([f"{source}: cannot read: {err.strerror or err}"]) from None
    if len(raw) > MAX_FILE_BYTES:
        raise PolicyError([f"{source}: larger than {MAX_FILE_BYTES:,} bytes"])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise PolicyError([f"{source}: not UTF-8 text (byte {err.start})"]) from None
    data = parse_json(text, source) if suffix == ".json" else parse_yaml(text, source)
    return parse_policy(data, source=source)


def parse_yaml(text: str, source: str) -> object:
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 -- a SafeLoader subclass
        size = _expanded_size(data, {}, set())
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        why = err.problem or err.context or "unreadable"
        raise PolicyError([f"{source}: invalid YAML: {where}{why}"]) from None
    except yaml.YAMLError as err:
        raise PolicyError([f"{source}: invalid YAML: {_one_line(str(err))}"]) from None
    except RecursionError:
        raise PolicyError([f"{source}: invalid YAML: nested too deeply"]) from None
    except (ValueError, TypeError, OverflowError) as err:
        # PyYAML builds dates and numbers with Python's constructors, which raise these.
        raise PolicyError([f"{source}: invalid YAML: {_one_line(str(err))}"]) from None
    if size > MAX_FILE_BYTES:
        why = f"aliases expand it to about {size:,} bytes; the limit is {MAX_FILE_BYTES:,}"
        raise PolicyError([f"{source}: invalid YAML: {why}"])
    return data


def _expanded_size(value: object, sizes: dict[int, int], open_nodes: set[int]) -> int:
    """Roughly what the data weighs with every alias spelt out, as validation, digests and
    history will see it: a 100 KB file whose aliases repeat one long string thousands of times
    stands for gigabytes. Each shared node is sized once; one that contains itself adds nothing
    here (validation reports it)."""
    if isinstance(value, str):
        return len(value) + 2
    if not isinstance(value, dict | list):
        return 8
    key = id(value)
    if key in sizes:
        return sizes[key]
    if key in open_nodes:
        return 0
    open_nodes.add(key)
    items = [*value.keys(), *value.values()] if isinstance(value, dict) else value
    total = 2 + sum(_expanded_size(item, sizes, open_nodes) for item in items)
    open_nodes.discard(key)
    sizes[key] = total
    return total


def parse_json(text: str, source: str) -> object:
    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in pairs:
            if key in result:
                raise ValueError(f"duplicate key {key!r}")
            result[key] = value
        return result

    try:
        return json.loads(text, object_pairs_hook=unique)
    except json.JSONDecodeError as err:
        raise PolicyError(
            [f"{source}: invalid JSON: line {err.lineno}, column {err.colno}: {err.msg}"]
        ) from None
    except RecursionError:
        raise PolicyError([f"{source}: invalid JSON: nested too deeply"]) from None
    except ValueError as err:
        raise PolicyError([f"{source}: invalid JSON: {err}"]) from None


def parse_policy(data: object, *, source: str) -> PolicyDocument:
    """Validate parsed data (a mapping) as a policy document; ``source`` names it in errors."""
    if not isinstance(data, dict):
        kind = "nothing" if data is None else f"a {type(data).__name__}"
        raise PolicyError(
            [f"{source}: must be a mapping with policy_id, version and rules, got {kind}"]
        )
    try:
        return PolicyDocument.model_validate(data)
    except ValidationError as err:
        errors = err.errors(include_url=False)
        problems = list(dict.fromkeys(f"{source}: {_problem(e, data)}" for e in errors))
        if len(problems) > MAX_PROBLEMS:
            problems = [
                *problems[:MAX_PROBLEMS],
                f"{source}: ... {len(problems) - MAX_PROBLEMS} more",
            ]
        raise PolicyError(problems) from None
    except RecursionError:
        raise PolicyError([f"{source}: nested too deeply"]) from None


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _dotted(parts: list[Any]) -> str:
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _raw_rule(data: dict[Any, Any], index: int) -> Any:
    rules = data.get("rules")
    if isinstance(rules, list) and index < len(rules) and isinstance(rules[index], dict):
        return rules[index]
    return None


def _problem(error: ErrorDetails, data: dict[Any, Any]) -> str:
    loc = list(error["loc"])
    kind = error["type"]
    model: type[BaseModel] | None = PolicyDocument if len(loc) == 1 else None
    head: list[str] = []
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
        rule = _raw_rule(data, loc[1])
        rule_id = rule.get("id") if rule is not None else None
        named = f" ({rule_id})" if isinstance(rule_id, str) and rule_id else ""
        head.append(f"rules[{loc[1]}]{named}")
        loc = loc[2:]
        if loc and loc[0] in RULE_KINDS:
            model = RULE_MODELS[str(loc[0])] if len(loc) == 2 else None
            loc = loc[1:]
    elif loc[:1] == ["applies_to"] and len(loc) == 2:
        model = AppliesTo
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        loc.append("kind")
    where = _dotted(loc)
    return ": ".join([*head, *([where] if where else []), _message(error, model)])


def _message(error: ErrorDetails, model: type[BaseModel] | None) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        allowed = f" (allowed: {', '.join(model.model_fields)})" if model is not None else ""
        return f"unknown key{allowed}"
    if kind == "union_tag_invalid":
        return f"unknown kind '{ctx.get('tag')}' (one of: {_KINDS})"
    if kind == "union_tag_not_found":
        return f"required (one of: {_KINDS})"
    if kind == "string_pattern_mismatch":
        return _PATTERNS.get(str(ctx.get("pattern")), f"must match {ctx.get('pattern')}")
    if kind in _TYPES:
        return _TYPES[kind]
    message = str(error["msg"]).removeprefix("Value error, ")
    message = _ENUM_REPR.sub(r"\1", message)
    return message.replace("Input should be", "must be")

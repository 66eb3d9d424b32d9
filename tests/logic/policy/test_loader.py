"""Policy files: what loads, and the exact error for each way a file can be wrong."""

import json
from pathlib import Path
from typing import Any

import pytest

from agentrun.contracts.policy import ArgConstraintRule, Checkpoint, RateLimitRule, Verdict
from agentrun.logic.policy import PolicyError, load_policy_file, parse_policy

VALID_YAML = """\
policy_id: refund
version: "3"
applies_to: {agents: [refund], tenants: [acme]}
rules:
  - id: refund-cap
    kind: arg_constraint
    tool: issue_refund
    path: amount
    max: 500
  - {id: inj, kind: injection, at: [input]}
  - {id: rate, kind: rate_limit, max_runs: 100, window: 10m}
"""


def write(tmp_path: Path, text: str, name: str = "policy.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(data: Any) -> list[str]:
    with pytest.raises(PolicyError) as err:
        parse_policy(data, source="r.yaml")
    return err.value.problems


def rule_problem(rule: dict[str, Any], *more: dict[str, Any]) -> list[str]:
    return problems({"policy_id": "refund", "version": "1", "rules": [*more, rule]})


def test_yaml_and_json_load_to_the_same_document_and_digest(tmp_path: Path) -> None:
    from_yaml = load_policy_file(write(tmp_path, VALID_YAML))
    rule = from_yaml.rules[0]
    assert isinstance(rule, ArgConstraintRule)
    assert (rule.tool, rule.path, rule.max, rule.verdict) == (
        "issue_refund",
        "amount",
        500,
        Verdict.DENY,
    )
    assert from_yaml.rules[1].checkpoints == (Checkpoint.INPUT,)
    rate = from_yaml.rules[2]
    assert isinstance(rate, RateLimitRule)
    assert rate.window.total_seconds() == 600
    as_json = json.dumps(from_yaml.model_dump(mode="json"), indent=4)
    from_json = load_policy_file(write(tmp_path, as_json, "policy.json"))
    assert from_json == from_yaml
    assert from_json.digest() == from_yaml.digest()
    assert len(from_yaml.digest()) == 64


def test_digest_changes_with_meaning_not_with_layout(tmp_path: Path) -> None:
    base = load_policy_file(write(tmp_path, VALID_YAML)).digest()
    reflowed = VALID_YAML.replace("    max: 500\n", "    max: 500  # the cap\n")
    assert load_policy_file(write(tmp_path, reflowed, "b.yaml")).digest() == base
    changed = VALID_YAML.replace("max: 500", "max: 501")
    assert load_policy_file(write(tmp_path, changed, "c.yaml")).digest() != base


def test_integer_version_becomes_a_string() -> None:
    doc = parse_policy({"policy_id": "p", "version": 2}, source="s")
    assert doc.version == "2"
    assert doc.rules == ()


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            {
                "id": "refund-cap",
                "kind": "arg_constraint",
                "tool": "issue_refund",
                "path": "amount",
                "max": "500",
            },
            "r.yaml: rules[0] (refund-cap): max: must be a number",
        ),
        (
            {
                "id": "refund-cap",
                "kind": "arg_constraint",
                "tool": "issue_refund",
                "path": "amount",
                "max": True,
            },
            "r.yaml: rules[0] (refund-cap): max: must be a number",
        ),
        (
            {"id": "c", "kind": "arg_constraint", "tool": "issue_refund", "path": "amount"},
            (
                "r.yaml: rules[0] (c): needs at least one of max, min, one_of, "
                "not_one_of, pattern, max_length"
            ),
        ),
        (
            {
                "id": "c",
                "kind": "arg_constraint",
                "tool": "issue_refund",
                "path": "amount",
                "min": 5,
                "max": 1,
            },
            "r.yaml: rules[0] (c): min: 5 is above max 1",
        ),
        (
            {
                "id": "c",
                "kind": "arg_constraint",
                "tool": "issue_refund",
                "path": "a",
                "pattern": "([",
            },
            (
                "r.yaml: rules[0] (c): pattern: invalid regex: unterminated character "
                "set at position 1"
            ),
        ),
        (
            {"id": "c", "kind": "arg_constraint", "tool": "Issue-Refund", "path": "a", "max": 1},
            (
                "r.yaml: rules[0] (c): tool: must be a tool name: a lowercase letter, "
                "then letters, digits, _"
            ),
        ),
        (
            {"id": "c", "kind": "arg_constraint", "tool": "t", "path": "a..b", "max": 1},
            ("r.yaml: rules[0] (c): path: must be a dotted path like amount or items.0.price"),
        ),
        (
            {"id": "c", "kind": "arg_constraint", "tool": "t", "path": "a", "one_of": [{"x": 1}]},
            (
                "r.yaml: rules[0] (c): one_of[0]: must be a string, number, true/false "
                "or null, got dict"
            ),
        ),
        (
            {"id": "x", "kind": "budget", "max_steps": 3, "maxsteps": 4},
            (
                "r.yaml: rules[0] (x): maxsteps: unknown key (allowed: id, description, "
                "verdict, kind, max_steps, max_tokens, max_cost_usd)"
            ),
        ),
        (
            {"id": "x", "kind": "budget"},
            ("r.yaml: rules[0] (x): needs at least one of max_steps, max_tokens, max_cost_usd"),
        ),
        (
            {"id": "x", "kind": "budget", "max_steps": 2.5},
            "r.yaml: rules[0] (x): max_steps: must be an integer",
        ),
        (
            {"id": "x", "kind": "budget", "max_steps": 0},
            "r.yaml: rules[0] (x): max_steps: must be greater than or equal to 1",
        ),
        (
            {"id": "x", "kind": "rate_limit", "max_runs": 3, "window": "soon"},
            "r.yaml: rules[0] (x): window: must be a duration like 30s, 10m, 1h or 7d",
        ),
        (
            {"id": "x", "kind": "rate_limit", "max_runs": 3, "window": 0},
            "r.yaml: rules[0] (x): window: must be longer than zero",
        ),
        (
            {"id": "x", "kind": "tool_allowlist", "tools": ["a"], "verdict": "allow"},
            "r.yaml: rules[0] (x): verdict: must be deny or escalate, got 'allow'",
        ),
        (
            {"id": "x", "kind": "redact_output", "verdict": "deny"},
            "r.yaml: rules[0] (x): verdict: must be redact, got 'deny'",
        ),
        (
            {"id": "x", "kind": "injection", "at": ["output"]},
            "r.yaml: rules[0] (x): at[0]: must be 'input' or 'after_tool'",
        ),
        (
            {"id": "x", "kind": "teleport"},
            (
                "r.yaml: rules[0] (x): kind: unknown kind 'teleport' (one of: "
                "tool_allowlist, arg_constraint, budget, rate_limit, loop, lethal_trifecta, "
                "injection, redact_output)"
            ),
        ),
        (
            {"id": "x"},
            (
                "r.yaml: rules[0] (x): kind: required (one of: tool_allowlist, arg_constraint, "
                "budget, rate_limit, loop, lethal_trifecta, injection, redact_output)"
            ),
        ),
        (
            {"kind": "lethal_trifecta"},
            "r.yaml: rules[0]: id: required",
        ),
        (
            {"id": "builtin.mine", "kind": "lethal_trifecta"},
            (
                "r.yaml: rules[0] (builtin.mine): id: must not start with 'builtin.': "
                "reserved for the engine"
            ),
        ),
        (
            "loop",
            "r.yaml: rules[0]: must be a mapping",
        ),
    ],
)
def test_rule_errors_name_file_rule_and_field(rule: Any, message: str) -> None:
    assert rule_problem(rule) == [message]


def test_the_example_from_the_issue() -> None:
    rules = [
        {"id": "tools", "kind": "tool_allowlist", "tools": ["issue_refund"]},
        {"id": "loop", "kind": "loop", "max_identical_calls": 3},
        {
            "id": "refund-cap",
            "kind": "arg_constraint",
            "tool": "issue_refund",
            "path": "amount",
            "max": "five hundred",
            "verdict": "deny",
        },
    ]
    with pytest.raises(PolicyError) as err:
        parse_policy(
            {"policy_id": "refund", "version": "1", "rules": rules}, source="policies/refund.yaml"
        )
    assert str(err.value) == "policies/refund.yaml: rules[2] (refund-cap): max: must be a number"


def test_duplicate_rule_ids_name_both_places() -> None:
    first = {"id": "cap", "kind": "lethal_trifecta"}
    assert rule_problem(first, first, {"id": "other", "kind": "lethal_trifecta"}) == [
        "r.yaml: rules[2] (cap): id: duplicate of rules[0]"
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            ["a"],
            "r.yaml: must be a mapping with policy_id, version and rules, got a list",
        ),
        (
            None,
            "r.yaml: must be a mapping with policy_id, version and rules, got nothing",
        ),
        ({"version": "1"}, "r.yaml: policy_id: required"),
        (
            {"policy_id": "p", "version": 1.10},
            'r.yaml: version: must be a string: quote it, e.g. version: "1.10"',
        ),
        (
            {"policy_id": "p", "version": "1", "rules": {"id": "x"}},
            "r.yaml: rules: must be a list",
        ),
        (
            {"policy_id": "p", "version": "1", "owner": "me"},
            (
                "r.yaml: owner: unknown key (allowed: policy_id, version, description, "
                "applies_to, rules)"
            ),
        ),
        (
            {"policy_id": "p", "version": "1", "applies_to": {"agent": ["x"]}},
            "r.yaml: applies_to.agent: unknown key (allowed: agents, tenants)",
        ),
        (
            {"policy_id": "p", "version": "1", "applies_to": {"agents": "refund"}},
            "r.yaml: applies_to.agents: must be a list",
        ),
        (
            {"policy_id": "p q", "version": "1"},
            (
                "r.yaml: policy_id: must be 1-100 letters, digits or _ . : - (starting "
                "with a letter or digit)"
            ),
        ),
    ],
)
def test_document_errors(data: Any, message: str) -> None:
    assert problems(data) == [message]


def test_every_problem_is_reported_and_the_message_counts_them() -> None:
    with pytest.raises(PolicyError) as err:
        parse_policy(
            {"policy_id": 5, "version": "1", "rules": [{"id": "a", "kind": "budget"}, 3]},
            source="f.yaml",
        )
    assert err.value.problems == [
        "f.yaml: policy_id: must be a string",
        "f.yaml: rules[0] (a): needs at least one of max_steps, max_tokens, max_cost_usd",
        "f.yaml: rules[1]: must be a mapping",
    ]
    assert str(err.value) == "f.yaml: policy_id: must be a string (and 2 more)"
    assert isinstance(err.value, ValueError)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "p.yaml",
            "policy_id: p\nversion: '1'\nrules: [\n",
            "invalid YAML: line 4, column 1: expected the node content, but found '<stream end>'",
        ),
        (
            "p.yaml",
            "policy_id: p\nversion: '1'\npolicy_id: q\n",
            "invalid YAML: line 3, column 1: duplicate key 'policy_id'",
        ),
        ("p.yaml", "", "must be a mapping with policy_id, version and rules, got nothing"),
        (
            "p.yaml",
            "a: 1\n---\nb: 2\n",
            "invalid YAML: line 2, column 1: but found another document",
        ),
        (
            "p.yaml",
            "x: !!python/object:os.system {}\n",
            (
                "invalid YAML: line 1, column 4: could not determine a constructor for the tag "
                "'tag:yaml.org,2002:python/object:os.system'"
            ),
        ),
        ("p.yaml", "d: 2020-13-45\n", "invalid YAML: month must be in 1..12"),
        (
            "p.json",
            '{"policy_id": "p", "version": "1",}',
            "invalid JSON: line 1, column 35: Expecting property name enclosed in double quotes",
        ),
        ("p.json", '{"a": 1, "a": 2}', "invalid JSON: duplicate key 'a'"),
        ("p.txt", "policy_id: p", "unsupported file type .txt: use .yaml or .json"),
    ],
)
def test_file_errors(tmp_path: Path, name: str, text: str, message: str) -> None:
    path = write(tmp_path, text, name)
    with pytest.raises(PolicyError) as err:
        load_policy_file(path)
    assert err.value.problems == [f"{path}: {message}"]


def test_unreadable_and_binary_files(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(PolicyError, match=r"nope\.yaml: cannot read: No such file or directory"):
        load_policy_file(missing)
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"policy_id: \xff\xfe")
    with pytest.raises(PolicyError, match=r"bin\.yaml: not UTF-8 text \(byte 11\)"):
        load_policy_file(binary)
    directory = tmp_path / "dir.yaml"
    directory.mkdir()
    with pytest.raises(PolicyError, match=r"dir\.yaml: cannot read: Is a directory"):
        load_policy_file(directory)


def test_hostile_patterns_are_policy_errors() -> None:
    base = {"id": "c", "kind": "arg_constraint", "tool": "t", "path": "a"}
    assert rule_problem({**base, "pattern": "a{99999999999}"}) == [
        "r.yaml: rules[0] (c): pattern: invalid regex: the repetition number is too large"
    ]
    assert rule_problem({**base, "pattern": "(" * 2000 + ")" * 2000}) == [
        "r.yaml: rules[0] (c): pattern: invalid regex: nested too deeply"
    ]


def test_huge_numbers_and_deep_nesting_are_policy_errors() -> None:
    huge = {"id": "c", "kind": "arg_constraint", "tool": "t", "path": "a", "max": 10**400}
    assert rule_problem(huge) == ["r.yaml: rules[0] (c): max: is too large"]
    long_window = {"id": "r", "kind": "rate_limit", "max_runs": 1, "window": 10**30}
    assert rule_problem(long_window) == ["r.yaml: rules[0] (r): window: is too long"]
    deep: Any = "x"
    for _ in range(5000):
        deep = [deep]
    assert problems({"policy_id": "p", "version": "1", "rules": [deep]})

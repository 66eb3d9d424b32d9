"""``agentrun policy check``: the rules table, JSON, and one ``error:`` line per problem, exit 2."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import agentrun.agents.refund as refund_agent
from agentrun.cli.policy import policy_app

REFUND_POLICY = Path(refund_agent.__file__).parent / "policy.yaml"
BAD = """\
policy_id: refund
version: "1"
rules:
  - {id: tools, kind: tool_allowlist, tools: [issue_refund]}
  - {id: refund-cap, kind: arg_constraint, tool: issue_refund, path: amount, max: "500"}
"""


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(policy_app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def bad(tmp_path: Path) -> Path:
    path = tmp_path / "refund.yaml"
    path.write_text(BAD, encoding="utf-8")
    return path


def test_valid_file_prints_its_rules_table() -> None:
    code, out, err = run("check", str(REFUND_POLICY))
    assert (code, err) == (0, "")
    assert "refund-agent version 1 · applies to refund · all tenants · sha256 " in out
    for rule_id in (
        "refund-tools",
        "refund-cap",
        "no-loops",
        "lethal-trifecta",
        "injection-screen",
    ):
        assert rule_id in out
    assert "tool=issue_refund path=amount max=500" in out


def test_invalid_file_is_one_error_line_and_exit_2(bad: Path) -> None:
    code, out, err = run("check", str(REFUND_POLICY), str(bad))
    assert code == 2
    assert err.splitlines() == [f"error: {bad}: rules[1] (refund-cap): max: must be a number"]
    assert "refund-agent" in out  # the valid file is still shown


def test_json_output(bad: Path) -> None:
    code, out, _ = run("check", "--json", str(REFUND_POLICY))
    assert code == 0
    report = json.loads(out)
    assert report["ok"] is True
    assert report["errors"] == []
    (policy,) = report["policies"]
    assert (policy["policy_id"], policy["version"]) == ("refund-agent", "1")
    assert len(policy["digest"]) == 64
    cap = next(r for r in policy["rules"] if r["id"] == "refund-cap")
    assert cap == {
        "index": 1,
        "id": "refund-cap",
        "kind": "arg_constraint",
        "verdict": "deny",
        "checkpoints": ["before_tool"],
        "settings": {"tool": "issue_refund", "path": "amount", "max": 500.0},
        "description": cap["description"],
    }
    code, out, err = run("check", "--json", str(bad))
    assert code == 2
    assert json.loads(out)["errors"] == [f"{bad}: rules[1] (refund-cap): max: must be a number"]
    assert err.startswith("error: ")


def test_files_that_conflict_with_each_other(tmp_path: Path) -> None:
    one = tmp_path / "one.yaml"
    one.write_text("policy_id: same\nversion: '1'\n", encoding="utf-8")
    two = tmp_path / "two.json"
    two.write_text('{"policy_id": "same", "version": "2"}', encoding="utf-8")
    code, _, err = run("check", str(one), str(two))
    assert code == 2
    assert err.strip() == f"error: {one}, {two}: policy same: given twice"


def test_missing_file_and_no_arguments(tmp_path: Path) -> None:
    code, _, err = run("check", str(tmp_path / "absent.yaml"))
    assert code == 2
    assert (
        err.strip() == f"error: {tmp_path / 'absent.yaml'}: cannot read: No such file or directory"
    )
    code, _, _ = run("check")
    assert code == 2  # usage error: at least one file


def test_real_process_exit_code_and_no_traceback(bad: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "agentrun.cli.policy", "check", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == f"error: {bad}: rules[1] (refund-cap): max: must be a number"

"""The alert rules (deploy/prometheus/rules.yml) pass ``promtool check rules`` and their unit
tests (rules_test.yml) pass ``promtool test rules``: each alert fires on synthetic series above
its threshold and stays quiet at and below it. The thresholds are SPEC §5's, and the unit tests
catch a rule whose threshold moves.

promtool comes with Debian's ``prometheus`` package (.ci/run installs it); without it these
tests skip, saying so.
"""

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
RULES_DIR = ROOT / "deploy" / "prometheus"
RULES = RULES_DIR / "rules.yml"
RULES_TEST = RULES_DIR / "rules_test.yml"
PROMTOOL = shutil.which("promtool")

needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool not installed (Debian: apt-get install prometheus)"
)

# Each alert and the comparison its expression ends in (SPEC §5 and the list).
THRESHOLDS = {
    "AgentRunErrorRateHigh": ") > 0.05",  # error rate above 5 %
    "AgentRunLatencyP95High": ") > 10",  # p95 run latency above 10 s
    "AgentRunToolFailureRateHigh": ") > 0.03",  # tool failure rate above 3 %
    "AgentRunReviewDeadlineMissed": ") > 0",  # any review past its deadline
    "AgentRunSecurityEvent": ") > 0",  # any security event
    "AgentRunPolicyDenied": ") > 0",  # any policy denial
    "AgentRunLoopDetected": ") > 0",  # any loop
}


def alerts() -> dict[str, dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return {rule["alert"]: rule for group in groups for rule in group["rules"] if "alert" in rule}


def promtool(*args: str, cwd: Path = RULES_DIR) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run(
        [PROMTOOL, *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


def test_each_alert_has_its_threshold_and_a_runbook() -> None:
    found = alerts()
    assert set(found) == set(THRESHOLDS)
    for name, rule in found.items():
        assert THRESHOLDS[name] in rule["expr"], name
        assert rule["labels"]["severity"] in ("page", "warning"), name
        annotations = rule["annotations"]
        assert {"summary", "description", "runbook_url"} <= set(annotations), name
        page, _, anchor = annotations["runbook_url"].partition("#")
        assert (ROOT / page).is_file(), name
        assert f"\n### {anchor.replace('-', ' ').capitalize()}\n" in (ROOT / page).read_text()


def test_each_alert_is_tested_firing_and_quiet() -> None:
    tested: dict[str, set[bool]] = {}
    for case in yaml.safe_load(RULES_TEST.read_text())["tests"]:
        for check in case.get("alert_rule_test", []):
            tested.setdefault(check["alertname"], set()).add(bool(check["exp_alerts"]))
    assert tested == {name: {True, False} for name in THRESHOLDS}


@needs_promtool
def test_promtool_checks_the_rules() -> None:
    checked = promtool("check", "rules", str(RULES))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(THRESHOLDS)} rules found" in checked.stdout


@needs_promtool
def test_promtool_unit_tests_pass() -> None:
    tested = promtool("test", "rules", RULES_TEST.name)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout


@needs_promtool
@pytest.mark.parametrize(
    ("alert", "moved"),
    [
        ("AgentRunErrorRateHigh", ") > 0.07"),
        ("AgentRunLatencyP95High", ") > 30"),
        ("AgentRunToolFailureRateHigh", ") > 0.02"),
        ("AgentRunReviewDeadlineMissed", ") > 1"),
        ("AgentRunSecurityEvent", ") > 1"),
        ("AgentRunPolicyDenied", ") > 1"),
        ("AgentRunLoopDetected", ") > 1"),
    ],
)
def test_the_unit_tests_catch_a_moved_threshold(alert: str, moved: str, tmp_path: Path) -> None:
    """The same unit tests against rules with one threshold moved (up or down) fail."""
    document = yaml.safe_load(RULES.read_text())
    for group in document["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") == alert:
                assert THRESHOLDS[alert] in rule["expr"]
                rule["expr"] = rule["expr"].replace(THRESHOLDS[alert], moved)
    (tmp_path / RULES.name).write_text(yaml.safe_dump(document, sort_keys=False))
    shutil.copy(RULES_TEST, tmp_path / RULES_TEST.name)
    tested = promtool("test", "rules", RULES_TEST.name, cwd=tmp_path)
    assert tested.returncode != 0, tested.stdout
    assert alert in tested.stdout + tested.stderr

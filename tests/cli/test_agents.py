"""``agentrun agents``: what a newcomer can run here, and an input that starts each agent."""

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

from agentrun.agents.refund import RefundRequest

AGENTRUN = str(Path(sys.executable).parent / "agentrun")
REPO = Path(__file__).resolve().parents[2]  # so agent modules under tests/ import


def agentrun(*args: str, modules: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTRUN_")}
    env.update(AGENTRUN_AGENT_MODULES=modules, COLUMNS="200")
    return subprocess.run(
        [AGENTRUN, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_agents_lists_versions_inputs_and_a_command_that_validates() -> None:
    listed = agentrun("agents", "--json", modules="agentrun.agents.refund,tests.support.agents")
    assert listed.returncode == 0, listed.stderr
    agents = {agent["name"]: agent for agent in json.loads(listed.stdout)}
    assert {"refund", "echo", "flaky"} <= set(agents)
    versions = {v["version"]: v for v in agents["refund"]["versions"]}
    assert sorted(versions) == ["1", "2"]  # 1 stays registered for its runs in flight
    refund = versions["2"]
    assert (agents["refund"]["default_version"], refund["default"]) == ("2", True)
    assert refund["reviewers"] == ["alice", "bob"]
    assert refund["input_schema"]["required"] == ["order_id", "reason", "amount"]
    RefundRequest.model_validate(refund["example_input"])

    human = agentrun("agents", modules="agentrun.agents.refund")
    assert human.returncode == 0, human.stderr
    assert "refund@2 (default)" in human.stdout
    commands = [line for line in human.stdout.splitlines() if "try it" in line]
    assert len(commands) == 2
    [command] = [line for line in commands if "--version" not in line]
    assert any("agentrun run refund --version 1 --input" in line for line in commands)
    words = shlex.split(command.split("try it", 1)[1])
    assert words[:3] == ["agentrun", "run", "refund"]
    assert json.loads(words[words.index("--input") + 1]) == refund["example_input"]


def test_an_agent_that_cannot_finish_is_refused_in_one_line() -> None:
    result = agentrun("agents", modules="tests.support.incomplete_agents")
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: agent hello@1 cannot complete a run: reviewers: none, but ")
    assert "review.mode is 'always'" in line
    assert "Traceback" not in result.stderr

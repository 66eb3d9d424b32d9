"""``agentrun versions`` and the worker's refusal of a changed version, as a user meets them:
an agent module of their own, a real SQLite store, the CLI and the worker as subprocesses."""

import json
import os
import subprocess
import sys
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from tests.support.store import migrate_data_dir

MODULE = """
from pydantic import BaseModel
from agentrun.agents.registry import AgentDefinition
from agentrun.contracts.agents import AgentSpec, Budget, ModelSettings, ScriptedOptions, ScriptStep


class Ask(BaseModel):
    question: str


def agent(version: str, prompt: str, budget: float) -> AgentDefinition:
    script = ScriptedOptions(script=(ScriptStep(final={{"answer": "hi"}}),))
    spec = AgentSpec(
        name="greeter", version=version, system_prompt=prompt,
        model=ModelSettings(scripted=script), budget=Budget(max_cost_usd=budget),
        reviewers=("ana",),
    )
    return AgentDefinition(spec=spec, input_model=Ask, tools=())


def register(registry):
    registry.register(agent("1", {prompt!r}, 1.0))
    registry.register(agent("2", "Greet the customer by name.", 2.5), default=True)
"""


def write_module(where: Path, prompt: str) -> None:
    (where / "greeter_agents.py").write_text(MODULE.format(prompt=prompt))


def agentrun(data_dir: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "AGENTRUN_DATA_DIR": str(data_dir),
        "AGENTRUN_AGENT_MODULES": "greeter_agents",
        "AGENTRUN_TASK_QUEUE": f"versions-{data_dir.name}",
        "PYTHONPATH": os.pathsep.join([str(data_dir), os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.run(
        [sys.executable, "-m", "agentrun.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


def publish(data_dir: Path) -> None:
    """What a worker does as it starts (publish_versions), without a worker to stop."""
    from agentrun.agents.registry import AgentRegistry, load_agent_modules
    from agentrun.store.db import make_engine, session_factory
    from agentrun.workers.versions import publish_versions

    sys.path.insert(0, str(data_dir))
    try:
        sys.modules.pop("greeter_agents", None)
        registry = load_agent_modules(AgentRegistry(), ["greeter_agents"])
    finally:
        sys.path.remove(str(data_dir))
        sys.modules.pop("greeter_agents", None)
    engine = make_engine(migrate_data_dir(data_dir))
    try:
        assert publish_versions(session_factory(engine), registry) == ["greeter@1", "greeter@2"]
    finally:
        engine.dispose()


def test_list_and_diff_published_versions(tmp_path: Path) -> None:
    write_module(tmp_path, "Greet the customer.")
    migrate_data_dir(tmp_path)
    before = agentrun(tmp_path, "versions", "list", "greeter")
    assert before.returncode == 0, before.stderr
    assert before.stdout.count("registered here, not published yet") == 2

    publish(tmp_path)
    listed = agentrun(tmp_path, "versions", "list", "greeter", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [(r["version"], r["status"], r["runs"]) for r in rows] == [
        ("1", "published", 0),
        ("2", "published", 0),
    ]
    assert all(r["digest"].startswith("sha256:") for r in rows)
    assert rows[0]["digest"] != rows[1]["digest"]

    diff = agentrun(tmp_path, "versions", "diff", "greeter", "1", "2")
    assert diff.returncode == 0, diff.stderr
    lines = diff.stdout.splitlines()
    assert lines[0] == "greeter@1 -> greeter@2: 3 changes"
    assert "  spec.budget.max_cost_usd: 1.0 -> 2.5" in lines
    assert '  spec.system_prompt: "Greet the customer." -> "Greet the customer by name."' in lines
    assert '  spec.version: "1" -> "2"' in lines

    same = agentrun(tmp_path, "versions", "diff", "greeter", "2", "2")
    assert same.stdout.strip() == "greeter@2 and greeter@2 have the same content"


def test_a_changed_version_is_flagged_and_a_worker_refuses_it(
    tmp_path: Path, temporal_env: WorkflowEnvironment
) -> None:
    write_module(tmp_path, "Greet the customer.")
    publish(tmp_path)
    write_module(tmp_path, "Greet the customer, then upsell.")  # edited, version not bumped

    listed = agentrun(tmp_path, "versions", "list", "greeter")
    assert listed.returncode == 0, listed.stderr
    (one,) = [line for line in listed.stdout.splitlines() if line.startswith("greeter@1 ")]
    assert "CONTENT DIFFERS: a worker would refuse it" in one

    address = temporal_env.client.service_client.config.target_host
    worker = agentrun(tmp_path, "worker", "--address", address)
    assert worker.returncode == 1
    assert worker.stderr.startswith("error: agent greeter@1 was registered on "), worker.stderr
    assert (
        'with other content (spec.system_prompt: "Greet the customer." -> '
        '"Greet the customer, then upsell."): a version is immutable, give the change a new '
        "version (AgentSpec.version)"
    ) in worker.stderr
    assert "Traceback" not in worker.stderr
    # The published snapshot is untouched: the diff still reads the first content.
    diff = agentrun(tmp_path, "versions", "diff", "greeter", "1", "2", "--json")
    assert json.loads(diff.stdout)["changes"][1].startswith(
        'spec.system_prompt: "Greet the customer." ->'
    )


def test_unknown_agent_and_version_are_named(tmp_path: Path) -> None:
    write_module(tmp_path, "Greet the customer.")
    migrate_data_dir(tmp_path)
    unknown = agentrun(tmp_path, "versions", "list", "nobody")
    assert (unknown.returncode, unknown.stderr.strip()) == (
        1,
        "error: unknown agent 'nobody': no version of it is published or registered",
    )
    missing = agentrun(tmp_path, "versions", "diff", "greeter", "1", "7")
    assert (missing.returncode, missing.stderr.strip()) == (
        1,
        "error: agent 'greeter' has no version '7'; known: 1, 2",
    )

"""The two workflow sandboxes a worker can run (``AGENTRUN_WORKFLOW_SANDBOX``).

The suite's workers run the default (``shared``); here a worker in the ``isolated`` sandbox runs
a refund through its email gate, so that the sandbox's restrictions watch agentrun's
workflow code on a live run too (the replay test does so on every recorded history).
"""

import sys
import uuid
from pathlib import Path

import pytest
from pydantic import ValidationError
from temporalio.testing import WorkflowEnvironment

from agentrun.client import AgentRunClient
from agentrun.contracts.review import Decision, ReviewDecision
from agentrun.contracts.runs import RunRequest
from agentrun.contracts.states import RunState
from agentrun.settings import Settings
from agentrun.workers.worker import (
    ISOLATED_RUNNER,
    SHARED_RUNNER,
    WORKFLOWS,
    build_worker,
    workflow_runner,
)
from tests.conftest import TEST_AGENT_MODULES
from tests.support.store import migrate_data_dir
from tests.support.waiting import wait_for_review

SAMPLE = {"order_id": "1001", "reason": "arrived broken", "amount": 60}


def test_shared_is_the_default_and_isolated_is_chosen_by_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert workflow_runner(Settings()) is SHARED_RUNNER
    monkeypatch.setenv("AGENTRUN_WORKFLOW_SANDBOX", "isolated")
    assert workflow_runner(Settings()) is ISOLATED_RUNNER


def test_an_unknown_sandbox_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTRUN_WORKFLOW_SANDBOX", "none")
    with pytest.raises(ValidationError, match="workflow_sandbox"):
        Settings()


def test_only_the_shared_runner_passes_agentrun_through() -> None:
    """The isolated sandbox imports the workflow modules again for each run; the shared one
    takes them from the worker's own imports."""
    assert "agentrun" in SHARED_RUNNER.restrictions.passthrough_modules
    assert "agentrun" not in ISOLATED_RUNNER.restrictions.passthrough_modules
    for workflow in WORKFLOWS:
        assert workflow.__module__ in sys.modules


async def test_a_run_completes_in_the_isolated_sandbox(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    migrate_data_dir(tmp_path)
    settings = Settings(
        data_dir=tmp_path,
        agent_modules=TEST_AGENT_MODULES,
        task_queue=f"isolated-{uuid.uuid4().hex[:8]}",
        workflow_sandbox="isolated",
    )
    runs = AgentRunClient(temporal_env.client, task_queue=settings.task_queue)
    async with build_worker(temporal_env.client, settings):
        run_id = await runs.start(RunRequest(agent="refund", input=SAMPLE, tenant_id="acme"))
        waiting = await wait_for_review(runs, run_id, "tool_approval")
        assert waiting.pending_review is not None
        assert waiting.pending_review.tool == "send_email"
        await runs.review(run_id, ReviewDecision(decision=Decision.APPROVE, reviewer="alice"))
        result = await runs.result(run_id)
    assert result.state is RunState.COMPLETED

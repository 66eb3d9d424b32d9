"""Replay of recorded histories: a change that would break runs in flight fails CI here."""

from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from agentrun.contracts.names import AGENT_RUN_WORKFLOW
from agentrun.contracts.runs import RunRequest, RunResult
from agentrun.contracts.states import RunState
from agentrun.converter import DATA_CONVERTER
from agentrun.workers.worker import (
    ISOLATED_RUNNER,
    SHARED_RUNNER,
    WORKFLOWS,
    preload_phone_metadata,
)
from agentrun.workflows.agent_run import AgentRunWorkflow

HISTORIES = sorted((Path(__file__).resolve().parents[1] / "histories").glob("*.json"))
# Workers share agentrun's modules between runs (the default); in the isolated sandbox every
# run imports them again and the sandbox's restrictions watch agentrun's code as it replays,
# so a clock, random number or environment read on any recorded path fails here.
RUNNERS = {"shared": SHARED_RUNNER, "isolated": ISOLATED_RUNNER}


def _load(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(path.stem, path.read_text())


def test_histories_are_checked_in() -> None:
    assert len(HISTORIES) >= 8


def test_a_run_continued_as_new_is_in_the_corpus() -> None:
    """Both sides of a continue-as-new replay below: the execution that carried its state out,
    and one that began from it (docs/lifecycle.md)."""
    continued = [
        path
        for path in HISTORIES
        if _load(path)
        .events[0]
        .workflow_execution_started_event_attributes.continued_execution_run_id
    ]
    assert continued, "no history of an execution that continued another"
    ended = {
        path.stem
        for path in HISTORIES
        if _load(path).events[-1].HasField("workflow_execution_continued_as_new_event_attributes")
    }
    assert ended, "no history of an execution that continued as new"


@pytest.mark.parametrize("sandbox", RUNNERS)
@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_recorded_history_replays(path: Path, sandbox: str) -> None:
    # The replayer picks the workflow by the type its history names.
    preload_phone_metadata()  # as a worker does before running any workflow
    replayer = Replayer(
        workflows=list(WORKFLOWS), data_converter=DATA_CONVERTER, workflow_runner=RUNNERS[sandbox]
    )
    result = await replayer.replay_workflow(_load(path), raise_on_replay_failure=True)
    assert result.replay_failure is None


@workflow.defn(name=AGENT_RUN_WORKFLOW, sandboxed=False)
class ReorderedAgentRun(AgentRunWorkflow):
    """The same workflow with one innocent-looking change: transitions stop upserting state."""

    @workflow.run
    async def run(self, request: RunRequest) -> RunResult:
        return await super().run(request)

    def _enter(
        self,
        target: RunState,
        reason: str,
        *,
        version: str | None = None,  # noqa: ARG002 -- the signature being replaced
    ) -> None:
        self._machine.transition(target, workflow.now(), reason)


async def test_a_nondeterministic_change_is_caught() -> None:
    replayer = Replayer(workflows=[ReorderedAgentRun], data_converter=DATA_CONVERTER)
    with pytest.raises(NondeterminismError):
        await replayer.replay_workflow(_load(HISTORIES[0]), raise_on_replay_failure=True)

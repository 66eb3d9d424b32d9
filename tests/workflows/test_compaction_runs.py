"""Runs whose conversation outgrows the declared context window (docs/models.md, "Long
conversations"), end to end on the scripted model, which refuses a prompt past the window as a
hosted model does: with ``drop_oldest`` or ``summarize`` the run compacts, completes, and shows
the compaction in its status; with ``fail`` it fails ``context_overflow``, as runs always did."""

import uuid
from collections.abc import AsyncIterator

import pytest
from temporalio.testing import WorkflowEnvironment

from agentrun.client import AgentRunClient
from agentrun.contracts import FailureCategory, RunRequest, RunState
from agentrun.contracts.agents import CompactionStrategy
from agentrun.settings import Settings
from agentrun.workers.worker import build_worker
from tests.support.compaction_agents import DROPPING, FAILING, KEEP, READS, SUMMARIZING, WINDOW


@pytest.fixture(scope="module")
async def compacting(
    temporal_env: WorkflowEnvironment, settings: Settings
) -> AsyncIterator[AgentRunClient]:
    queue = f"compaction-{uuid.uuid4().hex[:8]}"
    own = settings.model_copy(
        update={"task_queue": queue, "agent_modules": ("tests.support.compaction_agents",)}
    )
    async with build_worker(temporal_env.client, own):
        yield AgentRunClient(temporal_env.client, task_queue=queue)


def _request(agent: str) -> RunRequest:
    return RunRequest(
        agent=agent,
        input={"topic": "tides"},
        tenant_id=f"compaction-{uuid.uuid4().hex[:8]}",
    )


@pytest.mark.parametrize(
    "strategy", [CompactionStrategy.DROP_OLDEST, CompactionStrategy.SUMMARIZE], ids=str
)
async def test_a_run_past_its_window_compacts_and_completes(
    compacting: AgentRunClient, strategy: CompactionStrategy
) -> None:
    agent = DROPPING if strategy is CompactionStrategy.DROP_OLDEST else SUMMARIZING
    run_id = await compacting.start(_request(agent))

    result = await compacting.result(run_id)
    status = await compacting.status(run_id)

    assert result.state is RunState.COMPLETED, result.failure
    assert result.output == {"topic": "tides", "last": f"p{READS - 1}"}
    assert [c.tool for c in status.tool_calls] == ["read_page"] * READS
    compactions = status.compactions
    assert compactions, "8 pages of ~480 tokens do not fit a threshold of 2,400"
    steps = [c.step for c in compactions]
    assert steps == sorted(set(steps))
    left_out = [c.turns_left_out for c in compactions]
    assert left_out == sorted(set(left_out))
    for compaction in compactions:
        assert (compaction.strategy, compaction.reason) == (strategy, "threshold")
        assert compaction.window_tokens == WINDOW
        # The call at step s held s - 1 turns; it kept at least the last KEEP.
        assert compaction.step - 1 - compaction.turns_left_out >= KEEP
        assert compaction.tokens_before > 0.8 * WINDOW > compaction.tokens_after
        # Each later summary extends the one before: one call per compaction on one worker.
        assert compaction.summary_calls == (strategy is CompactionStrategy.SUMMARIZE)


async def test_fail_fails_the_run_as_context_overflow(compacting: AgentRunClient) -> None:
    run_id = await compacting.start(_request(FAILING))

    result = await compacting.result(run_id)

    assert result.state is RunState.FAILED
    assert result.failure is not None
    assert result.failure.category is FailureCategory.CONTEXT_OVERFLOW
    assert "exceeds the model's context window (3000 tokens" in result.failure.message
    assert (await compacting.status(run_id)).compactions == []

"""``AgentRunClient.watch`` against a real server: each change once, in order, ending at the end.

A service follows a run with ``async for status in client.watch(run_id)``; what it must be able
to rely on is that it sees the run wait for a person, sees it finish, and is not left waiting
when the run ends in a way the run itself cannot record (a termination).
"""

import asyncio
import itertools
import time

import pytest
from temporalio.testing import WorkflowEnvironment

from agentrun.client import AgentRunClient, RunNotFound
from agentrun.client.watch import watched
from agentrun.contracts import Decision, FailureCategory, ReviewDecision, RunRequest, RunState
from agentrun.contracts.runs import RunStatus
from agentrun.settings import Settings
from tests.support.waiting import wait_for_review

WATCH_TIMEOUT_S = 30.0


class CountingClient(AgentRunClient):
    """The real client, counting its status queries: what a watch costs the server."""

    polls = 0

    async def status(self, run_id: str) -> RunStatus:
        self.polls += 1
        return await super().status(run_id)


async def _follow(runs: AgentRunClient, run_id: str, decision: Decision) -> list[RunStatus]:
    """Every status the watch yields, deciding the run's review when the watch shows it."""
    seen: list[RunStatus] = []
    async with asyncio.timeout(WATCH_TIMEOUT_S):
        async for status in runs.watch(run_id):
            seen.append(status)
            if status.pending_review is not None:
                await runs.review(run_id, ReviewDecision(decision=decision, reviewer="alice"))
    return seen


async def test_watch_yields_the_review_then_the_end(runs: AgentRunClient) -> None:
    run_id = await runs.start(RunRequest(agent="reviewed", input={"key": "w"}))

    seen = await _follow(runs, run_id, Decision.APPROVE)

    assert seen[-1].state is RunState.COMPLETED
    assert all(not status.state.terminal for status in seen[:-1])
    waiting = [status for status in seen if status.pending_review is not None]
    assert len(waiting) == 1  # unchanged polls are not yielded again
    assert waiting[0].state is RunState.REVIEWING
    assert waiting[0].pending_review is not None
    assert waiting[0].pending_review.reviewers == ("alice", "bob")
    assert [call.tool for call in seen[-1].tool_calls] == ["echo"]
    assert seen[-1].usage.tokens.total > 0
    order = list(RunState)
    assert [order.index(s.state) for s in seen] == sorted(order.index(s.state) for s in seen)
    for before, after in itertools.pairwise(seen):
        assert watched(before) != watched(after)


async def test_watch_ends_at_a_rejection_with_its_category(runs: AgentRunClient) -> None:
    run_id = await runs.start(RunRequest(agent="reviewed", input={"key": "no"}))

    seen = await _follow(runs, run_id, Decision.REJECT)

    assert seen[-1].state is RunState.FAILED
    assert seen[-1].failure is not None
    assert seen[-1].failure.category is FailureCategory.REVIEW_REJECTED
    assert [review.decision for review in seen[-1].reviews] == [Decision.REJECT]


async def test_an_ended_run_is_yielded_once(runs: AgentRunClient) -> None:
    run_id = await runs.start(RunRequest(agent="echo", input={"key": "done"}))
    await runs.result(run_id)

    async with asyncio.timeout(WATCH_TIMEOUT_S):
        seen = [status async for status in runs.watch(run_id)]

    assert [status.state for status in seen] == [RunState.COMPLETED]


async def test_an_unknown_run_raises_run_not_found(runs: AgentRunClient) -> None:
    with pytest.raises(RunNotFound, match="no run with id 'no-such-run'"):
        async for _ in runs.watch("no-such-run"):
            pass


async def test_a_run_terminated_by_temporal_ends_the_watch(
    runs: AgentRunClient, temporal_env: WorkflowEnvironment
) -> None:
    """The run cannot record a termination (its status still says REVIEWING): the watch learns
    of it from the run's close and ends FAILED, instead of polling forever."""
    run_id = await runs.start(RunRequest(agent="reviewed", input={"key": "t"}))
    await wait_for_review(runs, run_id)
    seen: list[RunStatus] = []

    async with asyncio.timeout(WATCH_TIMEOUT_S):
        async for status in runs.watch(run_id):
            seen.append(status)
            if len(seen) == 1:
                await temporal_env.client.get_workflow_handle(run_id).terminate("ops drill")

    assert [status.state for status in seen] == [RunState.REVIEWING, RunState.FAILED]
    assert seen[-1].failure is not None
    assert seen[-1].failure.category is FailureCategory.INTERNAL
    assert seen[-1].pending_review is None
    assert seen[-1].transitions[-1].target is RunState.FAILED


async def test_polls_slow_down_while_nothing_changes(
    runs: AgentRunClient, temporal_env: WorkflowEnvironment, settings: Settings
) -> None:
    """0.2 s after a change, growing to 2 s: a run waiting days for a person costs a query
    every 2 s, while a run that moves is seen moving within a fraction of a second."""
    run_id = await runs.start(RunRequest(agent="reviewed", input={"key": "quiet"}))
    await wait_for_review(runs, run_id)
    counting = CountingClient(temporal_env.client, task_queue=settings.task_queue)
    watch = counting.watch(run_id)
    first = await anext(watch)
    assert first.pending_review is not None

    quiet_s = 5.0
    ending = asyncio.ensure_future(anext(watch))
    await asyncio.sleep(quiet_s)
    polls_while_quiet = counting.polls - 1
    started = time.monotonic()
    await runs.review(run_id, ReviewDecision(decision=Decision.APPROVE, reviewer="bob"))
    last = await asyncio.wait_for(ending, WATCH_TIMEOUT_S)
    noticed_s = time.monotonic() - started

    # Backoff 0.2, 0.3, 0.45, ... capped at 2 s: 6 polls in 5 s (25 at a steady 0.2 s).
    assert 3 <= polls_while_quiet <= 9, polls_while_quiet
    assert last.state is RunState.COMPLETED
    assert noticed_s < 1.5, noticed_s  # the run's end wakes the watch, not the next poll
    with pytest.raises(StopAsyncIteration):
        await anext(watch)

"""The two sides of the comparison: their workers, and how one run of each is started and awaited.

Both are started and awaited the way a service would (agentrun through its client), because the
platform's client-side work is part of what a caller pays for a run.
"""

import asyncio
from datetime import timedelta
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from agentrun.agents.refund import REFUND_AGENT_NAME, build_refund_agent, register
from agentrun.agents.registry import AgentRegistry
from agentrun.client import AgentRunClient
from agentrun.contracts.agents import ReviewMode, ReviewPolicy
from agentrun.contracts.runs import RunRequest
from agentrun.contracts.states import RunState
from agentrun.settings import Settings
from bench._bare import BARE_TASK_QUEUE, BARE_WORKFLOW, BareActivities, BareRefund
from bench._measure import RunOnce

BENCH_VERSION = "bench"
AGENTRUN_TASK_QUEUE = "bench-agentrun"
# Order 1001 with an amount under the approval threshold: no human gate, so both sides are pure
# machine work.
RUN_INPUT: dict[str, Any] = {"order_id": "1001", "reason": "arrived broken", "amount": 60.0}
RUN_TIMEOUT_S = 60.0


class BenchError(RuntimeError):
    """The benchmark itself went wrong (a run failed, the two sides did different work)."""


def bench_registry() -> AgentRegistry:
    """The worker's usual registry plus a variant without review or email approval, so no run
    waits for a human."""
    registry = AgentRegistry()
    register(registry)
    never = ReviewPolicy(mode=ReviewMode.NEVER, sample_rate=0.0)
    registry.register(build_refund_agent(BENCH_VERSION, review=never, email_approval=False))
    return registry


def agentrun_runner(client: Client, task_queue: str = AGENTRUN_TASK_QUEUE) -> RunOnce:
    """One refund run through agentrun's client, started and awaited as a service would."""
    runs = AgentRunClient(client, task_queue=task_queue)

    async def agentrun_once(workflow_id: str) -> dict[str, Any]:
        request = RunRequest(
            agent=REFUND_AGENT_NAME, version=BENCH_VERSION, input=RUN_INPUT, request_id=workflow_id
        )
        await runs.start(request)
        result = await asyncio.wait_for(runs.result(workflow_id), RUN_TIMEOUT_S)
        if result.state is not RunState.COMPLETED or result.output is None:
            raise BenchError(f"agentrun run {workflow_id} ended {result.state}: {result.failure}")
        return result.output

    return agentrun_once


def runners(client: Client) -> tuple[RunOnce, RunOnce]:
    async def bare_once(workflow_id: str) -> dict[str, Any]:
        handle = await client.start_workflow(
            BARE_WORKFLOW, RUN_INPUT, id=workflow_id, task_queue=BARE_TASK_QUEUE
        )
        output: dict[str, Any] = await asyncio.wait_for(handle.result(), RUN_TIMEOUT_S)
        return output

    return agentrun_runner(client), bare_once


def bare_worker(client: Client, settings: Settings) -> Worker:
    """Worker options as agentrun's, so that worker tuning is not part of the difference."""
    bare = BareActivities(settings.data_dir)
    return Worker(
        client,
        task_queue=BARE_TASK_QUEUE,
        workflows=[BareRefund],
        activities=[bare.model, *bare.tool_activities()],
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=settings.sticky_queue_timeout_s),
        max_concurrent_activities=settings.max_concurrent_activities,
        graceful_shutdown_timeout=timedelta(seconds=10),
    )

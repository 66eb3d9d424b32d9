"""Activity-side metrics on the worker's Prometheus endpoint, exact after three known runs."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from agentrun.client import AgentRunClient
from agentrun.contracts import RunRequest
from agentrun.contracts.names import Metric
from agentrun.contracts.runs import RunStatus
from agentrun.contracts.states import RunState
from agentrun.observability.metrics import MODEL_COST_MICRO_USD
from agentrun.observability.telemetry import HISTOGRAM_BUCKETS
from tests.support.prometheus import MeteredWorker as Metered
from tests.support.prometheus import Samples, metered_worker, scrape, total


@pytest.fixture
async def metered(temporal_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Metered]:
    async with metered_worker(temporal_env, tmp_path) as worker:
        yield worker


async def _run(runs: AgentRunClient, agent: str) -> RunStatus:
    run_id = await runs.start(RunRequest(agent=agent, input={"key": "m"}))
    await runs.result(run_id)
    return await runs.status(run_id)


async def test_tool_and_model_metrics_count_known_runs(metered: Metered) -> None:
    runs = metered.runs
    echo, flaky, strict = [await _run(runs, a) for a in ("echo", "flaky", "strict")]
    assert (echo.state, flaky.state, strict.state) == (
        RunState.COMPLETED,
        RunState.COMPLETED,
        RunState.FAILED,
    )

    samples: Samples = []
    for _ in range(50):  # the exporter publishes periodically
        samples = scrape(metered.port)
        if total(samples, Metric.TOOL_CALLS) >= 4 and total(samples, "temporal_workflow_failed"):
            break
        await asyncio.sleep(0.2)

    # One observation per attempt: flaky_read failed once (503, retried), then succeeded.
    calls = Metric.TOOL_CALLS
    assert total(samples, calls) == 4
    assert total(samples, calls, tool="echo", status="success", retryable="false") == 1
    assert (
        total(samples, calls, tool="flaky_read", status="error", error_class="http_503")
        == total(samples, calls, tool="flaky_read", status="error", retryable="true")
        == 1
    )
    assert total(samples, calls, tool="flaky_read", status="success", error_class="none") == 1
    (strict_call,) = strict.tool_calls
    assert strict_call.error_class == "http_404"
    assert (
        total(samples, calls, tool="strict_read", status="error", error_class="http_404")
        == total(samples, calls, tool="strict_read", status="error", retryable="false")
        == 1
    )

    count = f"{Metric.TOOL_DURATION}_count"
    assert total(samples, count) == 4
    assert total(samples, count, tool="flaky_read", status="error") == 1
    assert total(samples, count, tool="flaky_read", status="success") == 1
    buckets = {
        lab["le"] for n, lab, _ in samples if n == f"{Metric.TOOL_DURATION}_bucket" and "le" in lab
    }
    assert buckets == {f"{b:g}" for b in HISTOGRAM_BUCKETS[Metric.TOOL_DURATION]} | {"+Inf"}

    for status in (echo, flaky, strict):
        tokens, agent = status.usage.tokens, status.agent
        tokens_metric = Metric.MODEL_TOKENS
        assert total(samples, tokens_metric, agent=agent, direction="input") == (
            tokens.input_tokens
        )
        assert total(samples, tokens_metric, agent=agent, direction="output") == (
            tokens.output_tokens
        )
        micro = total(samples, MODEL_COST_MICRO_USD, agent=agent, model="scripted-1")
        # Each call's cost is rounded to a whole micro-dollar before it is counted.
        assert micro > 0
        assert abs(micro - status.usage.model_cost_usd * 1e6) <= 0.5 * status.usage.model_calls

    # The SDK's own metrics come out of the same endpoint, for this worker's task queue.
    queue = metered.task_queue
    assert total(samples, "temporal_workflow_completed", task_queue=queue) == 2
    assert total(samples, "temporal_workflow_failed", task_queue=queue) == 1
    assert total(samples, "temporal_activity_execution_failed", task_queue=queue) == 2

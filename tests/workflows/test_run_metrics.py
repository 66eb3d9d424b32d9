"""Run-level metrics on the worker's Prometheus endpoint, with exact values after known runs."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.testing import WorkflowEnvironment

from agentrun.client import AgentRunClient
from agentrun.contracts import Decision, ReviewDecision, RunRequest
from agentrun.converter import DATA_CONVERTER
from agentrun.settings import Settings
from agentrun.workers.worker import build_worker
from tests.conftest import TEST_AGENT_MODULES
from tests.support.prometheus import free_port, scrape, total
from tests.support.store import migrate_data_dir
from tests.support.waiting import wait_for_review


@pytest.fixture
async def metered(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> AsyncIterator[tuple[AgentRunClient, int]]:
    port = free_port()
    runtime = Runtime(
        telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=f"127.0.0.1:{port}"))
    )
    client = await Client.connect(
        temporal_env.client.service_client.config.target_host,
        data_converter=DATA_CONVERTER,
        runtime=runtime,
    )
    migrate_data_dir(tmp_path)
    settings = Settings(data_dir=tmp_path, agent_modules=TEST_AGENT_MODULES, task_queue="metered")
    async with build_worker(client, settings):
        yield AgentRunClient(client, task_queue="metered"), port


async def test_run_metrics_count_known_runs(metered: tuple[AgentRunClient, int]) -> None:
    runs, port = metered
    for agent in ("echo", "echo", "strict"):
        await runs.result(await runs.start(RunRequest(agent=agent, input={"key": "m"})))
    reviewed = await runs.start(RunRequest(agent="reviewed", input={"key": "m"}))
    await wait_for_review(runs, reviewed)
    await runs.review(
        reviewed, ReviewDecision(decision=Decision.EDIT, reviewer="alice", output={"a": 1})
    )
    await runs.result(reviewed)

    samples: list[tuple[str, dict[str, str], float]] = []
    for _ in range(50):  # the exporter publishes periodically
        samples = scrape(port)
        if total(samples, "agentrun_runs_finished_total", agent="reviewed") >= 1:
            break
        await asyncio.sleep(0.2)
    assert total(samples, "agentrun_runs_started_total", agent="echo", version="1") == 2
    assert total(samples, "agentrun_runs_finished_total", agent="echo", state="COMPLETED") == 2
    assert (
        total(
            samples,
            "agentrun_runs_finished_total",
            agent="strict",
            state="FAILED",
            category="tool_error_permanent",
        )
        == 1
    )
    assert (
        total(samples, "agentrun_reviews_total", agent="reviewed", decision="edit", kind="final")
        == 1
    )
    assert total(samples, "agentrun_human_overrides_total", agent="reviewed") == 1
    assert (
        total(samples, "agentrun_state_duration_seconds_count", agent="echo", state="EXECUTING")
        == 2
    )
    assert total(samples, "agentrun_run_duration_seconds_count", agent="strict") == 1
    assert total(samples, "agentrun_review_latency_seconds_count", agent="reviewed") == 1

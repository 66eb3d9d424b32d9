"""Runs evicted from the workflow cache are freed within a bounded number of new instances.

A run's sandbox is cyclic garbage once evicted, so only a full collection frees it; a worker
process's tuned collector (``tune_gc``) hardly ever makes one on its own, and runs parked in
review piled up in its memory (docs/performance.md, "Memory per parked run"). Here the collector
is switched off altogether, the extreme of that, and the worker's own runner must still keep
the evicted runs waiting for collection under one interval's worth.
"""

import asyncio
import gc
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from temporalio.client import WorkflowExecutionCount
from temporalio.testing import WorkflowEnvironment

from agentrun.client import AgentRunClient
from agentrun.contracts.names import SA_AGENT_STATE
from agentrun.contracts.runs import RunRequest
from agentrun.contracts.states import RunState
from agentrun.settings import Settings
from agentrun.workers.collector import collection_interval
from agentrun.workers.worker import build_worker
from agentrun.workflows.agent_run import AgentRunWorkflow
from tests.support.store import migrate_data_dir
from tests.support.waiting import eventually

CACHE = 20
# More runs than the cache and one collection interval together, so that without the runner's
# collections the evicted runs alone would break the bound asserted below.
RUNS = 250
# Runs started before waiting for them to park: fewer than the cache holds, so that runs in
# flight are not evicted between their own tasks (which measures replays, not parking).
WAVE = 10


@pytest.fixture
def collector_off() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def runs_in_memory() -> int:
    """Run instances still in memory, reachable or not (``gc.get_objects`` lists garbage that
    waits for a collection too). A worker sharing agentrun's modules between runs has one
    workflow class; an isolated sandbox has a copy of the class per run: the names match both."""
    name, module = AgentRunWorkflow.__qualname__, AgentRunWorkflow.__module__
    return sum(
        1 for o in gc.get_objects() if type(o).__qualname__ == name and type(o).__module__ == module
    )


def counted(runs: int) -> Callable[[WorkflowExecutionCount], bool]:
    return lambda count: count.count == runs


@pytest.mark.usefixtures("collector_off")
async def test_evicted_runs_wait_for_collection_at_most_one_interval(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    migrate_data_dir(tmp_path)
    settings = Settings(
        data_dir=tmp_path,
        agent_modules=("tests.support.agents",),
        task_queue=f"collector-{uuid.uuid4().hex[:8]}",
        max_cached_workflows=CACHE,
    )
    every = collection_interval(CACHE)
    assert CACHE + every < RUNS
    worker = build_worker(temporal_env.client, settings)
    runs = AgentRunClient(temporal_env.client, task_queue=settings.task_queue)
    prefix = f"parked-{uuid.uuid4().hex[:8]}"
    before = runs_in_memory()
    query = (
        f"{SA_AGENT_STATE.name} = '{RunState.REVIEWING.value}' AND WorkflowId STARTS_WITH "
        f"'{prefix}-'"
    )
    async with worker:
        for first in range(0, RUNS, WAVE):
            await asyncio.gather(
                *(
                    runs.start(
                        RunRequest(agent="reviewed", input={"key": "k"}, request_id=f"{prefix}-{i}")
                    )
                    for i in range(first, first + WAVE)
                )
            )
            await eventually(
                lambda: temporal_env.client.count_workflows(query),
                counted(first + WAVE),
                timeout=60,
            )
        # Every run built at least one instance; the cache holds CACHE of them, and the runner
        # collects the rest at least once every ``every`` new ones.
        kept = runs_in_memory() - before
    assert kept <= CACHE + every, f"{kept} instances of {RUNS} parked runs still in memory"
    assert kept >= CACHE  # what the cache holds: the count sees instances

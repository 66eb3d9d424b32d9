"""A worker serving the sample teams (``agentrun.agents.teams``) and the test teams, on a task
queue of its own, recording to the store it is given: what the team record, report and status
tests run their teams on."""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from temporalio.client import Client

from agentrun.client import AgentRunClient
from agentrun.settings import Settings
from agentrun.workers.worker import build_worker

TEAM_MODULES = (
    "agentrun.agents.teams.pipeline",
    "agentrun.agents.teams.fanout",
    "agentrun.agents.teams.supervisor",
    "tests.support.team_agents",
)


@asynccontextmanager
async def team_worker(
    client: Client, data_dir: Path, database_url: str | None = None
) -> AsyncIterator[tuple[AgentRunClient, Settings]]:
    """``database_url`` None: the data dir's SQLite store, which the caller has migrated."""
    settings = Settings(
        data_dir=data_dir,
        database_url=database_url,
        agent_modules=TEAM_MODULES,
        task_queue=f"teams-{uuid.uuid4().hex[:8]}",
    )
    async with build_worker(client, settings):
        yield AgentRunClient(client, settings.task_queue), settings

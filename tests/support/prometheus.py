"""A worker's Prometheus endpoint in tests: a worker with a runtime of its own on a free port,
and its samples."""

import re
import urllib.request
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from agentrun.cli.devserver import free_port
from agentrun.client import AgentRunClient, connect
from agentrun.observability.telemetry import build_runtime
from agentrun.settings import Settings
from agentrun.workers.worker import build_worker
from tests.conftest import TEST_AGENT_MODULES
from tests.support.store import migrate_data_dir

__all__ = [
    "MeteredWorker",
    "Samples",
    "free_port",
    "metered_worker",
    "scrape",
    "total",
    "value",
]

SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][\w:]*)(?:\{(?P<labels>[^}]*)\})? (?P<value>\S+)$")
Samples = list[tuple[str, dict[str, str], float]]


def scrape(port: int) -> Samples:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    samples = []
    for line in text.splitlines():
        match = SAMPLE.match(line)
        if match and not line.startswith("#"):
            labels = dict(re.findall(r'(\w+)="([^"]*)"', match["labels"] or ""))
            samples.append((match["name"], labels, float(match["value"])))
    return samples


def value(samples: Samples, name: str, **labels: str) -> float | None:
    """The sum of ``name``'s samples with these labels; None when it has none."""
    found = [v for n, lab, v in samples if n == name and labels.items() <= lab.items()]
    return sum(found) if found else None


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of ``name``'s samples with these labels; 0 when it has none."""
    return value(samples, name, **labels) or 0.0


@dataclass
class MeteredWorker:
    runs: AgentRunClient
    port: int
    task_queue: str


@asynccontextmanager
async def metered_worker(
    env: WorkflowEnvironment, data_dir: Path, prefix: str = "metered"
) -> AsyncIterator[MeteredWorker]:
    """A worker whose /metrics shows this test's runs only: a runtime belongs to the clients and
    workers built on it."""
    port = free_port()
    migrate_data_dir(data_dir)
    settings = Settings(
        data_dir=data_dir,
        agent_modules=TEST_AGENT_MODULES,
        task_queue=f"{prefix}-{uuid.uuid4().hex[:8]}",
        metrics_bind=f"127.0.0.1:{port}",
    )
    client = await connect(
        env.client.service_client.config.target_host, runtime=build_runtime(settings)
    )
    async with build_worker(client, settings):
        yield MeteredWorker(AgentRunClient(client, settings.task_queue), port, settings.task_queue)

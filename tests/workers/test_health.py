"""The worker's /healthz and /readyz (``workers.health``, AGENTRUN_HEALTH_BIND), against a real
Temporal dev server and a real SQLite store: ready while the worker polls, not ready while it
drains, with its store behind the current schema, or with a store it cannot reach; a port
already taken stops the worker before it is built, and ``agentrun worker`` in one line.

This module is also the agent module of its workers: ``health-gated`` calls a tool that waits
for the test to open its gate, which holds a worker's graceful shutdown open.
"""

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pydantic import ValidationError
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from agentrun.agents import Agent, tool
from agentrun.cli.devserver import free_port
from agentrun.client import AgentRunClient
from agentrun.contracts import RunRequest
from agentrun.contracts.agents import ScriptStep
from agentrun.settings import Settings
from agentrun.store import migrate
from agentrun.store.db import redacted
from agentrun.workers import health
from agentrun.workers.health import HealthBindError, serve_health
from agentrun.workers.worker import run_worker
from tests.support.store import migrate_data_dir
from tests.support.waiting import eventually
from tests.support.worker_processes import REPO, last_words, worker_process

# The session's one event loop runs the worker, its activities and the tests.
GATE_REACHED = asyncio.Event()
GATE_OPEN = asyncio.Event()


@tool
async def health_gate(key: str) -> str:
    """Wait until the test opens the gate.

    Args:
        key: Returned as is.
    """
    GATE_REACHED.set()
    await GATE_OPEN.wait()
    return key


GATED = Agent(
    name="health-gated",
    model="scripted:scripted-1",
    tools=[health_gate],
    instructions="Call the gate once.",
    review="never",
    script=[
        ScriptStep(tool="health_gate", args={"key": "{{input.message}}"}),
        {"final": {"answer": "done"}},
    ],
)

Answer = tuple[int, dict[str, Any]]
REFUSED: Answer = (0, {})
TIMED_OUT: Answer = (-1, {})


async def probe(bind: str, path: str) -> Answer:
    """The endpoint's status and JSON body; ``REFUSED`` while nothing listens, ``TIMED_OUT``
    while a worker's start keeps its event loop busy (building it takes a few seconds)."""
    timeout = aiohttp.ClientTimeout(total=1)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(f"http://{bind}{path}") as response,
        ):
            return response.status, await response.json()
    except aiohttp.ClientConnectionError:
        return REFUSED
    except TimeoutError:
        return TIMED_OUT


def worker_settings(data_dir: Path) -> Settings:
    migrate_data_dir(data_dir)
    return Settings(
        data_dir=data_dir,
        agent_modules=(__name__,),
        task_queue=f"health-{uuid.uuid4().hex[:8]}",
        health_bind=f"127.0.0.1:{free_port()}",
        gc_threshold=0,  # leave the test process's collector alone
    )


@asynccontextmanager
async def running(env: WorkflowEnvironment, settings: Settings) -> AsyncIterator[asyncio.Event]:
    """``run_worker`` as ``agentrun worker`` runs it, until ready; the event stops it."""
    bind = settings.health_bind
    assert bind is not None
    stop = asyncio.Event()
    task = asyncio.create_task(run_worker(env.client, settings, stop))
    try:
        ready = await eventually(
            lambda: probe(bind, "/readyz"),
            lambda answer: answer[0] == 200 or task.done(),
        )
        assert not task.done(), task.exception()
        assert ready == (
            200,
            {"status": "ok", "checks": {"worker": "ok", "temporal": "ok", "store": "ok"}},
        )
        yield stop
    finally:
        GATE_OPEN.set()
        stop.set()
        await asyncio.wait_for(task, 30)
    assert await probe(bind, "/healthz") == REFUSED  # gone with the worker


async def test_a_polling_worker_is_ready_and_a_draining_one_is_not(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    GATE_REACHED.clear()
    GATE_OPEN.clear()
    settings = worker_settings(tmp_path)
    bind = settings.health_bind or ""
    async with running(temporal_env, settings) as stop:
        assert await probe(bind, "/healthz") == (
            200,
            {"status": "ok", "checks": {"temporal": "ok"}},
        )
        assert await probe(bind, "/metrics") == (
            404,
            {"status": "not found", "paths": ["/healthz", "/readyz"]},
        )
        runs = AgentRunClient(temporal_env.client, task_queue=settings.task_queue)
        await runs.start(RunRequest(agent="health-gated", input={"message": "m"}))
        await asyncio.wait_for(GATE_REACHED.wait(), 20)

        stop.set()  # what SIGTERM does: the worker drains, its tool call still running
        draining = await eventually(lambda: probe(bind, "/readyz"), lambda a: a[0] != 200)
        assert draining == (
            503,
            {
                "status": "unavailable",
                "checks": {"worker": "shutting down", "temporal": "ok", "store": "ok"},
            },
        )
        assert (await probe(bind, "/healthz"))[0] == 200  # alive: not to be killed mid-drain


async def test_readyz_names_a_store_behind_the_current_schema(
    temporal_env: WorkflowEnvironment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Asked at every probe: the test need not wait out the caches (2 s, and 10 s for the schema).
    monkeypatch.setattr(health, "STORE_TTL_S", 0.0)
    monkeypatch.setattr(health, "SCHEMA_TTL_S", 0.0)
    settings = worker_settings(tmp_path)
    bind, url, head = (
        settings.health_bind or "",
        settings.effective_database_url(),
        migrate.head_revision(),
    )
    async with running(temporal_env, settings):
        behind = await asyncio.to_thread(migrate.downgrade, url, "-1")
        assert behind != head
        answer = await eventually(lambda: probe(bind, "/readyz"), lambda a: a[0] != 200)
        assert answer == (
            503,
            {
                "status": "unavailable",
                "checks": {
                    "worker": "ok",
                    "temporal": "ok",
                    "store": f"{redacted(url)} is at schema {behind}, not {head}: "
                    "run `agentrun db upgrade`",
                },
            },
        )
        await asyncio.to_thread(migrate.upgrade, url)
        await eventually(lambda: probe(bind, "/readyz"), lambda a: a[0] == 200)


async def test_readyz_names_an_unreachable_store_without_its_password(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    url = "postgresql://postgres:s3cret@127.0.0.1:1/agentrun"  # nothing listens on port 1
    bind = f"127.0.0.1:{free_port()}"
    settings = Settings(data_dir=tmp_path, database_url=url, health_bind=bind)
    server = await serve_health(settings, temporal_env.client)
    assert server is not None
    try:
        started = time.monotonic()
        code, body = await probe(bind, "/readyz")
        assert time.monotonic() - started < 3
    finally:
        await server.close()
    assert code == 503
    checks = body["checks"]
    assert (body["status"], checks["worker"], checks["temporal"]) == (
        "unavailable",
        "starting",
        "ok",
    )
    assert checks["store"].startswith(
        "unreachable: postgresql://postgres:***@127.0.0.1:1/agentrun: OperationalError: "
    ), checks["store"]
    assert "s3cret" not in json.dumps(body)


async def test_healthz_fails_while_temporal_cannot_be_reached(tmp_path: Path) -> None:
    nowhere = await Client.connect(f"127.0.0.1:{free_port()}", lazy=True)  # nothing listens
    bind = f"127.0.0.1:{free_port()}"
    settings = Settings(data_dir=tmp_path, store_enabled=False, health_bind=bind)
    server = await serve_health(settings, nowhere)
    assert server is not None
    try:
        code, body = await probe(bind, "/healthz")
    finally:
        await server.close()
    assert (code, body["status"]) == (503, "unavailable"), body
    assert body["checks"]["temporal"].startswith("unreachable: "), body


async def test_a_port_already_taken_stops_the_worker_before_it_is_built(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        bind = f"127.0.0.1:{taken.getsockname()[1]}"
        settings = Settings(data_dir=data_dir, health_bind=bind, agent_modules=(__name__,))
        with pytest.raises(HealthBindError) as refused:
            await run_worker(temporal_env.client, settings, asyncio.Event())
    assert str(refused.value) == (
        f"AGENTRUN_HEALTH_BIND={bind}: cannot listen there: Address already in use"
    )
    assert not data_dir.exists()  # nothing built: no data dir, no store, no polling


@pytest.mark.parametrize("bind", ["8080", "127.0.0.1", "127.0.0.1:http", ":8080", "::1:80", "h:0"])
def test_a_bind_that_is_not_host_port_is_refused_naming_the_variable(bind: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(health_bind=bind)
    assert f"AGENTRUN_HEALTH_BIND: {bind!r} is not host:port" in str(refused.value)


def test_host_port_binds_accept_names_and_ipv6() -> None:
    for bind in ("0.0.0.0:8080", "localhost:1", "[::]:65535"):
        assert Settings(health_bind=bind).health_bind == bind


async def test_agentrun_worker_serves_readyz_and_a_second_on_its_port_refuses_in_one_line(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    address = temporal_env.client.service_client.config.target_host
    bind = f"127.0.0.1:{free_port()}"
    migrate_data_dir(tmp_path)
    queue = f"health-{uuid.uuid4().hex[:8]}"
    env = {"AGENTRUN_HEALTH_BIND": bind}
    modules = ("agentrun.agents.refund",)
    with worker_process(address, tmp_path, queue, modules=modules, env=env) as first:
        ready = await eventually(
            lambda: probe(bind, "/readyz"),
            lambda answer: answer[0] == 200 or first.poll() is not None,
            timeout=60,
        )
        assert first.poll() is None, last_words(first)
        assert ready[1] == {
            "status": "ok",
            "checks": {"worker": "ok", "temporal": "ok", "store": "ok"},
        }
        second = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "agentrun.cli", "worker"],
            env={
                **os.environ,
                "TEMPORAL_ADDRESS": address,
                "AGENTRUN_DATA_DIR": str(tmp_path / "second"),
                "AGENTRUN_HEALTH_BIND": bind,
                "AGENTRUN_LOG_LEVEL": "WARNING",
                "PYTHONPATH": str(REPO),
            },
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert (second.returncode, second.stderr.splitlines()) == (
        1,
        [f"error: AGENTRUN_HEALTH_BIND={bind}: cannot listen there: Address already in use"],
    )
    assert not (tmp_path / "second").exists()  # refused before it built anything

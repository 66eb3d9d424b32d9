"""Real ``agentrun worker`` subprocesses for crash tests: started with the test agents, told apart
by pid (Temporal's default worker identity is ``pid@host``), and SIGKILLed.

Each test starts its own; nothing here is mocked, so a kill is what production sees: no graceful
shutdown, no final heartbeat, the poll connections simply drop.
"""

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.service import RPCError

from tests.conftest import TEST_AGENT_MODULES

REPO = Path(__file__).resolve().parents[2]
# A task queue's partitions (the server's default four): describing the queue by its name shows
# only the pollers of the first, and a worker's polls may all be waiting on the others.
PARTITIONS = ("{}", "/_sys/{}/1", "/_sys/{}/2", "/_sys/{}/3")


def start_worker(
    address: str,
    data_dir: Path,
    task_queue: str,
    *,
    modules: Collection[str] = TEST_AGENT_MODULES,
    env: Mapping[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """An ``agentrun worker`` on ``task_queue``; ``env`` adds to (or overrides) its environment,
    e.g. ``AGENTRUN_STICKY_QUEUE_TIMEOUT_S``: left unset, the worker runs at the defaults."""
    environ = {
        **os.environ,
        "TEMPORAL_ADDRESS": address,
        "AGENTRUN_TASK_QUEUE": task_queue,
        "AGENTRUN_DATA_DIR": str(data_dir),
        "AGENTRUN_AGENT_MODULES": ",".join(modules),
        "PYTHONPATH": str(REPO),
        **(env or {}),
    }
    # stderr to a file, not a pipe nobody reads (a full pipe would stall the worker): a worker
    # that dies before polling is then reported with its own last words (``wait_polling``).
    with tempfile.NamedTemporaryFile(prefix="agentrun-worker-", suffix=".log", delete=False) as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "agentrun.cli", "worker"],
            env=environ,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    _LOGS[proc.pid] = Path(log.name)
    return proc


_LOGS: dict[int, Path] = {}


def last_words(proc: subprocess.Popen[bytes], lines: int = 15) -> str:
    """The tail of a worker's stderr (why it exited, when it did)."""
    log = _LOGS.get(proc.pid)
    if log is None or not log.exists():
        return "(no log)"
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL (if still running) and reap."""
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=30)
    _LOGS.pop(proc.pid, Path()).unlink(missing_ok=True)


def kill(proc: subprocess.Popen[bytes]) -> float:
    """SIGKILL now; returns the moment (``time.time()``, the clock history events use)."""
    at = time.time()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    return at


@contextmanager
def worker_process(
    address: str,
    data_dir: Path,
    task_queue: str,
    *,
    modules: Collection[str] = TEST_AGENT_MODULES,
    env: Mapping[str, str] | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    proc = start_worker(address, data_dir, task_queue, modules=modules, env=env)
    try:
        yield proc
    finally:
        stop(proc)


def identity_pid(identity: str) -> int | None:
    """The pid in a default worker identity (``pid@host``); None for any other identity."""
    pid, _, _ = identity.partition("@")
    return int(pid) if pid.isdigit() else None


async def polling_pids(client: Client, task_queue: str) -> set[int]:
    """Pids of the workers that lately polled ``task_queue`` for both workflow and activity
    tasks, on any of its partitions (the server keeps a dead worker's entry for minutes: use
    for new workers only)."""
    seen: dict[int, set[int]] = {}
    for kind in (TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY):
        for partition in PARTITIONS:
            described = await client.workflow_service.describe_task_queue(
                DescribeTaskQueueRequest(
                    namespace=client.namespace,
                    task_queue=TaskQueue(name=partition.format(task_queue)),
                    task_queue_type=kind,
                )
            )
            pids = {p for i in described.pollers if (p := identity_pid(i.identity))}
            seen.setdefault(kind, set()).update(pids)
    workflow, activity = seen.values()
    return workflow & activity


async def _polling_or_none(client: Client, task_queue: str) -> set[int]:
    """A describe call the server cancels (it does, now and then, on a loaded box) is "not yet",
    not a failed test: the loop asks again until its own deadline."""
    try:
        return await polling_pids(client, task_queue)
    except RPCError:
        return set()


async def wait_polling(
    client: Client, task_queue: str, procs: Collection[subprocess.Popen[bytes]], timeout: float = 60
) -> None:
    """Until every one of ``procs`` polls ``task_queue`` (a worker up and taking work)."""
    deadline = time.monotonic() + timeout
    wanted = {p.pid for p in procs}
    while not wanted <= await _polling_or_none(client, task_queue):
        dead = [p for p in procs if p.poll() is not None]
        if dead or time.monotonic() > deadline:
            said = "".join(
                f"\n--- worker {p.pid} (exit {p.returncode}):\n{last_words(p)}" for p in dead
            )
            raise AssertionError(
                f"workers {sorted(wanted)} not all polling (exited: {[p.pid for p in dead]}){said}"
            )
        await asyncio.sleep(0.1)

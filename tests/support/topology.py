"""The production topology as processes, under chaos (issue 19).

One Temporal dev server (the session's), a PostgreSQL run store (a fresh database, migrated), and
three real ``agentrun worker`` processes on one task queue sharing one data directory, as workers
share a shop's database: the refund agent's orders, refunds and outbox are one SQLite file there.
A driver starts small refunds at a bounded concurrency, a mix of the refund agent pinned to
``u1`` (no person needed) and version ``2`` (the email waits for a person); an approver script
finds the runs waiting for review, as an operator's would (visibility, then the run's status), and
approves them as one of the agent's reviewers. While the runs go on, the worker holding the most
runs in flight is SIGKILLed after about a third of the runs have started, and another one is
restarted (SIGTERM, wait for its exit, a new process) after about two thirds.

What is collected (:class:`Figures`): every run's end, the shop's refunds, emails and notes per run
(keyed by the tool call's idempotency key, ``run_id/step/index``, so a run's second refund under
any key shows), the per-worker load from the runs' histories (workflow tasks and activities
completed per worker identity, ``pid@host``), the runs the kill caught and what it cost them, and
the store against Temporal: ``agentrun reconcile --dry-run`` (a subprocess) once the traffic is
over, and if it finds runs to repair, again after the sweep the replacement asks for when it
starts (``agentrun.activities.reconcile``).

tests/workflows/test_topology_chaos.py runs it short in CI and at the issue's 300 runs (slow);
docs/performance.md, "Three workers under chaos", has the figures.
"""

import asyncio
import itertools
import signal
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from temporalio.api.enums.v1 import EventType, PendingActivityState
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError

from agentrun.agents.refund import REFUND_AGENT_NAME, REFUND_REVIEWERS
from agentrun.agents.refund import db as shop
from agentrun.agents.refund.tools import SEND_EMAIL
from agentrun.client import AgentRunClient, AgentRunError
from agentrun.contracts import Decision, ReviewDecision, RunRequest, RunState
from agentrun.store import migrate
from tests.conftest import TEST_AGENT_MODULES
from tests.support.shadow_agents import STABLE
from tests.support.store_fixtures import fresh_pg_url
from tests.support.worker_processes import (
    identity_pid,
    kill,
    last_words,
    start_worker,
    stop,
    wait_polling,
)

MODULES = (*TEST_AGENT_MODULES, "tests.support.shadow_agents")
UNATTENDED = STABLE  # "u1": emails go out with nobody asked
ATTENDED = "2"  # the refund agent's current version: a person approves every email
# Small refunds, alternating between two orders: the tool refuses only an amount above the
# order's total (320 and 999.99), one refund at a time, so any number of runs may ask for 1.
ORDERS = ("1001", "1005")
AMOUNT = 1.0
REASON = "arrived broken"
# How long after the kill an event written for the killed worker is still its own: a request it
# had sent just before dying may be written by the server a moment later.
IN_TRANSIT_S = 1.0


@dataclass(frozen=True)
class Plan:
    """``attended_every``: every so many runs is version 2 (5: 20 % wait for a person)."""

    runs: int
    concurrency: int = 12
    attended_every: int = 5
    kill_at: float = 1 / 3
    restart_at: float = 2 / 3

    def version(self, index: int) -> str:
        return ATTENDED if index % self.attended_every == self.attended_every - 1 else UNATTENDED


@dataclass
class WorkerProc:
    label: str
    proc: subprocess.Popen[bytes]
    started_at: float  # time.time(): the clock history events use
    ended_at: float | None = None
    ended: str = ""  # "killed", "restarted" (SIGTERM), "stopped" (SIGTERM at the end)
    exit_code: int | None = None

    @property
    def pid(self) -> int:
        return self.proc.pid


@dataclass
class Topology:
    client: Client
    data_dir: Path
    database_url: str
    task_queue: str
    workers: list[WorkerProc] = field(default_factory=list)

    @property
    def address(self) -> str:
        return self.client.service_client.config.target_host

    @property
    def tenant(self) -> str:
        """Every run of this topology's traffic is this tenant's: what the approver lists."""
        return self.task_queue

    def env(self) -> dict[str, str]:
        return {"AGENTRUN_DATABASE_URL": self.database_url}

    def start(self, label: str) -> WorkerProc:
        proc = start_worker(
            self.address, self.data_dir, self.task_queue, modules=MODULES, env=self.env()
        )
        worker = WorkerProc(label, proc, time.time())
        self.workers.append(worker)
        return worker

    def live(self) -> list[WorkerProc]:
        return [w for w in self.workers if w.ended_at is None]

    def kill(self, worker: WorkerProc) -> float:
        worker.ended_at = kill(worker.proc)
        worker.ended, worker.exit_code = "killed", worker.proc.returncode
        return worker.ended_at

    async def terminate(self, worker: WorkerProc, why: str) -> None:
        """SIGTERM and wait for the worker to exit: it finishes its activities, stops polling and
        writes what its store writer still holds."""
        worker.proc.send_signal(signal.SIGTERM)
        worker.exit_code = await asyncio.to_thread(worker.proc.wait, 60)
        worker.ended_at, worker.ended = time.time(), why
        assert worker.exit_code == 0, f"{worker.label} exited {worker.exit_code}:\n" + last_words(
            worker.proc
        )

    async def polling(self, workers: Sequence[WorkerProc], timeout: float = 90) -> None:
        await wait_polling(self.client, self.task_queue, [w.proc for w in workers], timeout)


@asynccontextmanager
async def topology(client: Client, data_dir: Path, workers: int = 3) -> AsyncIterator[Topology]:
    """A fresh PostgreSQL store, the shop's database, and ``workers`` workers polling."""
    shop.setup(data_dir)  # the workers do this too; doing it first counts from an empty shop
    with fresh_pg_url() as url:
        migrate.upgrade(url)
        topo = Topology(client, data_dir, url, f"topology-{uuid.uuid4().hex[:8]}")
        try:
            for i in range(workers):
                topo.start(f"w{i + 1}")
            await topo.polling(topo.workers)
            yield topo
        finally:
            for worker in topo.workers:
                stop(worker.proc)  # those still running: a test that failed half way


# ----------------------------------------------------------------- traffic


@dataclass
class Run:
    index: int
    run_id: str
    version: str
    started_at: float
    ended_at: float | None = None
    state: RunState | None = None
    failure: str | None = None


@dataclass
class Chaos:
    killed: WorkerProc | None = None
    killed_at: float = 0.0
    in_flight_at_kill: int = 0  # runs started and not yet ended when the kill came
    restarted: WorkerProc | None = None
    replacement: WorkerProc | None = None
    restart_began_at: float = 0.0
    replacement_polling_at: float = 0.0


@dataclass
class Traffic:
    runs: list[Run] = field(default_factory=list)
    chaos: Chaos = field(default_factory=Chaos)
    approvals: dict[str, str] = field(default_factory=dict)  # run id -> reviewer who approved
    approval_errors: list[str] = field(default_factory=list)  # refused or lost, tried again
    held_s: float = 0.0  # the last starts held until the restarted worker's replacement polled

    @property
    def started_at(self) -> float:
        return min(r.started_at for r in self.runs)

    @property
    def ended_at(self) -> float:
        return max(r.ended_at or 0.0 for r in self.runs)


async def drive(topo: Topology, plan: Plan) -> Traffic:
    """Start ``plan.runs`` runs, at most ``plan.concurrency`` unfinished at once, with the
    approver and the chaos running beside; return once every run has ended.

    Runs go on starting through the restart, but the last ``concurrency`` of them wait for the
    replacement to poll: a worker's start-up takes seconds on a loaded two-core box, and the
    runs left could otherwise all end before it took any."""
    runs = AgentRunClient(topo.client, task_queue=topo.task_queue)
    traffic = Traffic()
    slots = asyncio.Semaphore(plan.concurrency)
    kill_due, restart_due, restarted, approver_stop = (asyncio.Event() for _ in range(4))
    prefix = f"{topo.task_queue}-run"

    async def await_end(run: Run) -> None:
        try:
            result = await runs.result(run.run_id)
            run.state = result.state
            run.failure = result.failure.message if result.failure else None
        except AgentRunError as err:
            run.failure = str(err)
        finally:
            run.ended_at = time.time()
            slots.release()

    approver = asyncio.create_task(
        approve(runs, topo.tenant, traffic, approver_stop), name="the approver"
    )
    chaos = asyncio.create_task(
        _chaos(topo, traffic, kill_due, restart_due, restarted), name="the chaos"
    )
    waits: list[asyncio.Task[None]] = []
    kill_index, restart_index = round(plan.runs * plan.kill_at), round(plan.runs * plan.restart_at)
    # The last ``concurrency`` runs start once the replacement polls, so that it takes a share.
    hold_index = max(restart_index, plan.runs - plan.concurrency)
    try:
        for index in range(plan.runs):
            if index == kill_index:
                kill_due.set()
            if index == restart_index:
                restart_due.set()
            if index == hold_index and restart_index <= index:
                held = time.monotonic()
                await _alongside(restarted.wait(), chaos, approver)
                traffic.held_s = time.monotonic() - held
            await slots.acquire()
            version = plan.version(index)
            request = RunRequest(
                agent=REFUND_AGENT_NAME,
                version=version,
                input={"order_id": ORDERS[index % len(ORDERS)], "reason": REASON, "amount": AMOUNT},
                tenant_id=topo.tenant,
                request_id=f"{prefix}-{index:04d}",
            )
            run = Run(index, await runs.start(request), version, time.time())
            traffic.runs.append(run)
            waits.append(asyncio.create_task(await_end(run)))
        await _alongside(asyncio.gather(*waits), chaos, approver)
        await chaos
    finally:
        approver_stop.set()
        for task in (*waits, chaos):
            task.cancel()
        await asyncio.gather(approver, *waits, chaos, return_exceptions=True)
    return traffic


async def _alongside(work: Awaitable[object], *helpers: asyncio.Task[None]) -> None:
    """``work``, unless a helper fails first (a worker that would not stop or start, an approver
    that stopped approving): runs waiting on it would otherwise wait out the test's timeout."""
    task = asyncio.ensure_future(work)
    while not task.done():
        done, _ = await asyncio.wait({task, *helpers}, return_when=asyncio.FIRST_COMPLETED)
        for helper in done - {task}:
            if helper.exception() is not None:
                task.cancel()
                raise AssertionError(f"{helper.get_name()} failed") from helper.exception()
        helpers = tuple(h for h in helpers if h not in done)
    await task


async def _chaos(
    topo: Topology,
    traffic: Traffic,
    kill_due: asyncio.Event,
    restart_due: asyncio.Event,
    restarted: asyncio.Event,
) -> None:
    chaos = traffic.chaos
    await kill_due.wait()
    victim = await busiest(topo, [r.run_id for r in traffic.runs if r.ended_at is None])
    chaos.in_flight_at_kill = sum(1 for r in traffic.runs if r.ended_at is None)
    chaos.killed, chaos.killed_at = victim, topo.kill(victim)
    await restart_due.wait()
    chaos.restart_began_at = time.time()
    chaos.restarted = topo.live()[0]
    await topo.terminate(chaos.restarted, "restarted")
    chaos.replacement = topo.start(chaos.restarted.label + "'")
    await topo.polling([chaos.replacement])
    chaos.replacement_polling_at = time.time()
    restarted.set()


async def busiest(topo: Topology, open_runs: Sequence[str]) -> WorkerProc:
    """The live worker holding the most of ``open_runs``: cached there (it completed the run's
    last workflow task) or running one of its activities. Killing it catches runs mid-flight."""
    held: Counter[int] = Counter()

    async def holder(run_id: str) -> set[int]:
        handle = topo.client.get_workflow_handle(run_id)
        try:
            described, history = await asyncio.gather(handle.describe(), handle.fetch_history())
        except RPCError:
            return set()
        pids = {
            identity_pid(p.last_worker_identity)
            for p in described.raw_description.pending_activities
            if p.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
        }
        done = [
            e.workflow_task_completed_event_attributes.identity
            for e in history.events
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
        ]
        if done and described.status == WorkflowExecutionStatus.RUNNING:
            pids.add(identity_pid(done[-1]))
        return {p for p in pids if p is not None}

    for pids in await asyncio.gather(*(holder(r) for r in open_runs)):
        held.update(pids)
    live = topo.live()
    return max(live, key=lambda w: (held[w.pid], -live.index(w)))


async def approve(runs: AgentRunClient, tenant: str, traffic: Traffic, stop: asyncio.Event) -> None:
    """The approver script: list the tenant's runs waiting for review (visibility), read each
    one's gate (its status), approve the email as the next of the agent's reviewers, naming the
    review so a decision can never land on another gate. A decision refused or lost (a worker
    gone mid-update) is tried again on the next round, after reading the gate again."""
    reviewers = itertools.cycle(REFUND_REVIEWERS)

    async def one(run_id: str, reviewer: str) -> None:
        try:
            status = await runs.status(run_id)
            gate = status.pending_review
            if gate is None or gate.tool != SEND_EMAIL:
                return
            decision = ReviewDecision(
                decision=Decision.APPROVE, reviewer=reviewer, review_id=gate.review_id
            )
            await runs.review(run_id, decision)
            traffic.approvals[run_id] = reviewer
        except AgentRunError as err:
            traffic.approval_errors.append(f"{run_id}: {err}")

    while not stop.is_set():
        try:
            waiting = await runs.list_runs(states=[RunState.REVIEWING], tenant_id=tenant, limit=500)
        except AgentRunError as err:
            traffic.approval_errors.append(f"listing: {err}")
            waiting = []
        todo = [w.run_id for w in waiting if w.run_id not in traffic.approvals]
        await asyncio.gather(*(one(run_id, next(reviewers)) for run_id in todo))
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.25)

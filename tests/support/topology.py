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
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Collection, Sequence
from contextlib import asynccontextmanager, closing, suppress
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path

from sqlalchemy import text
from temporalio.api.enums.v1 import EventType, PendingActivityState, TimeoutType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError

from agentrun.agents.refund import REFUND_AGENT_NAME, REFUND_REVIEWERS
from agentrun.agents.refund import db as shop
from agentrun.agents.refund.tools import SEND_EMAIL
from agentrun.client import AgentRunClient, AgentRunError
from agentrun.contracts import Decision, ReviewDecision, RunRequest, RunState
from agentrun.contracts.names import RECONCILE_STARTUP_ID
from agentrun.contracts.reconcile import ReconcileReport
from agentrun.store import migrate
from agentrun.store.db import make_engine
from tests.conftest import TEST_AGENT_MODULES
from tests.support.shadow_agents import STABLE
from tests.support.store_fixtures import fresh_pg_url
from tests.support.worker_processes import (
    REPO,
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


# ----------------------------------------------------------------- what happened


def _at(event: HistoryEvent) -> float:
    return event.event_time.ToDatetime(tzinfo=UTC).timestamp()


@dataclass(frozen=True)
class Stall:
    """What a worker's death cost one run once: ``kind`` is ``sticky`` (a workflow task waited
    on the dead worker's sticky queue until it timed out), ``task`` (a workflow task the worker
    had started timed out) or ``activity`` (an activity attempt it was running was retried, after
    its heartbeats stopped); ``cost_s``: from the kill (``sticky``: from the task's scheduling)
    to the timeout or the retried attempt's start."""

    run_id: str
    worker: str  # the label of the worker it waited for
    kind: str
    cost_s: float


@dataclass
class Load:
    workflow_tasks: int = 0
    activities: int = 0
    runs_finished: int = 0
    # Workflow tasks and activities completed per phase of the drill (``PHASES``).
    by_phase: Counter[str] = field(default_factory=Counter)


PHASES = ("before the kill", "kill to restart", "after the restart")


@dataclass
class Histories:
    load: dict[str, Load]  # per worker label
    stalls: list[Stall]
    late_events: list[str]  # events written for a worker after it ended
    updates: dict[str, int]  # run id -> review updates applied
    finished_by: dict[str, str]  # run id -> the worker that completed its last workflow task
    retried_activities: int
    failed_workflow_tasks: int
    retries: list[str] = field(default_factory=list)  # each retried activity, and why
    closed_at: dict[str, float] = field(default_factory=dict)  # run id -> when it ended


async def read_histories(topo: Topology, traffic: Traffic) -> Histories:
    gate = asyncio.Semaphore(16)

    async def events(run_id: str) -> list[HistoryEvent]:
        async with gate:
            history = await topo.client.get_workflow_handle(run_id).fetch_history()
        return list(history.events)

    histories = await asyncio.gather(*(events(r.run_id) for r in traffic.runs))
    reader = _Reader(topo, traffic.chaos, traffic.started_at)
    for run, history in zip(traffic.runs, histories, strict=True):
        reader.read(run.run_id, history)
    return reader.found


class _Reader:
    """Reads the runs' histories one event at a time into :class:`Histories`."""

    def __init__(self, topo: Topology, chaos: Chaos, t0: float) -> None:
        self.t0 = t0
        self.labels = {w.pid: w.label for w in topo.workers}
        self.ended = {w.pid: w.ended_at for w in topo.workers if w.ended_at is not None}
        self.chaos = chaos
        self.found = Histories({w.label: Load() for w in topo.workers}, [], [], {}, {}, 0, 0)

    def label(self, pid: int | None) -> str:
        return self.labels.get(pid or 0, "?")

    def load(self, pid: int | None, event: HistoryEvent) -> Load:
        load = self.found.load.setdefault(self.label(pid), Load())
        at = _at(event)
        phase = 0 if at < self.chaos.killed_at else 1 if at < self.chaos.restart_began_at else 2
        load.by_phase[PHASES[phase]] += 1
        return load

    def read(self, run_id: str, history: list[HistoryEvent]) -> None:
        by_id = {e.event_id: e for e in history}
        owner: int | None = None  # the worker that completed the run's last workflow task
        self.found.updates[run_id] = 0
        for event in history:
            kind, pid = event.event_type, None
            if kind == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
                pid = identity_pid(event.workflow_task_completed_event_attributes.identity)
                self.load(pid, event).workflow_tasks += 1
                owner = pid
            elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
                pid = identity_pid(event.activity_task_completed_event_attributes.identity)
                self.load(pid, event).activities += 1
            elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
                self.found.closed_at[run_id] = _at(event)
            elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
                self.found.updates[run_id] += 1
            elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
                self.found.failed_workflow_tasks += 1
            elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
                self.found.stalls.append(self.task_stall(run_id, event, by_id, owner))
            elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
                self.activity_started(run_id, event, by_id)
            if pid in self.ended and _at(event) > self.ended[pid] + IN_TRANSIT_S:
                self.found.late_events.append(f"{run_id} #{event.event_id} by {self.label(pid)}")
        if owner is not None:
            self.found.finished_by[run_id] = self.label(owner)
            self.found.load[self.label(owner)].runs_finished += 1

    def task_stall(
        self, run_id: str, event: HistoryEvent, by_id: dict[int, HistoryEvent], owner: int | None
    ) -> Stall:
        """A workflow task that timed out: on the sticky queue of the worker that had the run
        cached (``owner``), or started by a worker that never completed it."""
        attrs = event.workflow_task_timed_out_event_attributes
        if attrs.timeout_type == TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START:
            since = _at(by_id[attrs.scheduled_event_id])
            return Stall(run_id, self.label(owner), "sticky", _at(event) - since)
        started = by_id[attrs.started_event_id]
        pid = identity_pid(started.workflow_task_started_event_attributes.identity)
        since = max(_at(started), self.ended.get(pid or 0, _at(started)))
        return Stall(run_id, self.label(pid), "task", _at(event) - since)

    def activity_started(
        self, run_id: str, event: HistoryEvent, by_id: dict[int, HistoryEvent]
    ) -> None:
        """A retried activity's started event is its last attempt's. Scheduled before the kill
        and retried after it: the killed worker was running it (the refund agent's tools on
        these orders never fail on their own)."""
        attrs = event.activity_task_started_event_attributes
        if attrs.attempt <= 1:
            return
        self.found.retried_activities += 1
        scheduled = by_id[attrs.scheduled_event_id].activity_task_scheduled_event_attributes
        failure = attrs.last_failure
        while failure.HasField("cause") and not failure.HasField("timeout_failure_info"):
            failure = failure.cause
        self.found.retries.append(
            f"{run_id} {scheduled.activity_type.name} attempt {attrs.attempt} at "
            f"+{_at(event) - self.t0:.1f} s after: {failure.message}"
        )
        killed, at = self.chaos.killed, self.chaos.killed_at
        if killed is not None and _at(by_id[attrs.scheduled_event_id]) < at < _at(event):
            self.found.stalls.append(Stall(run_id, killed.label, "activity", _at(event) - at))


@dataclass(frozen=True)
class SideEffects:
    refunds: dict[str, int]  # run id -> rows
    emails: dict[str, int]
    notes: dict[str, int]
    refunded: float  # the sum of all refunds


def side_effects(data_dir: Path) -> SideEffects:
    """The shop's rows per run: each writer's idempotency key is ``run_id/step/index``."""

    def per_run(conn: sqlite3.Connection, table: str) -> dict[str, int]:
        rows = conn.execute(
            # ``table`` is one of the three literal names below, never input.
            f"SELECT substr(idempotency_key, 1, instr(idempotency_key, '/') - 1), COUNT(*)"  # noqa: S608
            f" FROM {table} GROUP BY 1"
        ).fetchall()
        return {str(run_id): int(n) for run_id, n in rows}

    with closing(shop.connect(data_dir)) as conn:
        total = conn.execute("SELECT COALESCE(SUM(amount), 0) FROM refunds").fetchone()[0]
        return SideEffects(
            per_run(conn, "refunds"),
            per_run(conn, "outbox"),
            per_run(conn, "order_notes"),
            float(total),
        )


async def startup_sweep(
    topo: Topology, after: float, *, wait: bool = True, timeout: float = 90
) -> tuple[ReconcileReport, float] | None:
    """The report of the sweep a worker started after ``after`` asked for (15 s after its start:
    ``STARTUP_DELAY``), and when it ended: once it has run, or (``wait`` False) if it has already
    run, else None."""
    handle = topo.client.get_workflow_handle(f"{RECONCILE_STARTUP_ID}-{topo.task_queue}")
    deadline = time.monotonic() + timeout
    while True:
        described = await handle.describe()
        if described.start_time.timestamp() >= after - IN_TRANSIT_S:
            break
        assert time.monotonic() < deadline, "no start-up sweep was asked for after the restart"
        await asyncio.sleep(0.2)
    if not wait and described.close_time is None:
        return None
    sweep = topo.client.get_workflow_handle(
        handle.id, run_id=described.run_id, result_type=ReconcileReport
    )
    report = await asyncio.wait_for(sweep.result(), timeout)
    closed = (await sweep.describe()).close_time
    assert closed is not None
    return report, closed.timestamp()


def stored_states(topo: Topology) -> dict[str, str]:
    """Run id -> the state the store holds for it, for this topology's runs."""
    engine = make_engine(topo.database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT run_id, state FROM runs WHERE tenant_id = :t"), {"t": topo.tenant}
            ).all()
    finally:
        engine.dispose()
    return {str(run_id): str(state) for run_id, state in rows}


async def settle(
    topo: Topology, run_ids: Sequence[str], allowed: Collection[str] = (), timeout: float = 10
) -> set[str]:
    """The runs the store does not show COMPLETED, once only runs in ``allowed`` are left, or
    at ``timeout``: the live workers' writers flush every 0.5 s."""
    deadline = time.monotonic() + timeout
    while True:
        states = await asyncio.to_thread(stored_states, topo)
        behind = {r for r in run_ids if states.get(r) != RunState.COMPLETED.value}
        if behind <= set(allowed) or time.monotonic() > deadline:
            return behind
        await asyncio.sleep(0.25)


async def reconcile_dry_run(topo: Topology) -> ReconcileReport:
    """``agentrun reconcile --dry-run`` as an operator runs it, over every run however recent."""
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": topo.address,
        "AGENTRUN_TASK_QUEUE": topo.task_queue,
        "AGENTRUN_DATA_DIR": str(topo.data_dir),
        "PYTHONPATH": str(REPO),
        **topo.env(),
    }
    command = ("reconcile", "--dry-run", "--older-than", "0s", "--json")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "agentrun.cli",
        *command,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, f"agentrun {' '.join(command)} exited {proc.returncode}: {err!r}"
    return ReconcileReport.model_validate_json(out)


# ----------------------------------------------------------------- the whole drill


@dataclass(frozen=True)
class Record:
    """The store against Temporal, before and after the replacement's start-up sweep."""

    lost: set[str]  # runs the store lacked the end of once the live workers had flushed
    before: ReconcileReport  # agentrun reconcile --dry-run then
    before_at: float  # when it started
    # The replacement's start-up sweep and when it ended (before the first dry run when the
    # traffic outlasted it); None when there was nothing to repair and it had not run yet.
    sweep: ReconcileReport | None
    sweep_at: float | None
    behind: set[str]  # runs the store lacked the end of after it
    after: ReconcileReport  # agentrun reconcile --dry-run at the end (the first one's, if it
    # found nothing to repair)


@dataclass
class Figures:
    plan: Plan
    traffic: Traffic
    histories: Histories
    shop: SideEffects
    record: Record
    workers: list[WorkerProc]

    @property
    def wall_s(self) -> float:
        return self.traffic.ended_at - self.traffic.started_at

    @property
    def runs_per_s(self) -> float:
        return self.plan.runs / self.wall_s

    def kill_stalls(self) -> list[Stall]:
        killed = self.traffic.chaos.killed
        return [s for s in self.histories.stalls if killed and s.worker == killed.label]

    def caught(self) -> dict[str, float]:
        """Runs the kill caught mid-flight, and what it cost each (the sum of its stalls)."""
        cost: dict[str, float] = {}
        for stall in self.kill_stalls():
            cost[stall.run_id] = cost.get(stall.run_id, 0.0) + stall.cost_s
        return cost

    def lines(self) -> list[str]:
        traffic, chaos, found = self.traffic, self.traffic.chaos, self.histories
        t0 = traffic.started_at
        attended = sum(1 for r in traffic.runs if r.version == ATTENDED)
        out: list[str] = []
        out.append(
            f"{self.plan.runs} runs ({attended} waiting for a person), at most "
            f"{self.plan.concurrency} at once: {self.wall_s:.1f} s, {self.runs_per_s:.2f} runs/s;"
            f" the last starts held {traffic.held_s:.1f} s for the replacement"
        )
        out.append(
            f"ended: {dict(Counter(str(r.state) for r in traffic.runs))}; approvals "
            f"{len(traffic.approvals)} ({dict(Counter(traffic.approvals.values()))}), "
            f"approvals tried again {len(traffic.approval_errors)}"
        )
        if chaos.killed is not None:
            out.append(
                f"kill: {chaos.killed.label} SIGKILLed at +{chaos.killed_at - t0:.1f} s with "
                f"{chaos.in_flight_at_kill} runs in flight"
            )
        if chaos.restarted is not None:
            out.append(
                f"restart: {chaos.restarted.label} SIGTERMed at +{chaos.restart_began_at - t0:.1f}"
                f" s, its replacement polling at +{chaos.replacement_polling_at - t0:.1f} s"
            )
        for worker in self.workers:
            load = found.load[worker.label]
            alive = f"+{worker.started_at - t0:.1f} s to " + (
                f"+{worker.ended_at - t0:.1f} s ({worker.ended})" if worker.ended_at else "the end"
            )
            phases = ", ".join(f"{p} {load.by_phase[p]}" for p in PHASES)
            out.append(
                f"  {worker.label} (pid {worker.pid}, {alive}): {load.workflow_tasks} workflow "
                f"tasks, {load.activities} activities, {load.runs_finished} runs finished; "
                f"tasks and activities {phases}"
            )
        caught = self.caught()
        if caught:
            costs = sorted(caught.values())
            out.append(
                f"caught by the kill: {len(caught)} runs; cost per run median "
                f"{statistics.median(costs):.1f} s, max {costs[-1]:.1f} s"
            )
            for kind in ("activity", "task", "sticky"):
                each = sorted(s.cost_s for s in self.kill_stalls() if s.kind == kind)
                if each:
                    out.append(
                        f"  {kind}: {len(each)}, median {statistics.median(each):.1f} s, "
                        f"max {each[-1]:.1f} s"
                    )
        others = [s for s in found.stalls if s not in self.kill_stalls()]
        if others:
            costs = sorted(s.cost_s for s in others)
            kinds = dict(Counter(f"{s.worker} {s.kind}" for s in others))
            out.append(
                f"other stalls: {len(others)} ({kinds}), median {statistics.median(costs):.1f} s,"
                f" max {costs[-1]:.1f} s"
            )
        out.append(
            f"activities retried: {found.retried_activities}; workflow tasks failed: "
            f"{found.failed_workflow_tasks}"
        )
        out += [f"  retried: {why}" for why in found.retries]
        shop_rows = self.shop
        out.append(
            f"shop: {sum(shop_rows.refunds.values())} refunds, {sum(shop_rows.emails.values())} "
            f"emails, {sum(shop_rows.notes.values())} notes, {shop_rows.refunded:g} refunded"
        )
        record = self.record
        ages = ", ".join(f"{chaos.killed_at - found.closed_at[r]:.2f}" for r in sorted(record.lost))
        out.append(
            f"store once the live workers had flushed: {len(record.lost)} runs without their "
            f"end {sorted(record.lost)} (ended {ages or '-'} s before the kill); agentrun "
            f"reconcile --dry-run: {_said(record.before)}"
        )
        if record.sweep is None or record.sweep_at is None:
            out.append("start-up sweep of the replacement: not waited for (nothing to repair)")
        else:
            out.append(
                f"start-up sweep of the replacement, ended at +{record.sweep_at - t0:.1f} s: "
                f"rewrote {record.sweep.rewritten_count} {record.sweep.rewritten}, skipped "
                f"{record.sweep.skipped_count}"
            )
        out.append(
            f"after it: {len(record.behind)} runs without their end; agentrun reconcile "
            f"--dry-run: {_said(record.after)}"
        )
        return out


def _said(report: ReconcileReport) -> str:
    return (
        f"checked {report.checked}, would rewrite {report.rewritten_count} {report.rewritten}, "
        f"skipped {report.skipped_count}"
    )


async def drill(topo: Topology, plan: Plan) -> Figures:
    """Traffic under chaos, then everything :class:`Figures` holds; the workers left are stopped
    with SIGTERM at the end (they must exit cleanly).

    The store is read once the live workers' writers have flushed: what it still lacks then is
    what the killed worker's writer held when it died, and ``agentrun reconcile --dry-run`` must
    name exactly those runs. If there are any, it is read again once the replacement's start-up
    sweep has run (15 s after its start): the product's repair, with nobody running a command.
    After it the dry run must find nothing."""
    traffic = await drive(topo, plan)
    histories = await read_histories(topo, traffic)
    effects = await asyncio.to_thread(side_effects, topo.data_dir)
    chaos = traffic.chaos
    assert chaos.killed is not None
    assert chaos.replacement is not None
    run_ids = [r.run_id for r in traffic.runs]
    on_killed = [r for r, by in histories.finished_by.items() if by == chaos.killed.label]
    lost = await settle(topo, run_ids, allowed=on_killed)
    before_at = time.time()
    before = await reconcile_dry_run(topo)
    # Nothing to repair: the dry run has said what it had to; else the repair is waited for.
    repair = bool(lost or before.rewritten_count or before.skipped_count)
    sweep = await startup_sweep(topo, chaos.replacement.started_at, wait=repair)
    sweep_ran: tuple[ReconcileReport | None, float | None] = sweep or (None, None)
    behind, after = lost, before
    if repair:
        behind = await settle(topo, run_ids)
        after = await reconcile_dry_run(topo)
    if sweep is None:  # not run yet, and no worker will be left to run it
        with suppress(RPCError):
            await topo.client.get_workflow_handle(
                f"{RECONCILE_STARTUP_ID}-{topo.task_queue}"
            ).terminate(reason="the chaos test is over")
    await asyncio.gather(*(topo.terminate(w, "stopped") for w in topo.live()))
    return Figures(
        plan,
        traffic,
        histories,
        effects,
        Record(lost, before, before_at, *sweep_ran, behind, after),
        list(topo.workers),
    )

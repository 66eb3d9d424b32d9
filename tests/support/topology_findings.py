"""What a topology drill did (tests/support/topology.py runs it): the runs' histories read
for the load per worker and what the kill cost, the shop's side effects per run, the store
against Temporal (``agentrun reconcile --dry-run``), and the whole drill with its figures."""

import asyncio
import os
import sqlite3
import sys
import time
from collections import Counter
from collections.abc import Collection, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path

from sqlalchemy import text
from temporalio.api.enums.v1 import EventType, TimeoutType
from temporalio.api.history.v1 import HistoryEvent

from agentrun.agents.refund import db as shop
from agentrun.contracts import RunState
from agentrun.contracts.names import RECONCILE_STARTUP_ID
from agentrun.contracts.reconcile import ReconcileReport
from agentrun.store.db import make_engine
from tests.support.topology import (
    IN_TRANSIT_S,
    Chaos,
    Topology,
    Traffic,
)
from tests.support.worker_processes import (
    REPO,
    identity_pid,
)

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

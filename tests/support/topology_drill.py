"""The whole topology drill (tests/support/topology.py), start to figures: traffic and chaos,
then what happened, read back (tests/support/topology_findings.py)."""

import asyncio
import statistics
import time
from collections import Counter
from contextlib import suppress
from dataclasses import dataclass

from temporalio.service import RPCError

from agentrun.contracts.names import RECONCILE_STARTUP_ID
from agentrun.contracts.reconcile import ReconcileReport
from tests.support.topology import (
    ATTENDED,
    Plan,
    Topology,
    Traffic,
    WorkerProc,
    drive,
)
from tests.support.topology_findings import (
    PHASES,
    Histories,
    SideEffects,
    Stall,
    read_histories,
    reconcile_dry_run,
    settle,
    side_effects,
    startup_sweep,
)

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

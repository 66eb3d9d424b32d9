"""The production topology as processes, under chaos: three ``agentrun worker`` processes, a
PostgreSQL run store, one shop database; refunds started at a bounded concurrency, a fifth of
them waiting for a person whom a script plays, while the busiest worker is SIGKILLed after a
third of the runs have started and another restarted after two thirds.

Every run completes, no refund, email or note happens twice, the store agrees with Temporal
(``agentrun reconcile --dry-run`` finds nothing, once the restarted worker's start-up sweep has
repaired what the killed one had not written, and before that only those runs), and every
worker did its share. The harness is tests/support/topology.py; the figures of the slow run are
in docs/performance.md ("Three workers under chaos"). Run either with ``-s`` to see them.
"""

from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from agentrun.contracts import RunState
from tests.support.topology import AMOUNT, ATTENDED, Plan, topology
from tests.support.topology_drill import Figures, drill

# CI's, kept short: 60 runs (12 wait for the approver) took 31-47 s on two cores, most of it the
# workers' start-up (~7 s of CPU each) and, when the kill lost rows, the 15 s before the
# replacement's start-up sweep.
SHORT = Plan(runs=60, concurrency=12)
# The issue's.
FULL = Plan(runs=300, concurrency=20)


def check(figures: Figures) -> None:
    print("\n".join(figures.lines()))  # the figures, for whoever runs it with -s
    runs = figures.traffic.runs
    run_ids = {r.run_id for r in runs}
    assert len(run_ids) == figures.plan.runs

    # Every run completes.
    unfinished = {r.run_id: (r.state, r.failure) for r in runs if r.state is not RunState.COMPLETED}
    assert not unfinished, unfinished

    # No side effect happens twice: one refund, one email and one note per run, none else.
    one_each = dict.fromkeys(run_ids, 1)
    assert figures.shop.refunds == one_each
    assert figures.shop.emails == one_each
    assert figures.shop.notes == one_each
    assert figures.shop.refunded == pytest.approx(len(runs) * AMOUNT)

    # Every run of version 2 was approved once, by the script; no other run asked anyone.
    attended = {r.run_id for r in runs if r.version == ATTENDED}
    reviewed = {run_id for run_id, n in figures.histories.updates.items() if n}
    assert reviewed == attended
    assert all(figures.histories.updates[r] == 1 for r in attended)
    assert set(figures.traffic.approvals) <= attended

    # The store agrees with Temporal. Once the live workers had flushed, it lacked at most the
    # end of runs that had finished on the killed worker (its writer's last half second), and
    # `agentrun reconcile --dry-run` named exactly those; once the replacement's start-up sweep
    # had rewritten them, the store had every run's end and the dry run found nothing.
    chaos = figures.traffic.chaos
    assert chaos.killed is not None
    record, finished_by = figures.record, figures.histories.finished_by
    assert {finished_by[r] for r in record.lost} <= {chaos.killed.label}, record.lost
    if record.sweep_at is None or record.sweep_at > record.before_at:  # no sweep yet
        assert set(record.before.rewritten) == record.lost, record.before
    else:  # it had run, maybe after the store was read
        assert set(record.before.rewritten) <= record.lost, record.before
    assert record.before.skipped_count == 0, record.before
    if record.lost:
        assert record.sweep is not None
        assert record.lost <= set(record.sweep.rewritten), record.sweep
    assert not record.behind
    assert record.after.checked >= len(runs)
    assert record.after.rewritten_count == 0, record.after
    assert record.after.skipped_count == 0, record.after

    # Every worker did work while it lived: the three first ones and the replacement.
    assert chaos.restarted is not None
    assert chaos.replacement is not None
    assert chaos.killed is not chaos.restarted
    assert len(figures.workers) == 4
    for worker in figures.workers:
        load = figures.histories.load[worker.label]
        assert load.workflow_tasks > 0, worker.label
        assert load.activities > 0, worker.label
    assert chaos.killed.ended == "killed"
    assert chaos.restarted.ended == "restarted"
    assert chaos.restarted.exit_code == 0

    # The kill caught runs mid-flight and they finished on the other workers; nothing was
    # written for a worker after it had gone.
    assert not figures.histories.late_events, figures.histories.late_events
    caught = figures.caught()
    assert caught, "the kill caught no run mid-flight"
    for run_id in caught:
        assert figures.histories.finished_by[run_id] != chaos.killed.label


async def test_three_workers_under_chaos_every_run_completes_once(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    async with topology(temporal_env.client, tmp_path) as topo:
        figures = await drill(topo, SHORT)
    check(figures)


@pytest.mark.slow
@pytest.mark.timeout(900)
async def test_three_hundred_runs_under_chaos(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    async with topology(temporal_env.client, tmp_path) as topo:
        figures = await drill(topo, FULL)
    check(figures)

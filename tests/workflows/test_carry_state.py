"""What a run carries into its next execution, part by part (no server: the parts are plain).

The windows keep payloads bounded however long a run gets; the counts keep every check that
counts (loops, the policies' repeat counts, event and review numbering) going on unbroken.
"""

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from agentrun.contracts.agents import AgentSpec
from agentrun.contracts.carry import KEEP_RECENT, CarriedGuard
from agentrun.contracts.governance import GovernanceEvent
from agentrun.contracts.prepare import GUARD_VERSION
from agentrun.contracts.tools import RequestContext, ToolCallRecord, ToolContract
from agentrun.logic.guards import KEY_CHARS, LoopDetector, call_key, pack_counts, unpack_counts
from agentrun.workflows.guardrails import Guardrails
from agentrun.workflows.tools import ToolRunner

AT = datetime(2026, 1, 1, tzinfo=UTC)
PLAN = AgentSpec(
    name="carried",
    version="1",
    system_prompt="-",
    tools=(ToolContract(name="read", description="-", input_schema={}, output_schema={}),),
).plan()


def _record(n: int) -> ToolCallRecord:
    return ToolCallRecord(
        call_id=f"c{n}",
        step=n,
        tool="read",
        status="success",
        attempts=1,
        idempotency_key=f"run/{n}/0",
        started_at=AT,
        finished_at=AT,
    )


def _runner(*, evaluated: bool = False) -> ToolRunner:
    def no_context() -> RequestContext:
        raise AssertionError("not called")

    return ToolRunner(
        PLAN,
        no_context,
        lambda: timedelta(minutes=1),
        recorded={} if evaluated else None,
    )


def test_call_counts_pack_to_twelve_characters_a_call() -> None:
    counts = Counter({call_key("read", {"key": f"k{i}"}): 1 for i in range(1000)})
    counts[call_key("read", {"key": "again"})] = 2
    packed = pack_counts(counts)
    assert len(packed[1]) == 1000 * KEY_CHARS
    assert unpack_counts(packed) == counts
    assert call_key("read", {"a": 1, "b": 2}) == call_key("read", {"b": 2, "a": 1})


def test_a_resumed_loop_detector_counts_on() -> None:
    first = LoopDetector(threshold=3)
    assert not first.record("read", {"key": "k"})
    assert not first.record("read", {"key": "k"})
    resumed = LoopDetector(threshold=3, seen=pack_counts(first.counts))
    assert resumed.record("read", {"key": "k"}), "the third identical call, across executions"


def test_only_the_latest_tool_calls_are_carried() -> None:
    runner = _runner()
    runner.records = [_record(n) for n in range(KEEP_RECENT + 20)]
    runner.cost_usd = 0.5
    carried = runner.carried()
    assert [r.step for r in carried.records] == list(range(20, KEEP_RECENT + 20))
    assert carried.earlier == 20
    assert carried.called_earlier == (), "only an evaluated run needs the names"
    resumed = _runner()
    resumed.resume(carried)
    resumed.records.append(_record(KEEP_RECENT + 20))
    again = resumed.carried()
    assert again.earlier == 21
    assert again.cost_usd == 0.5


def test_an_evaluated_run_carries_every_tool_it_called() -> None:
    runner = _runner(evaluated=True)
    runner.records = [_record(n) for n in range(KEEP_RECENT + 5)]
    resumed = _runner(evaluated=True)
    resumed.resume(runner.carried())
    assert len(resumed.called()) == KEEP_RECENT + 5


def _event(n: int) -> GovernanceEvent:
    return GovernanceEvent(event_id=f"p{n}", kind="policy_decision", at=AT, reason="-")


def test_governance_events_are_windowed_and_numbered_on() -> None:
    guard = Guardrails(PLAN, "carried", "acme", guard_version=GUARD_VERSION)
    guard.events = [_event(n) for n in range(1, KEEP_RECENT + 11)]
    guard.private_data_seen = True
    loops = Counter({call_key("read", {"key": "k"}): 1})
    carried = guard.carried(loops)
    assert carried.events_earlier == 10
    assert carried.events[0].event_id == "p11"
    assert carried.calls == pack_counts(Counter()), "the guard saw no call the loops did"
    resumed = Guardrails(PLAN, "carried", "acme", guard_version=GUARD_VERSION)
    resumed.resume(carried, loops)
    assert resumed.private_data_seen
    assert resumed._next_event_id() == f"p{KEEP_RECENT + 11}"
    assert resumed.carried(Counter()).events_earlier == 10


@pytest.mark.parametrize("version", [1, 2, GUARD_VERSION])
def test_the_guard_version_is_carried(version: int) -> None:
    """A continued run screens as the run began: its guard version goes with it."""
    carried = Guardrails(PLAN, "carried", "acme", guard_version=version).carried(Counter())
    assert carried.version == version
    assert carried.legacy_screen is (version < 2)


@pytest.mark.parametrize(("legacy", "version"), [(True, 1), (False, 2)])
def test_state_carried_before_version_3_reads_as_1_or_2(legacy: bool, version: int) -> None:
    assert CarriedGuard(legacy_screen=legacy).version == version


def test_repeat_counts_equal_to_the_loop_detectors_are_carried_once() -> None:
    guard = Guardrails(PLAN, "carried", "acme", guard_version=GUARD_VERSION)
    loops = LoopDetector(threshold=3)
    loops.record("read", {"key": "k"})
    guard.resume(guard.carried(Counter()), loops.counts)  # as after a call both counted
    assert guard.carried(loops.counts).calls is None

"""The state machine: only the documented transitions (docs/lifecycle.md) are possible, each
one recorded in order."""

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentrun.contracts.states import ALLOWED_TRANSITIONS, RunState
from agentrun.logic.statemachine import IllegalTransition, RunStateMachine, is_allowed

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SPEC_EDGES = {
    (RunState.INIT, RunState.PREPARING),
    (RunState.PREPARING, RunState.EXECUTING),
    (RunState.PREPARING, RunState.FAILED),
    (RunState.EXECUTING, RunState.REVIEWING),
    (RunState.EXECUTING, RunState.FAILED),
    (RunState.EXECUTING, RunState.COMPLETED),
    (RunState.REVIEWING, RunState.COMPLETED),
    (RunState.REVIEWING, RunState.FAILED),
    (RunState.REVIEWING, RunState.EXECUTING),
}


def test_allowed_transitions_are_exactly_the_spec() -> None:
    edges = {(s, t) for s, targets in ALLOWED_TRANSITIONS.items() for t in targets}
    assert edges == SPEC_EDGES


def test_executing_to_completed_only_without_required_review() -> None:
    assert is_allowed(RunState.EXECUTING, RunState.COMPLETED, review_required=False)
    assert not is_allowed(RunState.EXECUTING, RunState.COMPLETED, review_required=True)


def test_cancel_from_any_live_state_only() -> None:
    for state in RunState:
        assert is_allowed(state, RunState.CANCELLED, review_required=False) is not state.terminal


def test_illegal_transition_raises_and_changes_nothing() -> None:
    machine = RunStateMachine(T0)
    with pytest.raises(IllegalTransition, match="INIT -> COMPLETED"):
        machine.transition(RunState.COMPLETED, T0)
    assert machine.state is RunState.INIT
    assert len(machine.transitions) == 1


def test_time_cannot_go_backwards() -> None:
    machine = RunStateMachine(T0)
    with pytest.raises(IllegalTransition, match="precedes"):
        machine.transition(RunState.PREPARING, T0 - timedelta(seconds=1))


@given(
    steps=st.lists(
        st.tuples(st.sampled_from(list(RunState)), st.booleans(), st.integers(0, 10_000)),
        max_size=40,
    )
)
def test_any_sequence_only_follows_allowed_edges(steps: list[tuple[RunState, bool, int]]) -> None:
    machine = RunStateMachine(T0)
    now = T0
    for target, review_required, delay_ms in steps:
        now += timedelta(milliseconds=delay_ms)
        source = machine.state
        allowed = is_allowed(source, target, review_required=review_required)
        if allowed:
            machine.transition(target, now, review_required=review_required)
            assert machine.state is target
        else:
            with pytest.raises(IllegalTransition):
                machine.transition(target, now, review_required=review_required)
            assert machine.state is source
    history = machine.transitions
    assert history[0].target is RunState.INIT
    for before, after in itertools.pairwise(history):
        assert after.source is before.target
        assert after.at >= before.at
        assert (before.target, after.target) in SPEC_EDGES or after.target is RunState.CANCELLED
    terminal_positions = [i for i, t in enumerate(history) if t.target.terminal]
    assert terminal_positions in ([], [len(history) - 1])


def test_a_required_review_cannot_be_skipped_even_after_changes_were_requested() -> None:
    machine = RunStateMachine(T0)
    for state in (RunState.PREPARING, RunState.EXECUTING):
        machine.transition(state, T0)
    machine.require_review()
    with pytest.raises(IllegalTransition, match="EXECUTING -> COMPLETED"):
        machine.transition(RunState.COMPLETED, T0)
    machine.transition(RunState.REVIEWING, T0)
    machine.transition(RunState.EXECUTING, T0, "request_changes by alice")
    with pytest.raises(IllegalTransition, match="EXECUTING -> COMPLETED"):
        machine.transition(RunState.COMPLETED, T0)
    machine.transition(RunState.REVIEWING, T0)
    machine.transition(RunState.COMPLETED, T0, "approve by alice")
    assert machine.state is RunState.COMPLETED

"""The run state machine: the only way a run changes state.

Illegal transitions raise :class:`IllegalTransition`, a programming error: inside a workflow it
fails the workflow task (so a fixed worker can resume the run) instead of recording a wrong state.
"""

from collections.abc import Sequence
from datetime import datetime, timedelta

from agentrun.contracts.states import ALLOWED_TRANSITIONS, RunState, Transition, time_in_states


class IllegalTransition(RuntimeError):
    pass


def is_allowed(source: RunState, target: RunState, *, review_required: bool) -> bool:
    if target is RunState.CANCELLED:
        return not source.terminal
    if source is RunState.EXECUTING and target is RunState.COMPLETED and review_required:
        return False
    return target in ALLOWED_TRANSITIONS[source]


class RunStateMachine:
    def __init__(self, started_at: datetime) -> None:
        self._transitions: list[Transition] = [
            Transition(source=None, target=RunState.INIT, at=started_at, reason="request received")
        ]
        self._review_required = False

    @classmethod
    def resumed(cls, transitions: Sequence[Transition], review_required: bool) -> "RunStateMachine":
        """The machine of a run that continued as new: its transitions so far, unbroken."""
        if not transitions:
            raise IllegalTransition("a resumed run has at least its entry into INIT")
        machine = cls(transitions[0].at)
        machine._transitions = list(transitions)
        machine._review_required = review_required
        return machine

    @property
    def review_required(self) -> bool:
        """Once a run's result had to be reviewed, every later result of the run does too: a
        revision after ``request_changes`` goes back to the person who asked for it."""
        return self._review_required

    def require_review(self) -> None:
        self._review_required = True

    @property
    def state(self) -> RunState:
        return self._transitions[-1].target

    @property
    def transitions(self) -> list[Transition]:
        return list(self._transitions)

    def time_in(self, state: RunState, now: datetime) -> timedelta:
        """Total time spent in ``state`` so far, the current stay included."""
        return time_in_states(self._transitions, now).get(state, timedelta())

    def transition(
        self,
        target: RunState,
        at: datetime,
        reason: str | None = None,
        *,
        review_required: bool = False,
    ) -> Transition:
        """Record the move to ``target``; EXECUTING -> COMPLETED is refused while a review is
        required (by the run, see :meth:`require_review`, or by the caller)."""
        source = self.state
        required = review_required or self._review_required
        if not is_allowed(source, target, review_required=required):
            raise IllegalTransition(f"{source} -> {target} is not an allowed transition")
        if at < self._transitions[-1].at:
            raise IllegalTransition(f"transition to {target} at {at} precedes the previous one")
        record = Transition(source=source, target=target, at=at, reason=reason)
        self._transitions.append(record)
        return record

"""Run lifecycle states, the transitions between them, and failure categories.

See docs/lifecycle.md.
"""

from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from itertools import pairwise

from pydantic import BaseModel, ConfigDict


class RunState(StrEnum):
    INIT = "INIT"
    PREPARING = "PREPARING"
    EXECUTING = "EXECUTING"
    REVIEWING = "REVIEWING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL_STATES


TERMINAL_STATES = frozenset({RunState.COMPLETED, RunState.FAILED, RunState.CANCELLED})

# CANCELLED is reachable from every non-terminal state and is added by the state machine; the
# EXECUTING -> COMPLETED edge is further guarded: only legal when review is not required.
ALLOWED_TRANSITIONS: dict[RunState, frozenset[RunState]] = {
    RunState.INIT: frozenset({RunState.PREPARING}),
    RunState.PREPARING: frozenset({RunState.EXECUTING, RunState.FAILED}),
    RunState.EXECUTING: frozenset({RunState.REVIEWING, RunState.FAILED, RunState.COMPLETED}),
    RunState.REVIEWING: frozenset({RunState.COMPLETED, RunState.FAILED, RunState.EXECUTING}),
    RunState.COMPLETED: frozenset(),
    RunState.FAILED: frozenset(),
    RunState.CANCELLED: frozenset(),
}


class FailureCategory(StrEnum):
    INVALID_INPUT = "invalid_input"
    POLICY_DENIED = "policy_denied"
    TOOL_ERROR_PERMANENT = "tool_error_permanent"
    TOOL_ERROR_EXHAUSTED = "tool_error_exhausted"
    CONTRACT_VIOLATION = "contract_violation"
    MODEL_ERROR = "model_error"
    # The conversation no longer fits the model's context window: no retry can help.
    CONTEXT_OVERFLOW = "context_overflow"
    BUDGET_EXCEEDED = "budget_exceeded"
    LOOP_DETECTED = "loop_detected"
    REVIEW_REJECTED = "review_rejected"
    REVIEW_TIMEOUT = "review_timeout"
    STATE_TIMEOUT = "state_timeout"
    CANCELLED = "cancelled"
    INTERNAL = "internal"


class Transition(BaseModel):
    """One recorded state change; ``source`` is None for the initial INIT entry."""

    model_config = ConfigDict(frozen=True)

    source: RunState | None
    target: RunState
    at: datetime
    reason: str | None = None


def time_in_states(
    transitions: Sequence[Transition], now: datetime | None = None
) -> dict[RunState, timedelta]:
    """Time spent in each state; a live (non-terminal) current state counts up to ``now``."""
    spent: dict[RunState, timedelta] = {}
    for current, nxt in pairwise(transitions):
        spent[current.target] = spent.get(current.target, timedelta()) + (nxt.at - current.at)
    if transitions and now is not None and not transitions[-1].target.terminal:
        last = transitions[-1]
        spent[last.target] = spent.get(last.target, timedelta()) + (now - last.at)
    return spent

"""What a run carries into its next execution when it continues as new (docs/lifecycle.md).

A long run's history would pass Temporal's limits (and slow every replay), so the run continues
as new: the same workflow id (its run id) starts a fresh history whose input is the request with
``carried`` set. Everything the run's status shows, and everything its later decisions depend on,
travels here, so nothing a user sees changes and no check starts over. Only the workflow sets it,
and a run accepts it only when Temporal says the execution continued another one
(``workflows.carry``): a caller cannot hand a run a made-up past.

Payloads are bounded (Temporal refuses more than 2 MB): the run flushes its whole record to the
store first, then carries only the latest tool calls and governance events, with counts of the
earlier ones; what grows with every call is kept in digests (``logic.guards.pack_counts``).
"""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agentrun.contracts.agents import Budget, RunPlan
from agentrun.contracts.governance import GovernanceEvent
from agentrun.contracts.model import Compaction, Message
from agentrun.contracts.review import RejectedReview, ReviewRecord
from agentrun.contracts.runs import ChildRun, RunRequest, Usage
from agentrun.contracts.states import Transition
from agentrun.contracts.tools import ToolCallRecord

# The latest tool calls and governance events a run carries (and shows) after continuing; the
# earlier ones are in its record in the store, and its status counts them.
KEEP_RECENT = 50

# How often each distinct call was made: count -> the calls' 12-character digests, concatenated.
PackedCounts = dict[int, str]


class _Carried(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CarriedReviews(_Carried):
    """The review desk: decisions so far, refused ones, and how reviews are numbered and signed.
    No review is pending: a run only continues between steps."""

    records: tuple[ReviewRecord, ...] = ()
    rejected: tuple[RejectedReview, ...] = ()
    opened: int = 0
    bind_review_ids: bool = False
    # With signed decisions required: the public keys, and the grants already used (a grant is
    # good once per run, across executions too).
    grant_keys: dict[str, str] | None = None
    used_grants: tuple[str, ...] = ()


class CarriedGuard(_Carried):
    """The guardrails' state: trust labels, the latest governance events, security holds."""

    legacy_screen: bool
    # The run's guard version (PREPARING's result); None in what runs carried before version 3
    # was written: then 1 or 2, as ``legacy_screen`` says.
    guard_version: int | None = None
    private_data_seen: bool = False
    untrusted_seen: bool = False
    events: tuple[GovernanceEvent, ...] = ()
    events_earlier: int = 0
    security_holds: tuple[str, ...] = ()
    # Repeat counts the policies see; None: the same as the loop detector's (the usual case,
    # carried once).
    calls: PackedCounts | None = None

    @property
    def version(self) -> int:
        """The guard version the run began with."""
        if self.guard_version is not None:
            return self.guard_version
        return 1 if self.legacy_screen else 2


class CarriedCalls(_Carried):
    """The latest tool-call records, how many came before, and what the calls cost."""

    records: tuple[ToolCallRecord, ...] = ()
    earlier: int = 0
    cost_usd: float = 0.0
    # An evaluated run only: the tools called before the carried records, in order (its
    # scorers see every call), and how far each tool's recorded results were replayed.
    called_earlier: tuple[str, ...] = ()
    replayed: dict[str, int] = Field(default_factory=dict)


class CarriedLedger(_Carried):
    usage: Usage
    budget: Budget
    # The budget as first set: each approved extension grants it once more.
    granted: Budget
    # What runs this one called as tools have spent, by child run id.
    children: dict[str, Usage] = Field(default_factory=dict)


class CarriedRun(_Carried):
    """A run's state at the top of an agent-loop iteration, when it continued as new."""

    # Which execution of the run this is (2: the first continuation).
    execution: int = Field(ge=2)
    plan: RunPlan
    trace_id: str
    version_reason: str | None = None
    # From PREPARING's result: how the run records itself and when it continues as new.
    record: bool = False
    record_in_worker: bool = False
    continue_after_events: int | None = None
    transitions: tuple[Transition, ...] = Field(min_length=3)
    review_required: bool = False
    step: int = Field(ge=0)
    conversation_length: int = Field(ge=0)
    # What the next model call sends: the last step's tool results (or a reviewer's feedback).
    messages: tuple[Message, ...]
    last_tool: str | None = None
    # A previous answer sent back for changes stays on show while the run revises it.
    output: dict[str, Any] | None = None
    confidence: float | None = None
    human_override: bool = False
    ledger: CarriedLedger
    loop_calls: PackedCounts = Field(default_factory=dict)
    reviews: CarriedReviews
    guard: CarriedGuard
    calls: CarriedCalls
    # The runs it called as tools (agents), as its status shows them.
    children: tuple[ChildRun, ...] = ()
    # The latest compactions of its conversation (models.md, "Long conversations").
    compactions: tuple[Compaction, ...] = ()


__all__ = [
    "KEEP_RECENT",
    "CarriedCalls",
    "CarriedGuard",
    "CarriedLedger",
    "CarriedReviews",
    "CarriedRun",
    "PackedCounts",
]

# ``RunRequest.carried`` names this module's model, which needs ``runs`` itself: resolved here,
# and ``agentrun.contracts`` imports this module, so any import of a contract resolves it.
RunRequest.model_rebuild(_types_namespace={"CarriedRun": CarriedRun})

"""Review decisions and the pending-review record (docs/review.md)."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

# An edit is input from a person: bounded like a run's input (``runs.MAX_INPUT_BYTES``), as JSON.
# Unbounded, an edit near Temporal's 2 MB payload limit is accepted and then wedges (or kills) the
# run when it completes; a little nearer, even its refusal is too big to send back.
MAX_EDIT_BYTES = 256 * 1024


class Decision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    REQUEST_CHANGES = "request_changes"
    EDIT = "edit"


class ReviewDecision(BaseModel):
    """The payload of the ``submit_review`` update and the ``review`` signal.

    ``review_id`` is optional: when given it must name the pending review, so a decision typed
    for one gate can never land on another.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    decision: Decision
    reviewer: str = Field(min_length=1, max_length=200)
    comment: str | None = Field(default=None, max_length=10_000)
    output: dict[str, Any] | None = None
    # Bounded: a refusal quotes it, and a refusal must fit in a Temporal payload.
    review_id: str | None = Field(default=None, max_length=100)
    # A signed review grant (``agentrun.logic.grants``): who decided, proven by key, not by name.
    token: str | None = Field(default=None, min_length=1, max_length=4096)

    @model_validator(mode="after")
    def _decision_has_what_it_needs(self) -> "ReviewDecision":
        if self.decision is Decision.EDIT and self.output is None:
            raise ValueError("output: required when decision is 'edit'")
        if self.decision is not Decision.EDIT and self.output is not None:
            raise ValueError("output: only allowed when decision is 'edit'")
        if self.decision is Decision.REQUEST_CHANGES and not self.comment:
            raise ValueError("comment: required when decision is 'request_changes'")
        return self


class ReviewAck(BaseModel):
    """The update's answer: the decision was accepted and what the run does next."""

    review_id: str
    decision: Decision
    next_state: str


class GateKind(StrEnum):
    """What a person is asked to decide: the run's final output, one tool call before it runs,
    more budget after a limit was reached, or a policy's escalation."""

    FINAL = "final"
    TOOL_APPROVAL = "tool_approval"
    BUDGET = "budget"
    POLICY = "policy"


class PendingReview(BaseModel):
    review_id: str
    kind: GateKind
    reviewers: tuple[str, ...]
    deadline: datetime
    escalated: bool = False
    tool: str | None = None
    tool_args: dict[str, Any] | None = None
    reason: str


class ReviewRecord(BaseModel):
    review_id: str
    kind: GateKind
    decision: Decision
    reviewer: str
    at: datetime
    opened_at: datetime | None = None
    comment: str | None = None
    automatic: bool = False
    escalated: bool = False
    human_override: bool = False

    @property
    def by(self) -> str:
        """``approve by alice``: how transitions and failures name the decision."""
        return f"{self.decision.value} by {self.reviewer}"

    @property
    def said(self) -> str:
        """``reject by alice: wrong customer``, or just ``reject by alice`` without a comment."""
        return f"{self.by}: {self.comment}" if self.comment else self.by


class RejectedReview(BaseModel):
    """An unauthorised or malformed decision that reached the run by signal and was refused."""

    reviewer: str
    at: datetime
    reason: str

"""The review desk: pending reviews, decision validation, deadlines and escalation."""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from pydantic import ValidationError
    from pydantic_core import PydanticSerializationError, to_json

    from agentrun.contracts.agents import EscalationAction, EscalationPolicy
    from agentrun.contracts.carry import CarriedReviews
    from agentrun.contracts.identity import Grant, Role
    from agentrun.contracts.review import (
        MAX_EDIT_BYTES,
        Decision,
        GateKind,
        PendingReview,
        RejectedReview,
        ReviewDecision,
        ReviewRecord,
    )
    from agentrun.contracts.states import FailureCategory
    from agentrun.logic.grants import GrantRefused, decision_digest, verify_grant
    from agentrun.logic.guards import reviewer_refusal
    from agentrun.logic.problems import payload_problem
    from agentrun.workflows.errors import RunFailure

ESCALATION_REVIEWER = "escalation-policy"
# Who answered the review gates of an evaluated run: its case, never a person.
EVALUATION_REVIEWER = "evaluation-case"
REVIEW_ROLES = frozenset({Role.REVIEWER, Role.ADMIN})
_TAG_HEX = 16


def review_id_for(kind: str, number: int, execution_id: str) -> str:
    """``final-1-<16 hex>``: the tag is a digest of the execution's first run id, which the
    server draws at random when the execution starts. A review grant names its review id, so it
    is good in this execution only (a second execution under the same run id numbers its reviews
    alike but tags them otherwise), and nobody can sign a grant for a review before it opens."""
    digest = hashlib.sha256(f"{execution_id}/{kind}-{number}".encode()).hexdigest()
    return f"{kind}-{number}-{digest[:_TAG_HEX]}"


class ReviewDesk:
    def __init__(self) -> None:
        self.pending: PendingReview | None = None
        self.records: list[ReviewRecord] = []
        self.rejected: list[RejectedReview] = []
        self._decision: ReviewDecision | None = None
        self._opened = 0
        # Set when the worker requires signed decisions (recorded in PREPARING's result).
        self._keys: dict[str, str] | None = None
        self._run_id = ""
        self._tenant_id = ""
        self._used_grants: set[str] = set()
        # Review ids carry a tag of the execution (guard version 2, from PREPARING's result);
        # runs that began before numbered them only ("final-1"), and replay so.
        self.bind_review_ids = False

    def require_grants(self, public_keys: dict[str, str], run_id: str, tenant_id: str) -> None:
        """From now on a decision counts only with a grant signed by one of these keys."""
        self._keys, self._run_id, self._tenant_id = public_keys, run_id, tenant_id

    def carried(self) -> CarriedReviews:
        """What the desk knows, for the run's next execution (no review is pending then)."""
        assert self.pending is None  # noqa: S101 -- runs continue only between steps
        return CarriedReviews(
            records=tuple(self.records),
            rejected=tuple(self.rejected),
            opened=self._opened,
            bind_review_ids=self.bind_review_ids,
            grant_keys=self._keys,
            used_grants=tuple(sorted(self._used_grants)),
        )

    def resume(self, carried: CarriedReviews, run_id: str, tenant_id: str) -> None:
        """Review ids go on from the carried count, and still bind to the run's first
        execution (``first_execution_run_id`` stays the same across continue-as-new)."""
        self.records = list(carried.records)
        self.rejected = list(carried.rejected)
        self._opened = carried.opened
        self.bind_review_ids = carried.bind_review_ids
        if carried.grant_keys is not None:
            self.require_grants(carried.grant_keys, run_id, tenant_id)
        self._used_grants = set(carried.used_grants)

    def refusal(self, decision: ReviewDecision | None) -> str | None:
        """Why this decision cannot be accepted now, or None. Deterministic: used by validators.

        ``None`` is what a signal or update without a payload (or with JSON ``null``) decodes
        to; refused here, it cannot reach a handler that would fail every workflow task."""
        if decision is None:
            return "no decision: the payload must be a review decision object"
        pending = self.pending
        if pending is None:
            return "the run is not waiting for a review"
        if self._decision is not None:
            return f"review {pending.review_id} already has a decision"
        if decision.review_id is not None and decision.review_id != pending.review_id:
            return (
                f"review_id {decision.review_id!r} does not match the pending {pending.review_id!r}"
            )
        output = _output_refusal(decision.output)
        if output is not None:
            return output
        return reviewer_refusal(decision.reviewer, pending.reviewers) or self._grant_refusal(
            decision, pending.review_id
        )

    def _grant_refusal(self, decision: ReviewDecision, review_id: str) -> str | None:
        """Deterministic: the signature, expiry (against workflow time), run, tenant, role,
        review, decision and its comment/output are all checked against the grant."""
        if self._keys is None:
            return None
        if decision.token is None:
            return "signed decisions required: send a grant (agentrun review --api-key)"
        try:
            decision_digest(decision.comment, decision.output)
        except ValueError:  # raised in a signal handler, it would fail every workflow task
            return "output: NaN and infinity have no canonical JSON, so no grant can sign them"
        try:
            self._verify(decision.token, decision, review_id)
        except GrantRefused as refused:
            return str(refused)
        return None

    def _verify(self, token: str, decision: ReviewDecision, review_id: str) -> Grant:
        assert self._keys is not None  # noqa: S101 -- only called when grants are required
        return verify_grant(
            token,
            self._keys,
            now=workflow.now(),
            run_id=self._run_id,
            tenant_id=self._tenant_id,
            action="review",
            review_id=review_id,
            decision=decision.decision.value,
            payload_digest=decision_digest(decision.comment, decision.output),
            allowed_roles=REVIEW_ROLES,
            subject=decision.reviewer,
            seen_jtis=self._used_grants,
        )

    def accept(self, decision: ReviewDecision) -> None:
        self._decision = decision
        pending = self.pending
        if self._keys is not None and decision.token is not None and pending is not None:
            # A grant is good once: the same token cannot decide a later gate of this run.
            self._used_grants.add(self._verify(decision.token, decision, pending.review_id).jti)

    def refuse(self, decision: ReviewDecision | object, reason: str) -> None:
        """Record a refused signal; ``decision`` is what arrived, valid or not."""
        self.rejected.append(
            RejectedReview(reviewer=_claimed_reviewer(decision), at=workflow.now(), reason=reason)
        )

    async def decide(
        self,
        *,
        kind: GateKind,
        reviewers: tuple[str, ...],
        deadline: timedelta,
        escalation: EscalationPolicy,
        reason: str,
        tool: str | None = None,
        tool_args: dict[str, Any] | None = None,
        on_open: Callable[[], None],
    ) -> "Verdict":
        """Wait for a decision; on each expired deadline apply the escalation policy."""
        self._opened += 1
        if self.bind_review_ids:
            review_id = review_id_for(kind, self._opened, workflow.info().first_execution_run_id)
        else:
            review_id = f"{kind}-{self._opened}"
        opened_at = workflow.now()
        escalated = False
        while True:
            self.pending = PendingReview(
                review_id=review_id,
                kind=kind,
                reviewers=reviewers,
                deadline=workflow.now() + deadline,
                escalated=escalated,
                tool=tool,
                tool_args=tool_args,
                reason=reason,
            )
            self._decision = None
            on_open()
            try:
                await workflow.wait_condition(
                    lambda: self._decision is not None,
                    timeout=deadline,
                    timeout_summary=f"review {review_id} deadline ({escalation.action.value})"
                    + (" escalated" if escalated else ""),
                )
            except TimeoutError:
                if escalation.action is EscalationAction.ESCALATE and not escalated:
                    escalated = True
                    reviewers, deadline = (
                        escalation.escalation_reviewers,
                        escalation.escalation_deadline,
                    )
                    continue
                return Verdict(
                    record=self._expire(review_id, kind, escalation, escalated, opened_at)
                )
            decision = self._decision
            assert decision is not None  # noqa: S101 -- the wait condition guarantees it
            record = self._close(
                ReviewRecord(
                    review_id=review_id,
                    kind=kind,
                    decision=decision.decision,
                    reviewer=decision.reviewer,
                    at=workflow.now(),
                    opened_at=opened_at,
                    comment=decision.comment,
                    escalated=escalated,
                    human_override=decision.decision is Decision.EDIT,
                )
            )
            return Verdict(record=record, output=decision.output)

    def answer(self, kind: GateKind, decision: Decision, reason: str) -> "Verdict":
        """A gate an evaluation answers as its case says: recorded as automatic, by nobody."""
        self._opened += 1
        now = workflow.now()
        record = ReviewRecord(
            review_id=f"{kind}-{self._opened}",
            kind=kind,
            decision=decision,
            reviewer=EVALUATION_REVIEWER,
            at=now,
            opened_at=now,
            comment=reason,
            automatic=True,
        )
        return Verdict(record=self._close(record))

    def _expire(
        self,
        review_id: str,
        kind: GateKind,
        escalation: EscalationPolicy,
        escalated: bool,
        opened_at: datetime,
    ) -> ReviewRecord:
        approve = escalation.action is EscalationAction.AUTO_APPROVE
        record = ReviewRecord(
            review_id=review_id,
            kind=kind,
            decision=Decision.APPROVE if approve else Decision.REJECT,
            reviewer=ESCALATION_REVIEWER,
            at=workflow.now(),
            opened_at=opened_at,
            comment=f"deadline passed: {escalation.action.value}"
            + (" after escalation" if escalated else ""),
            automatic=True,
            escalated=escalated,
        )
        self._close(record)
        if not approve:
            raise RunFailure(
                FailureCategory.REVIEW_TIMEOUT,
                f"review {review_id} got no decision before its deadline"
                + (" (escalated)" if escalated else ""),
            )
        return record

    def _close(self, record: ReviewRecord) -> ReviewRecord:
        self.records.append(record)
        self.pending = None
        self._decision = None
        return record


def parse_decision(payload: object) -> tuple[ReviewDecision | None, str | None]:
    """A signal's raw JSON as a decision, or why it is not one (one line, naming the field)."""
    if payload is None or isinstance(payload, ReviewDecision):
        return payload, None
    try:
        return ReviewDecision.model_validate(payload), None
    except ValidationError as err:
        return None, payload_problem(err, ReviewDecision)


def _claimed_reviewer(decision: object) -> str:
    """Who a refused decision says it is from: audited as claimed, never trusted."""
    if isinstance(decision, ReviewDecision):
        return decision.reviewer
    claimed = decision.get("reviewer") if isinstance(decision, dict) else None
    return claimed[:200] if isinstance(claimed, str) and claimed else "unknown"


def _output_refusal(output: dict[str, Any] | None) -> str | None:
    """The edit's own check (the typed client checks first): raw senders skip the client."""
    if output is None:
        return None
    try:
        size = len(to_json(output))
    except PydanticSerializationError:  # decoded JSON always encodes; guard the handler anyway
        return "output: not JSON"
    if size > MAX_EDIT_BYTES:
        return f"output is {size} bytes as JSON; the limit is {MAX_EDIT_BYTES}"
    return None


@dataclass(frozen=True)
class Verdict:
    record: ReviewRecord
    # The reviewer's replacement output (decision ``edit``), else None.
    output: dict[str, Any] | None = None

"""A run's status as record rows: what every hand-over, and ``agentrun reconcile``, writes.

Free text a person or a rule wrote (failure messages, transition reasons, review comments, policy
reasons) may quote what it looked at: it is redacted here, so the record holds no raw PII.
"""

from agentrun.contracts.governance import GovernanceEvent
from agentrun.contracts.runs import RunStatus
from agentrun.logic.redaction import redact_text
from agentrun.store import repository
from agentrun.store.models import RunRow
from agentrun.store.rows import RowItem


def status_rows(status: RunStatus) -> tuple[RunRow, list[RowItem]]:
    """The run's row and its transitions, reviews and tool calls (last attempts) as rows."""
    first, last = status.transitions[0], status.transitions[-1]
    failure = status.failure
    run = repository.run_row(
        run_id=status.run_id,
        agent=status.agent,
        tenant_id=status.tenant_id,
        user_id=status.user_id,
        request_id=status.request_id,
        trace_id=status.trace_id,
        state=status.state.value,
        started_at=first.at,
        version=status.version,
        execution_id=status.execution_id,
        version_reason=status.version_reason,
        failure_category=failure.category.value if failure else None,
        failure_message=redact_text(failure.message).text if failure else None,
        finished_at=last.at if status.state.terminal else None,
        human_override=status.human_override,
        input_tokens=status.usage.tokens.input_tokens,
        output_tokens=status.usage.tokens.output_tokens,
        cost_usd=status.usage.cost_usd,
        parent_run_id=status.parent_run_id,
        root_run_id=status.root_run_id,
    )
    items = [
        repository.transition_item(
            run_id=status.run_id,
            seq=seq,
            source=transition.source.value if transition.source else None,
            target=transition.target.value,
            at=transition.at,
            reason=redact_text(transition.reason).text if transition.reason else None,
        )
        for seq, transition in enumerate(status.transitions)
    ]
    for review in status.reviews:
        opened = review.opened_at
        items.append(
            repository.review_item(
                run_id=status.run_id,
                review_id=review.review_id,
                kind=review.kind,
                decision=review.decision.value,
                reviewer=review.reviewer,
                at=review.at,
                latency_ms=(review.at - opened).total_seconds() * 1000 if opened else None,
                automatic=review.automatic,
                escalated=review.escalated,
                human_override=review.human_override,
                comment=redact_text(review.comment).text if review.comment else None,
            )
        )
    items.extend(
        repository.tool_call_item(
            run_id=status.run_id,
            idempotency_key=call.idempotency_key,
            attempt=call.attempts,
            tool=call.tool,
            status=call.status,
            started_at=call.started_at,
            finished_at=call.finished_at,
            error_class=call.error_class,
            retryable=call.retryable,
            fallback_for=call.fallback_for,
        )
        for call in status.tool_calls
    )
    items.extend(
        repository.governance_item(run_id=status.run_id, event=redacted_event(event))
        for event in status.governance
    )
    items.extend(
        repository.governance_item(
            run_id=status.run_id,
            event=GovernanceEvent(
                event_id=f"signal-{number}",
                kind="review_refused",
                at=refused.at,
                reason=redact_text(refused.reason).text,
                actor=refused.reviewer,
            ),
        )
        for number, refused in enumerate(status.rejected_reviews, start=1)
    )
    return run, items


def redacted_event(event: GovernanceEvent) -> GovernanceEvent:
    """A decision's reason may quote what the rule looked at (an address, an amount)."""
    return event.model_copy(update={"reason": redact_text(event.reason).text})

"""How a run hands its record to the worker without an activity.

A flush used to be a local activity: one marker event, one task round trip and the run's status
serialised twice, every time a run waited for a person or ended. Temporal's own tracing
interceptor solves the same problem for spans (state that must leave the workflow sandbox, but
only once and never on replay) with an extern function registered by a worker interceptor; this
does the same for the run record.

It also audits review decisions that a run's update validator refused (forged, expired, replayed,
wrong tenant or role): a refused update leaves no trace in history, so the worker that refused it
is the only one that can write it down. Validators never run on replay, so this writes once.
"""

from datetime import UTC, datetime
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError
from temporalio.worker import (
    HandleUpdateInput,
    Interceptor,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

from agentrun.activities.record import RunRecorder
from agentrun.contracts.governance import GovernanceEvent
from agentrun.contracts.names import (
    EXTERN_AUDIT_REFUSAL,
    EXTERN_RECORD_RUN,
    REVIEW_REFUSED,
    UPDATE_SUBMIT_REVIEW,
)
from agentrun.contracts.review import ReviewDecision


class RecordInterceptor(Interceptor):
    def __init__(self, recorder: RunRecorder) -> None:
        self._recorder = recorder

    def workflow_interceptor_class(
        self, class_input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor] | None:
        class_input.unsafe_extern_functions[EXTERN_RECORD_RUN] = self._recorder.submit_status
        class_input.unsafe_extern_functions[EXTERN_AUDIT_REFUSAL] = self._audit_refusal
        return _RefusalAudit

    def _audit_refusal(self, run_id: str, update_id: str, reviewer: str, reason: str) -> None:
        self._recorder.submit_governance(
            run_id,
            GovernanceEvent(
                event_id=f"update-{update_id}",
                kind="review_refused",
                at=datetime.now(UTC),
                reason=reason,
                actor=reviewer,
            ),
        )


class _RefusalAudit(WorkflowInboundInterceptor):
    def handle_update_validator(self, input: HandleUpdateInput) -> None:  # noqa: A002 -- SDK name
        try:
            super().handle_update_validator(input)
        except ApplicationError as err:
            if err.type == REVIEW_REFUSED and input.update == UPDATE_SUBMIT_REVIEW:
                _audit(input, err.message)
            raise


def _audit(input: HandleUpdateInput, reason: str) -> None:  # noqa: A002 -- SDK name
    audit: Any = workflow.extern_functions().get(EXTERN_AUDIT_REFUSAL)
    if audit is None or workflow.unsafe.is_replaying():
        return
    decision = input.args[0] if input.args else None
    reviewer = decision.reviewer if isinstance(decision, ReviewDecision) else "unknown"
    audit(workflow.info().workflow_id, input.id, reviewer, reason)

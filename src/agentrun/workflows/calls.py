"""The workflow's local activities, with their options and how their failures map to a run's.

Both are local activities on purpose: one marker event each, and their inputs (the run status)
never enter history.
"""

from temporalio import workflow
from temporalio.exceptions import ActivityError, FailureError
from temporalio.exceptions import TimeoutError as ActivityTimeoutError

with workflow.unsafe.imports_passed_through():
    from agentrun.contracts.names import (
        ACTIVITY_PREPARE_RUN,
        ACTIVITY_RECORD_RUN,
        EXTERN_RECORD_RUN,
    )
    from agentrun.contracts.prepare import PrepareInput, PrepareResult
    from agentrun.contracts.runs import RecordAck, RunRequest, RunStatus
    from agentrun.contracts.states import FailureCategory
    from agentrun.workflows.errors import RunFailure
    from agentrun.workflows.options import (
        PREPARE_RETRY,
        PREPARE_TIMEOUT,
        RECORD_RETRY,
        RECORD_TIMEOUT,
    )


async def prepare(request: RunRequest, status: RunStatus) -> PrepareResult:
    """Resolve the agent version and validate the input; the run's record starts here too."""
    try:
        prepared: PrepareResult = await workflow.execute_local_activity(
            ACTIVITY_PREPARE_RUN,
            PrepareInput(
                agent=request.agent,
                version=request.version,
                input=request.input,
                status=status,
                model=request.model,
            ),
            result_type=PrepareResult,
            schedule_to_close_timeout=PREPARE_TIMEOUT,
            retry_policy=PREPARE_RETRY,
            summary=f"resolve {request.agent}@{request.version or 'default'}",
        )
    except ActivityError as err:
        cause = err.cause
        if isinstance(cause, ActivityTimeoutError):
            raise RunFailure(
                FailureCategory.STATE_TIMEOUT, "PREPARING did not finish before its deadline"
            ) from None
        message = cause.message if isinstance(cause, FailureError) else str(err)
        raise RunFailure(
            FailureCategory.INTERNAL, f"agent could not be prepared: {message}"
        ) from None
    return prepared


def hand_over(status: RunStatus) -> None:
    """Give the run's status to the worker's record writer: no activity, no history event.

    Only while the run makes progress, never while it replays (the flush was done when the
    step first ran); a worker without a store has no writer, and the run goes on without it.
    What a killed worker had not yet written, the next flush of the run writes again (every
    flush carries the whole record), and ``agentrun reconcile`` rewrites runs that ended.
    """
    if workflow.unsafe.is_replaying():
        return
    submit = workflow.extern_functions().get(EXTERN_RECORD_RUN)
    if submit is not None:
        submit(status)


async def record(status: RunStatus, log_fields: dict[str, str]) -> None:
    """Write the run, its transitions and reviews to the store. A failure is logged, not
    raised: the history still holds everything, and the store catches up at the next flush."""
    try:
        await workflow.execute_local_activity(
            ACTIVITY_RECORD_RUN,
            status,
            result_type=RecordAck,
            schedule_to_close_timeout=RECORD_TIMEOUT,
            retry_policy=RECORD_RETRY,
            summary=f"record run ({status.state.value})",
        )
    except ActivityError as err:
        workflow.logger.error("run record not written: %s", err.cause or err, extra=log_fields)

"""The workflow's local activities, with their options and how their failures map to a run's.

Both are local activities on purpose: one marker event each, and their inputs (the run status)
never enter history.
"""

import asyncio

from temporalio import workflow
from temporalio.exceptions import ActivityError, CancelledError, FailureError
from temporalio.exceptions import TimeoutError as ActivityTimeoutError

with workflow.unsafe.imports_passed_through():
    from agentrun.contracts.names import (
        ACTIVITY_PREPARE_RUN,
        ACTIVITY_RECORD_RUN,
        EXTERN_RECORD_RUN,
    )
    from agentrun.contracts.prepare import PrepareInput, PrepareResult
    from agentrun.contracts.runs import ParentLink, RecordAck, RunRequest, RunStatus
    from agentrun.contracts.states import FailureCategory
    from agentrun.workflows.errors import RunFailure
    from agentrun.workflows.options import (
        PREPARE_RETRY,
        PREPARE_TIMEOUT,
        RECORD_RETRY,
        RECORD_TIMEOUT,
    )


async def prepare(
    request: RunRequest, status: RunStatus, parent: ParentLink | None = None
) -> PrepareResult:
    """Resolve the agent version and validate the input; the run's record starts here too.
    ``parent``: the run that called this one as a tool, once the workflow has checked it."""
    try:
        prepared: PrepareResult = await workflow.execute_local_activity(
            ACTIVITY_PREPARE_RUN,
            PrepareInput(
                agent=request.agent,
                version=request.version,
                input=request.input,
                status=status,
                model=request.model,
                execution_id=workflow.info().first_execution_run_id,
                parent=parent,
            ),
            result_type=PrepareResult,
            schedule_to_close_timeout=PREPARE_TIMEOUT,
            retry_policy=PREPARE_RETRY,
            summary=f"resolve {request.agent}@{request.version or 'default'}",
        )
    except FailureError as err:
        raise _preparing_failed(err) from None
    return prepared


# Marks runs whose PREPARING failures map as below; runs without it failed as they did before
# (a cancel as ``internal``, a definition bug as a bare workflow failure) and replay so.
PATCH_PREPARE_FAILURES = "prepare-failures-v1"


def _preparing_failed(err: FailureError) -> BaseException:
    """How PREPARING's local activity failing ends the run: ``state_timeout`` past its deadline,
    cancelled when the caller cancelled it, else ``internal`` naming what broke.

    The SDK hands the same failure over in two shapes: an ActivityError caused by it, or the bare
    failure (a timeout whose marker is replayed, a failure after local retries). Both must take
    the same path, live and on replay, or the replay that serves a query on the ended run fails
    with a nondeterminism error (tests/histories/prepare_timeout.json)."""
    cause = _cause(err)
    if isinstance(cause, ActivityTimeoutError):
        return RunFailure(
            FailureCategory.STATE_TIMEOUT, "PREPARING did not finish before its deadline"
        )
    bare = not isinstance(err, ActivityError)
    if (bare or isinstance(cause, CancelledError)) and not workflow.patched(PATCH_PREPARE_FAILURES):
        return err if bare else _internal(cause)
    if isinstance(cause, CancelledError):  # the caller cancelled the run meanwhile
        return asyncio.CancelledError(cause.message)
    return _internal(cause)


def _internal(cause: BaseException) -> RunFailure:
    message = cause.message if isinstance(cause, FailureError) else str(cause)
    return RunFailure(FailureCategory.INTERNAL, f"agent could not be prepared: {message}")


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


async def record(status: RunStatus, log_fields: dict[str, str]) -> RecordAck | None:
    """Write the run, its transitions and reviews to the store, and wait until it is committed.
    A failure is logged, not raised (None): the history still holds everything, and the store
    catches up at the next flush."""
    try:
        ack: RecordAck = await workflow.execute_local_activity(
            ACTIVITY_RECORD_RUN,
            status,
            result_type=RecordAck,
            schedule_to_close_timeout=RECORD_TIMEOUT,
            retry_policy=RECORD_RETRY,
            summary=f"record run ({status.state.value})",
        )
    except (ActivityError, ActivityTimeoutError) as err:
        workflow.logger.error("run record not written: %s", _cause(err), extra=log_fields)
        return None
    return ack


def _cause(err: FailureError) -> BaseException:
    """The failure inside an ActivityError, or the bare one (see ``_preparing_failed``)."""
    if isinstance(err, ActivityError):
        return err.cause or err
    return err

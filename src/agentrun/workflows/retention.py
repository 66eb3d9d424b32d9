"""``RetentionPurge``: one purge of the run record store, started by the retention schedule.

A workflow rather than a cron job so the purge gets Temporal's retries, history and UI. The
reference time is fixed once, in history (``workflow.now()``), so a retried activity purges
exactly what the first attempt would have.
"""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from agentrun.contracts.names import (
        ACTIVITY_RETENTION_PURGE,
        RETENTION_PURGE_WORKFLOW,
        ErrorType,
    )
    from agentrun.contracts.retention import PurgeRequest, PurgeResult

# One transaction over a day's worth of expired records; generous for a large store.
PURGE_TIMEOUT = timedelta(minutes=30)
PURGE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=10),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
    maximum_attempts=5,
    non_retryable_error_types=[ErrorType.STORE_DISABLED, ErrorType.PURGE_REFUSED],
)


@workflow.defn(name=RETENTION_PURGE_WORKFLOW)
class RetentionPurgeWorkflow:
    @workflow.run
    async def run(self, request: PurgeRequest) -> PurgeResult:
        if request.now is None:
            request = PurgeRequest(dry_run=request.dry_run, now=workflow.now())
        result: PurgeResult = await workflow.execute_activity(
            ACTIVITY_RETENTION_PURGE,
            request,
            result_type=PurgeResult,
            start_to_close_timeout=PURGE_TIMEOUT,
            retry_policy=PURGE_RETRY,
        )
        return result

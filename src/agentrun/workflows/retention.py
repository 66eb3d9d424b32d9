"""``RetentionPurge``: one purge of the run record store, started by the retention schedule.

A workflow rather than a cron job so the purge gets Temporal's retries, history and UI. The
reference time is fixed once, in history (``workflow.now()``), so a retried activity purges
exactly what the first attempt would have.
"""

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from agentrun.contracts.names import (
        ACTIVITY_RETENTION_PURGE,
        RETENTION_PURGE_WORKFLOW,
    )
    from agentrun.contracts.retention import PurgeRequest, PurgeResult
    from agentrun.workflows.options import PURGE_RETRY, PURGE_TIMEOUT


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

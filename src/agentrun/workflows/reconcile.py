"""``Reconcile``: one sweep of the run record against Temporal, on a worker of the task queue.

Started by the reconcile schedule and by every worker shortly after it starts, so the record of
runs a killed worker had not written is repaired without anyone running ``agentrun reconcile``.
A workflow rather than a loop in the worker so the sweep gets Temporal's retries, history and
UI, and workers starting together share one. The window's end is fixed once, in history
(``workflow.now()``), so a retried activity sweeps the same window.
"""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from agentrun.contracts.names import ACTIVITY_RECONCILE, RECONCILE_WORKFLOW, ErrorType
    from agentrun.contracts.reconcile import ReconcileReport, ReconcileRequest

# The activity heartbeats after every status query (each at most 10 s): a silent one died.
SWEEP_TIMEOUT = timedelta(minutes=20)
SWEEP_HEARTBEAT = timedelta(minutes=2)
SWEEP_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=10),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=2),
    maximum_attempts=3,
    non_retryable_error_types=[ErrorType.STORE_DISABLED],
)


@workflow.defn(name=RECONCILE_WORKFLOW)
class ReconcileWorkflow:
    @workflow.run
    async def run(self, request: ReconcileRequest) -> ReconcileReport:
        if request.now is None:
            request = request.model_copy(update={"now": workflow.now()})
        report: ReconcileReport = await workflow.execute_activity(
            ACTIVITY_RECONCILE,
            request,
            result_type=ReconcileReport,
            start_to_close_timeout=SWEEP_TIMEOUT,
            heartbeat_timeout=SWEEP_HEARTBEAT,
            retry_policy=SWEEP_RETRY,
        )
        return report

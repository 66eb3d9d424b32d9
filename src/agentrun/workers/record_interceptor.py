"""How a run hands its record to the worker without an activity.

A flush used to be a local activity: one marker event, one task round trip and the run's status
serialised twice, every time a run waited for a person or ended. Temporal's own tracing
interceptor solves the same problem for spans (state that must leave the workflow sandbox, but
only once and never on replay) with an extern function registered by a worker interceptor; this
does the same for the run record. The workflow calls it only when not replaying.
"""

from temporalio.worker import Interceptor, WorkflowInboundInterceptor, WorkflowInterceptorClassInput

from agentrun.activities.record import RunRecorder
from agentrun.contracts.names import EXTERN_RECORD_RUN


class RecordInterceptor(Interceptor):
    def __init__(self, recorder: RunRecorder) -> None:
        self._recorder = recorder

    def workflow_interceptor_class(
        self, class_input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor] | None:
        class_input.unsafe_extern_functions[EXTERN_RECORD_RUN] = self._recorder.submit_status
        return None

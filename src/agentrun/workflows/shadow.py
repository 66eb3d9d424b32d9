"""A shadow rollout's copy of a run: the candidate version on the same input, side effects dry
and reviews answered (an evaluation-bound run in ``shadow`` mode), started as a child the run
never waits for. Its record is what the rollout's analysis compares; its result goes nowhere.

Workflow code (it runs in the run's sandbox): no I/O, only ``workflow.*`` APIs.
"""

from temporalio import workflow
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from agentrun.contracts.evaluation import EvalBinding, RunMode
    from agentrun.contracts.names import AGENT_RUN_WORKFLOW, SHADOW_RUN_SUFFIX
    from agentrun.contracts.rollout import ShadowCopy
    from agentrun.contracts.runs import RUN_TASK_TIMEOUT, RunRequest
    from agentrun.logic.rollout import shadow_reason

SHADOW_CASE = "shadow"


async def start_copy(request: RunRequest, run_id: str, shadow: ShadowCopy) -> None:
    """Start the copy and go on: ABANDON lets it outlive the run (a run that ends first must
    not cancel the copy its rollout is waiting to analyse), and a copy that cannot start is
    logged, never the run's failure."""
    copy = request.model_copy(
        update={
            "version": shadow.version,
            "request_id": None,  # the copy's own id (its workflow id) stands in
            "grant": None,  # the parent's grant is for the parent; is_trusted_copy says why
            "evaluation": EvalBinding(
                evaluation_id=shadow.rollout_id, case_id=SHADOW_CASE, mode=RunMode.SHADOW
            ),
        }
    )
    try:
        await workflow.start_child_workflow(
            AGENT_RUN_WORKFLOW,
            copy,
            id=run_id + SHADOW_RUN_SUFFIX,
            parent_close_policy=ParentClosePolicy.ABANDON,
            task_timeout=RUN_TASK_TIMEOUT,
            static_summary=f"shadow of {run_id}: {request.agent}@{shadow.version}",
        )
    except WorkflowAlreadyStartedError:
        workflow.logger.info("shadow copy of %s already started", run_id)


def _copied_from(request: RunRequest) -> str | None:
    """The run this one is a shadow copy of (its parent), or None."""
    binding = request.evaluation
    parent = workflow.info().parent
    if binding is None or binding.mode is not RunMode.SHADOW or parent is None:
        return None
    if workflow.info().workflow_id != parent.workflow_id + SHADOW_RUN_SUFFIX:
        return None  # a run the copy called as a tool: shadow mode, but not the copy itself
    return parent.workflow_id


def is_trusted_copy(request: RunRequest, run_id: str) -> bool:
    """A shadow copy its own parent run started: it needs no start grant of its own. Only the
    server sets a workflow's parent, so a caller cannot pass a run off as one."""
    parent = _copied_from(request)
    return parent is not None and parent + SHADOW_RUN_SUFFIX == run_id


def copy_reason(request: RunRequest) -> str | None:
    """A shadow copy's version reason (None for any other run)."""
    parent = _copied_from(request)
    if parent is None or request.evaluation is None:
        return None
    return shadow_reason(request.evaluation.evaluation_id, parent)

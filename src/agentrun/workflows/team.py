"""Agents called as tools: each call is a child ``AgentRun`` (docs/teams.md).

A child is a run like any other (its own id, state, record, reviews), started by its parent
with what the parent may give it: a share of the budget the parent has left, the time left in
its EXECUTING state, its tenant and user, its trust labels and its policies (the child's
PREPARING adds the parent's). It reports its progress to the parent by signal, so the parent's
status shows what its children spend and which reviews they wait for; its answer comes back as
the tool's result, its failure as a tool error naming the category. Cancelling the parent
cancels its children (the SDK cancels a child whose awaiting task is cancelled; the parent
close policy does it too if the parent ends another way).
"""

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import (
    ApplicationError,
    CancelledError,
    ChildWorkflowError,
    TimeoutError,  # noqa: A004 -- Temporal's, for a child that timed out
)

with workflow.unsafe.imports_passed_through():
    from pydantic import ValidationError

    from agentrun.contracts.agents import Budget, BudgetAction, RunPlan
    from agentrun.contracts.model import ToolCallRequest
    from agentrun.contracts.names import (
        AGENT_RUN_WORKFLOW,
        CHILD_RUN_SEPARATOR,
        SIGNAL_CHILD_PROGRESS,
    )
    from agentrun.contracts.runs import (
        MAX_TEAM_DEPTH,
        RUN_TASK_TIMEOUT,
        ChildRun,
        Failure,
        ParentLink,
        RunRequest,
        RunResult,
        Usage,
    )
    from agentrun.contracts.states import FailureCategory, RunState
    from agentrun.contracts.tools import ToolPolicy
    from agentrun.contracts.trust import InputTrust

# At most this many children of one run run at once; more calls in one step wait their turn.
MAX_PARALLEL_CHILDREN = 4
_MAX_ID = 200  # a run id's limit (RunRequest.request_id)


@dataclass(frozen=True)
class Answer:
    """How a child ended, as its parent needs it: the output, or the failure."""

    child: ChildRun
    output: dict[str, Any] | None
    failure: Failure | None


class Team:
    """The children of one run: started, followed, and charged to it."""

    def __init__(self, run_id: str, parent: ParentLink | None) -> None:
        self.run_id = run_id
        self.parent = parent
        self.root_run_id = parent.root_run_id if parent else run_id
        self.depth = parent.depth if parent else 0
        self.children: dict[str, ChildRun] = {}
        self._shares: dict[str, Budget] = {}  # each running child's budget share
        self._reported: tuple[object, ...] | None = None  # the progress last sent up
        self._latest: ChildRun | None = None  # the progress to send up next
        self._sender: asyncio.Task[None] | None = None
        self._parent_gone = False

    @property
    def running(self) -> int:
        return sum(1 for child in self.children.values() if not child.state.terminal)

    def outstanding(self, charged: Mapping[str, Usage]) -> tuple[int, float]:
        """Tokens and cost promised to running children beyond what they have spent so far:
        with the spend charged already, what the parent may no longer give away."""
        tokens, cost = 0, 0.0
        for run_id, share in self._shares.items():
            if self.children[run_id].state.terminal:
                continue
            spent = charged.get(run_id, Usage())
            if share.max_tokens is not None:
                tokens += max(0, share.max_tokens - spent.tokens.total)
            if share.max_cost_usd is not None:
                cost += max(0.0, share.max_cost_usd - spent.cost_usd)
        return tokens, cost

    def waiting(self) -> ChildRun | None:
        """The first running child waiting for a person (its own review or a descendant's)."""
        return next(
            (c for c in self.children.values() if c.pending_review and not c.state.terminal),
            None,
        )

    def progress(self, report: ChildRun) -> bool:
        """A child's report; one from a run this run did not start, or about a run already
        ended, is ignored (False). The tool and handoff are the parent's own record of them."""
        known = self.children.get(report.run_id)
        if known is None or known.state.terminal:
            return False
        self.children[report.run_id] = report.model_copy(
            update={"tool": known.tool, "handoff": known.handoff, "agent": known.agent}
        )
        return True

    def parent_labels(self) -> InputTrust | None:
        """What the parent had seen when it called: the child's input came from there."""
        parent = self.parent
        if parent is None:
            return None
        return labels_of(parent.private_data, parent.untrusted, f"parent {parent.run_id}")

    def child_id(self, step: int, index: int, agent: str) -> str:
        return f"{self.run_id}{CHILD_RUN_SEPARATOR}{step}-{index}-{agent}"

    def refusal(self, contract: ToolPolicy, child_id: str) -> str | None:
        """Why this call cannot start a child, or None."""
        if self.depth + 1 > MAX_TEAM_DEPTH:
            return (
                f"agents may call agents {MAX_TEAM_DEPTH} deep; {contract.agent} would be "
                f"{self.depth + 1} deep"
            )
        if len(child_id) > _MAX_ID:
            return f"the child's run id would be over {_MAX_ID} characters: {child_id[:60]}..."
        return None

    def enlist(
        self,
        *,
        request: RunRequest,
        plan: RunPlan,
        contract: ToolPolicy,
        call: ToolCallRequest,
        child_id: str,
        share: Budget,
        time_left: timedelta,
        labels: tuple[bool, bool],
        trace_id: str,
    ) -> RunRequest:
        """The child's request, counted as running from now (before it starts: the parent's
        next share and its bound on children at once must see it)."""
        assert contract.agent is not None  # noqa: S101 -- only agent tools come here
        private, untrusted = labels
        child = RunRequest(
            agent=contract.agent,
            version=contract.agent_version,
            input=call.args,
            tenant_id=request.tenant_id,
            user_id=request.user_id,
            request_id=child_id,
            budget=share,
            evaluation=request.evaluation,
            parent=ParentLink(
                run_id=self.run_id,
                root_run_id=self.root_run_id,
                agent=plan.name,
                version=plan.version,
                tool=contract.name,
                depth=self.depth + 1,
                handoff=contract.handoff,
                time_left=time_left,
                private_data=private,
                untrusted=untrusted,
                trace_id=trace_id,
            ),
        )
        self.children[child_id] = ChildRun(
            run_id=child_id, agent=contract.agent, tool=contract.name, handoff=contract.handoff
        )
        self._shares[child_id] = share
        return child

    async def run(self, child: RunRequest) -> Answer:
        """Start an enlisted child and wait for it to end."""
        child_id = child.request_id
        link = child.parent
        assert child_id is not None  # noqa: S101 -- enlist sets it
        assert link is not None  # noqa: S101 -- and this
        try:
            result: RunResult = await workflow.execute_child_workflow(
                AGENT_RUN_WORKFLOW,
                child,
                id=child_id,
                result_type=RunResult,
                parent_close_policy=workflow.ParentClosePolicy.REQUEST_CANCEL,
                task_timeout=RUN_TASK_TIMEOUT,
                static_summary=f"{child.agent} for {self.run_id} (tool {link.tool})",
            )
        except ChildWorkflowError as err:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                # This run is being cancelled (its cancel reached the child through this task):
                # the child's end is not an answer for a model, the cancel goes on up.
                self._ended(child_id, *_failed(err))
                raise asyncio.CancelledError from None
            return self._ended(child_id, *_failed(err))
        return self._ended(child_id, result, result.failure)

    def _ended(self, child_id: str, result: RunResult | None, failure: Failure | None) -> Answer:
        known = self.children[child_id]
        state = result.state if result is not None else RunState.FAILED
        final = known.model_copy(
            update={
                "state": state,
                "pending_review": None,
                "waiting_on": None,
                "failure": failure,
                "usage": result.usage if result is not None else known.usage,
                "confidence": result.confidence if result is not None else known.confidence,
            }
        )
        self.children[child_id] = final
        return Answer(final, result.output if result is not None else None, failure)

    def post(self, status: ChildRun) -> None:
        """Tell the parent (if any) how this run is doing now. Reports go one at a time, each
        after the last has arrived, the latest replacing any not sent yet: two signals in
        flight at once may reach the parent in either order, and an older one would then hide
        a review the child waits for."""
        if self.parent is None or self._parent_gone:
            return
        self._latest = status
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._send(self.parent.run_id))

    async def _send(self, parent_id: str) -> None:
        handle = workflow.get_external_workflow_handle(parent_id)
        while self._latest is not None:
            status, self._latest = self._latest, None
            pending = status.pending_review
            key = (status.state, status.step, pending and pending.review_id, status.waiting_on)
            if key == self._reported:
                continue
            self._reported = key
            try:
                await handle.signal(SIGNAL_CHILD_PROGRESS, status)
            except ApplicationError as err:  # the parent has ended: nobody listens
                workflow.logger.info("progress not sent to %s: %s", parent_id, err)
                self._parent_gone = True
                return


def narrowed(plan: RunPlan, budget: Budget, link: ParentLink | None) -> tuple[RunPlan, Budget]:
    """A child runs within its parent's means: its EXECUTING deadline no later than what the
    parent had left, and its budget failing when spent (a reviewer of the child cannot extend
    what the parent did not give)."""
    if link is None:
        return plan, budget
    deadlines = plan.deadlines
    if link.time_left is not None and link.time_left < deadlines.executing:
        deadlines = deadlines.model_copy(update={"executing": link.time_left})
    return (
        plan.model_copy(update={"deadlines": deadlines}),
        budget.model_copy(update={"on_exceeded": BudgetAction.FAIL}),
    )


def labels_of(private: bool, untrusted: bool, source: str) -> InputTrust | None:
    """Trust labels passed between parent and child: what one had seen, the other now holds."""
    if not private and not untrusted:
        return None
    return InputTrust(
        private_fields=(source,) if private else (), untrusted_fields=(source,) if untrusted else ()
    )


def trusted_parent(request: RunRequest) -> ParentLink | None:
    """The request's parent link, if Temporal says that run started this one (only the
    server sets a workflow's parent); None otherwise, also for a link a caller forged."""
    link = request.parent
    parent = workflow.info().parent
    if link is None or parent is None or parent.workflow_id != link.run_id:
        return None
    return link


def _failed(err: ChildWorkflowError) -> tuple[RunResult | None, Failure]:
    """A child's failure, with its category: its run raised one (with its result in the
    details), or Temporal ended it (cancelled, terminated, timed out)."""
    cause = err.cause
    if isinstance(cause, ApplicationError):
        result = None
        if cause.details:
            try:
                result = RunResult.model_validate(cause.details[0])
            except ValidationError:
                result = None
        if result is not None and result.failure is not None:
            return result, result.failure
        category = _category(cause.type)
        return result, Failure(category=category, message=cause.message)
    if isinstance(cause, CancelledError):
        return None, Failure(category=FailureCategory.CANCELLED, message="child run cancelled")
    if isinstance(cause, TimeoutError):
        return None, Failure(category=FailureCategory.STATE_TIMEOUT, message="child run timed out")
    reason = type(cause).__name__ if cause is not None else "ended"
    return None, Failure(category=FailureCategory.INTERNAL, message=f"child run {reason}")


def _category(name: str | None) -> FailureCategory:
    try:
        return FailureCategory(name or "")
    except ValueError:
        return FailureCategory.INTERNAL

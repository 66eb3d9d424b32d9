"""The state of an ``AgentRun`` and how it is seen and steered from outside: the status query,
the review update and signal, transitions (search attributes, current details, metrics, logs).

:class:`AgentRunWorkflow` (``agent_run``) adds the lifecycle itself on top; the handlers live here
so ``run()``'s module reads as the phases of a run and nothing else. Temporal collects handlers
from base classes like this one as from the workflow class itself.
"""

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from agentrun.contracts.agents import RunPlan, StateDeadlines
    from agentrun.contracts.evaluation import Observation, RunMode
    from agentrun.contracts.model import Compaction
    from agentrun.contracts.names import (
        EXTERN_CHECK_EDIT,
        QUERY_STATUS,
        REVIEW_REFUSED,
        SA_AGENT_NAME,
        SA_AGENT_STATE,
        SA_AGENT_VERSION,
        SA_TENANT_ID,
        SIGNAL_CHILD_PROGRESS,
        SIGNAL_REVIEW,
        UPDATE_SUBMIT_REVIEW,
    )
    from agentrun.contracts.policy import REVIEW_REFUSED_EVENT, PolicyDecision
    from agentrun.contracts.review import Decision, GateKind, ReviewAck, ReviewDecision
    from agentrun.contracts.rollout import ShadowCopy
    from agentrun.contracts.runs import ChildRun, Failure, RunRequest, RunResult, RunStatus
    from agentrun.contracts.states import FailureCategory, RunState, Transition
    from agentrun.contracts.tools import RequestContext
    from agentrun.logic.budget import RunLedger
    from agentrun.logic.details import current_details
    from agentrun.logic.guards import LoopDetector
    from agentrun.logic.statemachine import RunStateMachine
    from agentrun.workflows.guardrails import Guardrails
    from agentrun.workflows.metrics import RunMetrics
    from agentrun.workflows.review import ReviewDesk, parse_decision
    from agentrun.workflows.team import Team, trusted_parent
    from agentrun.workflows.tools import ToolRunner


class AgentRunBase:
    """What a run knows and shows; the workflow class drives it (see ``agent_run``)."""

    def __init__(self, request: RunRequest) -> None:
        info = workflow.info()
        self._request = request
        self._run_id = info.workflow_id
        # Until run() reads the caller's trace (its context is set around run(), not here).
        self._trace_id = workflow.uuid4().hex
        # INIT began when the request arrived, not when a worker first took the run: the time
        # in between is INIT's, and its deadline bounds it.
        self._machine = RunStateMachine(min(info.workflow_start_time, workflow.now()))
        self._desk = ReviewDesk()
        self._spec: RunPlan | None = None
        self._tools: ToolRunner | None = None
        self._loops = LoopDetector(threshold=3)
        self._step = 0
        self._ledger = RunLedger()
        self._conversation_length = 0
        self._last_tool: str | None = None
        self._output: dict[str, Any] | None = None
        self._confidence: float | None = None
        self._override = False
        self._failure: Failure | None = None
        self._metrics: RunMetrics | None = None
        self._record = False  # set from PREPARING's (recorded) result
        self._record_in_worker = False  # likewise: flush without the record activity
        self._guard: Guardrails | None = None  # the policies of the plan, from PREPARING
        self._input_escalation: PolicyDecision | None = None
        self._version_reason: str | None = None  # from PREPARING
        self._shadow: ShadowCopy | None = None  # likewise: a shadow rollout's copy to start
        # The agents it called as tools, and the run that called it (if Temporal says so).
        self._team = Team(self._run_id, trusted_parent(request))
        if self._team.parent is not None and self._team.parent.trace_id is not None:
            # Untraced (no OpenTelemetry context came with it), a team still shares one id.
            self._trace_id = self._team.parent.trace_id
        # What it is doing right now (a model or tool call), for watchers; not in the record.
        self._running: str | None = None
        self._compactions: list[Compaction] = []  # from the model calls' results

    # ----------------------------------------------------------------- review handlers

    @workflow.update(name=UPDATE_SUBMIT_REVIEW)
    async def submit_review(self, decision: ReviewDecision | None) -> ReviewAck:
        pending = self._desk.pending
        assert pending is not None  # noqa: S101 -- the validator refused decisions without one
        assert decision is not None  # noqa: S101 -- and a missing decision (JSON null)
        self._desk.accept(decision)
        return ReviewAck(
            review_id=pending.review_id,
            decision=decision.decision,
            next_state=self._next_state(decision.decision, pending.kind).value,
        )

    @submit_review.validator
    def _validate_review(self, decision: ReviewDecision | None) -> None:
        refusal = self._desk.refusal(decision) or self._edit_refusal(decision)
        if refusal is not None:
            raise ApplicationError(refusal, type=REVIEW_REFUSED, non_retryable=True)

    def _edit_refusal(self, decision: ReviewDecision | None) -> str | None:
        """An edit that does not fit what it replaces (a gated tool's params, the agent's output
        schema), checked by the worker's catalog. Update validators only: they never run on
        replay, where a signal handler would (a signalled edit is checked when it is used)."""
        pending, spec = self._desk.pending, self._spec
        if decision is None or decision.output is None or pending is None or spec is None:
            return None
        check = workflow.extern_functions().get(EXTERN_CHECK_EDIT)
        if check is None:
            return None
        refusal: str | None = check(
            spec.name, spec.version, pending.kind.value, pending.tool, decision.output
        )
        return refusal

    @workflow.signal(name=SIGNAL_REVIEW)
    def review(self, payload: Any = None) -> None:
        """The decision arrives as raw JSON and is validated here, unlike the update's typed
        payload: a signal that does not decode is dropped by the SDK with only a line in the
        worker's log, so its sender would never learn. Refused here, it is in the run's status
        (``rejected_reviews``) and the audit trail like any refused decision. Optional: a signal
        without a payload (or JSON null) is refused, not a crash."""
        decision, refusal = parse_decision(payload)
        refusal = refusal or self._desk.refusal(decision)
        if refusal is not None:
            workflow.logger.warning("review signal refused: %s", refusal, extra=self._log_fields())
            self._desk.refuse(decision or payload, refusal)
            return
        assert decision is not None  # noqa: S101 -- refusal() refuses a missing decision
        self._desk.accept(decision)

    @workflow.signal(name=SIGNAL_CHILD_PROGRESS)
    def child_progress(self, report: ChildRun) -> None:
        """A child's state, spend and review, charged and shown here as they happen. Reports
        about runs this run did not start change nothing."""
        if self._team.progress(report):
            self._ledger.charge_child(report.run_id, report.usage)
            self._show()

    @staticmethod
    def _next_state(decision: Decision, kind: GateKind) -> RunState:
        if decision is Decision.REJECT:
            return RunState.FAILED
        if decision is Decision.REQUEST_CHANGES or kind is GateKind.TOOL_APPROVAL:
            return RunState.EXECUTING
        return RunState.COMPLETED

    @workflow.query(name=QUERY_STATUS)
    def status(self) -> RunStatus:
        request = self._request
        return RunStatus(
            run_id=self._run_id,
            agent=request.agent,
            version=self._spec.version if self._spec else None,
            execution_id=workflow.info().first_execution_run_id,
            version_reason=self._version_reason,
            model=f"{self._spec.provider}:{self._spec.model}" if self._spec else None,
            tenant_id=request.tenant_id,
            user_id=request.user_id,
            request_id=request.request_id or self._run_id,
            trace_id=self._trace_id,
            state=self._machine.state,
            transitions=self._machine.transitions,
            step=self._step,
            tool_calls=list(self._tools.records) if self._tools else [],
            tool_calls_earlier=self._tools.earlier if self._tools else 0,
            pending_review=self._desk.pending,
            reviews=list(self._desk.records),
            rejected_reviews=list(self._desk.rejected),
            governance=list(self._guard.events) if self._guard else [],
            governance_earlier=self._guard.events_earlier if self._guard else 0,
            private_data_seen=self._guard.private_data_seen if self._guard else False,
            untrusted_seen=self._guard.untrusted_seen if self._guard else False,
            usage=self._ledger.total(),
            budget=self._ledger.budget,
            output=self._output,
            confidence=self._confidence,
            human_override=self._override,
            failure=self._failure,
            parent_run_id=self._team.parent.run_id if self._team.parent else None,
            root_run_id=self._team.root_run_id,
            children=list(self._team.children.values()),
            compactions=list(self._compactions),
            running=self._running,
        )

    def _as_child(self) -> ChildRun:
        """This run as its parent sees it: a review it waits for may be a descendant's."""
        parent = self._team.parent
        own = self._desk.pending
        waiting = None if own is not None else self._team.waiting()
        return ChildRun(
            run_id=self._run_id,
            agent=self._request.agent,
            tool=parent.tool if parent else "",
            handoff=parent.handoff if parent else False,
            version=self._spec.version if self._spec else None,
            state=self._machine.state,
            step=self._step,
            usage=self._ledger.total(),
            pending_review=own or (waiting.pending_review if waiting else None),
            waiting_on=(waiting.waiting_on or waiting.run_id) if waiting else None,
            failure=self._failure,
            confidence=self._confidence,
            private_data_seen=self._guard.private_data_seen if self._guard else False,
            untrusted_seen=self._guard.untrusted_seen if self._guard else False,
        )

    # ----------------------------------------------------------------- bookkeeping

    def _enter(
        self,
        target: RunState,
        reason: str,
        *,
        version: str | None = None,
    ) -> None:
        now = workflow.now()
        source = self._machine.state
        left = self._machine.transitions[-1]
        entered = self._machine.transition(target, now, reason)
        self._observe(left, entered)
        workflow.logger.info(
            "run %s -> %s: %s", source.value, target.value, reason, extra=self._log_fields()
        )
        updates: list[SearchAttributeUpdate[Any]] = [SA_AGENT_STATE.value_set(target.value)]
        if source is RunState.INIT:
            updates += [
                SA_AGENT_NAME.value_set(self._request.agent),
                SA_TENANT_ID.value_set(self._request.tenant_id),
            ]
        if version is not None:
            updates.append(SA_AGENT_VERSION.value_set(version))
        workflow.upsert_search_attributes(updates)
        self._show()

    def _log_fields(self) -> dict[str, str]:
        return {
            "agent": self._request.agent,
            "tenant_id": self._request.tenant_id,
            "trace_id": self._trace_id,
            "state": self._machine.state.value,
        }

    def _observe(self, left: Transition, entered: Transition) -> None:
        if self._metrics is None:
            self._metrics = RunMetrics(self._request.agent)
        version = self._spec.version if self._spec else self._request.version or "unresolved"
        self._metrics.transition(left, entered, version, self._request.tenant_id)
        self._metrics.reviews(self._desk.records)
        self._metrics.security(self._security_events(), version)
        if entered.target.terminal:
            started = self._machine.transitions[0].at
            self._metrics.finished(started, entered, version, self._failure)

    def _security_events(self) -> list[str]:
        holds = self._guard.security_holds if self._guard else []
        return [*holds, *(REVIEW_REFUSED_EVENT for _ in self._desk.rejected)]

    def _execution_time_left(self) -> timedelta:
        """The EXECUTING deadline counts time in EXECUTING only: reviews pause it."""
        budget = (self._spec.deadlines if self._spec else StateDeadlines()).executing
        return budget - self._machine.time_in(RunState.EXECUTING, workflow.now())

    def _tool_runner(self, spec: RunPlan) -> ToolRunner:
        """The run's tool calls; an evaluation replaying a production run answers from its
        recorded results."""
        evaluation = self._request.evaluation
        return ToolRunner(
            spec,
            self._context,
            self._execution_time_left,
            recorded=evaluation.tool_results if evaluation else None,
        )

    def _context(self) -> RequestContext:
        request = self._request
        return RequestContext(
            user_id=request.user_id,
            tenant_id=request.tenant_id,
            request_id=request.request_id or self._run_id,
            run_id=self._run_id,
            trace_id=self._trace_id,
            timestamp=workflow.now(),
            agent=request.agent,
            mode=request.evaluation.mode if request.evaluation else RunMode.LIVE,
            version=self._spec.version if self._spec else "",
        )

    def _show(self) -> None:
        spec = self._spec
        workflow.set_current_details(
            current_details(
                state=self._machine.state,
                agent=self._request.agent,
                version=spec.version if spec else None,
                step=self._step,
                max_steps=(self._ledger.budget.max_steps or spec.max_steps) if spec else None,
                usage=self._ledger.total(),
                last_tool=self._last_tool,
                pending=self._desk.pending,
                failure=self._failure,
                children=list(self._team.children.values()),
            )
        )
        if self._team.parent is not None:
            self._team.post(self._as_child())

    def _fail(self, failure: Failure) -> ApplicationError:
        self._failure = failure
        self._enter(RunState.FAILED, f"{failure.category.value}: {failure.message}")
        return ApplicationError(
            f"{failure.category.value}: {failure.message}",
            self._result(),
            type=failure.category.value,
            non_retryable=True,
        )

    def _cancel(self) -> None:
        self._failure = Failure(category=FailureCategory.CANCELLED, message="cancelled by caller")
        self._desk.pending = None  # nobody can decide it any more
        if not self._machine.state.terminal:
            self._enter(RunState.CANCELLED, "cancelled by caller")

    def _result(self) -> RunResult:
        return RunResult(
            run_id=self._run_id,
            state=self._machine.state,
            output=self._output,
            failure=self._failure,
            human_override=self._override,
            usage=self._ledger.total(),
            confidence=self._confidence,
            observed=self._observed() if self._request.evaluation else None,
        )

    def _observed(self) -> Observation:
        """What an evaluation scores beside the result: tools, review gates, time taken."""
        started = self._machine.transitions[0].at
        return Observation(
            tools=self._tools.called() if self._tools else (),
            reviews=tuple(record.kind for record in self._desk.records),
            latency_s=(workflow.now() - started).total_seconds(),
        )

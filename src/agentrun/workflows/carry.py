"""Continue-as-new: a long run goes on in a fresh history, as the same run (docs/lifecycle.md).

Temporal keeps a run's whole history and replays it to rebuild the run, so a run of thousands of
tool calls would slow every replay and, at 50,000 events or 50 MB, be terminated. Between two
steps of the agent loop (where nothing is pending: no review, no call) a run that Temporal says
is getting long, or whose history passed the worker's ``continue_as_new_after_events``, hands
its state to a new execution of the same workflow id: the same run id, status, record and
review ids, with transitions that go on unbroken. PREPARING does not run again (its plan, grant
checks and input labels are carried), and neither does any check that counts: step, token and
cost budgets with their extensions, the loop detector, the policies' repeat counts.

Before it continues, the run writes its whole record to the store and waits for the commit, so
it can carry only its latest tool calls and governance events (``KEEP_RECENT``) and stay far
below Temporal's 2 MB payload limit however long it runs; its status counts the earlier ones.

A caller cannot hand a run a made-up past: ``carried`` is accepted only when Temporal says this
execution continued another (``continued_run_id``, set by the server alone), as a shadow copy's
parent is (``shadow.is_trusted_copy``). Otherwise the run fails ``policy_denied`` before it
prepares, calls or records anything.

Workflow code: deterministic, only ``workflow.*`` APIs. Whether to continue depends on the
history length and Temporal's suggestion, which the server records in the history, so a replay
decides the same.
"""

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from pydantic_core import to_json

    from agentrun.contracts.agents import RunPlan
    from agentrun.contracts.carry import KEEP_RECENT, CarriedLedger, CarriedRun
    from agentrun.contracts.model import Message
    from agentrun.contracts.runs import RunRequest
    from agentrun.contracts.states import FailureCategory, RunState
    from agentrun.logic.guards import LoopDetector, pack_counts
    from agentrun.logic.statemachine import RunStateMachine
    from agentrun.workflows import calls
    from agentrun.workflows.errors import RunFailure
    from agentrun.workflows.guardrails import Guardrails
    from agentrun.workflows.metrics import RunMetrics
    from agentrun.workflows.run_base import AgentRunBase

# A carried request this large is not sent: Temporal refuses payloads over 2 MB, and a refused
# continue-as-new would fail every workflow task of the run. It goes on in its history instead.
MAX_CARRIED_BYTES = 1_500_000


class Continuing(AgentRunBase):
    """The part of a run that continues it as new, and resumes it in the next execution."""

    def __init__(self, request: RunRequest) -> None:
        super().__init__(request)
        carried = request.carried
        self._execution = carried.execution if carried else 1
        # Set from PREPARING's result (runs that began before it never continue), or carried.
        self._may_continue = False
        self._continue_after: int | None = None
        # An execution continues only after a step of its own: however low the threshold, each
        # one makes progress.
        self._progress_from = carried.step if carried else 0

    # ----------------------------------------------------------------- this execution's end

    async def _continue_if_due(self, spec: RunPlan, messages: list[Message]) -> None:
        """At the top of an agent-loop iteration: continue as new if the history is long.

        Handlers are drained first (Temporal requires it); then the record is flushed and
        committed, so the store holds every call the next execution will not carry. If the
        store does not take it, the run goes on here and tries again after its next step."""
        if not self._continue_due():
            return
        await workflow.wait_condition(workflow.all_handlers_finished)
        if self._record and await calls.record(self.status(), self._log_fields()) is None:
            self._progress_from = self._step
            return
        request = self._request.model_copy(update={"carried": self._carried(spec, messages)})
        size = len(to_json(request))
        if size > MAX_CARRIED_BYTES:
            workflow.logger.error(
                "run not continued as new: its state is %d bytes", size, extra=self._log_fields()
            )
            self._may_continue = False
            return
        workflow.logger.info(
            "run continues as new at step %d (execution %d, %d history events, %d bytes carried)",
            self._step,
            self._execution + 1,
            workflow.info().get_current_history_length(),
            size,
            extra=self._log_fields(),
        )
        workflow.continue_as_new(request)

    def _continue_due(self) -> bool:
        if not self._may_continue or self._step <= self._progress_from:
            return False
        info = workflow.info()
        if info.is_continue_as_new_suggested():
            return True
        limit = self._continue_after
        return limit is not None and info.get_current_history_length() >= limit

    def _carried(self, spec: RunPlan, messages: list[Message]) -> CarriedRun:
        guard, tools, ledger = self._guard, self._tools, self._ledger
        assert guard is not None  # noqa: S101 -- set in PREPARING, before any step
        assert tools is not None  # noqa: S101 -- likewise
        counts = self._loops.counts
        return CarriedRun(
            execution=self._execution + 1,
            plan=spec,
            trace_id=self._trace_id,
            version_reason=self._version_reason,
            record=self._record,
            record_in_worker=self._record_in_worker,
            continue_after_events=self._continue_after,
            transitions=tuple(self._machine.transitions),
            review_required=self._machine.review_required,
            step=self._step,
            conversation_length=self._conversation_length,
            messages=tuple(messages),
            last_tool=self._last_tool,
            output=self._output,
            confidence=self._confidence,
            human_override=self._override,
            ledger=CarriedLedger(
                usage=ledger.usage,
                budget=ledger.budget,
                granted=ledger.granted,
                children=ledger.children,
            ),
            loop_calls=pack_counts(counts),
            reviews=self._desk.carried(),
            guard=guard.carried(counts),
            calls=tools.carried(),
            children=tuple(self._team.children.values()),
            compactions=tuple(self._compactions[-KEEP_RECENT:]),
        )

    # ----------------------------------------------------------------- the next one's start

    def _resume(self, carried: CarriedRun) -> tuple[RunPlan, list[Message]]:
        """The run as it was when it continued as new; what its next model call sends."""
        if workflow.info().continued_run_id is None:
            self._enter(RunState.PREPARING, "run record initialised")
            raise RunFailure(
                FailureCategory.POLICY_DENIED,
                "carried: set only by a run continuing as new; start runs without it",
                field="carried",
            )
        request, spec = self._request, carried.plan
        self._spec = spec
        self._machine = RunStateMachine.resumed(carried.transitions, carried.review_required)
        self._trace_id = carried.trace_id
        self._version_reason = carried.version_reason
        self._record, self._record_in_worker = carried.record, carried.record_in_worker
        self._may_continue, self._continue_after = True, carried.continue_after_events
        self._step, self._conversation_length = carried.step, carried.conversation_length
        self._last_tool = carried.last_tool
        self._output, self._confidence = carried.output, carried.confidence
        self._override = carried.human_override
        ledger = carried.ledger
        self._ledger.resume(ledger.usage, ledger.budget, ledger.granted, ledger.children)
        self._loops = LoopDetector(threshold=spec.loop_threshold, seen=carried.loop_calls)
        self._desk.resume(carried.reviews, self._run_id, request.tenant_id)
        self._guard = Guardrails(
            spec, request.agent, request.tenant_id, guard_version=carried.guard.version
        )
        self._guard.resume(carried.guard, self._loops.counts)
        self._tools = self._tool_runner(spec)
        self._tools.resume(carried.calls)
        self._team.children = {child.run_id: child for child in carried.children}
        self._compactions = list(carried.compactions)
        # Counted by the executions before: each review and security event is counted once.
        self._metrics = RunMetrics(request.agent)
        self._metrics.counted(len(self._desk.records), len(self._security_events()))
        self._show()
        return spec, list(carried.messages)

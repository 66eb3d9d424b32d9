"""``AgentRun``: one agent run as one workflow whose phases are the lifecycle states.

See docs/lifecycle.md.

``run()`` reads as the lifecycle: prepare, then execute and review until a decision ends the run.
Everything the run decides goes through :class:`RunStateMachine`; every transition is recorded with
its time, upserted as the ``AgentState`` search attribute and shown in the UI's current details.
"""

import asyncio
import json
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from pydantic import ValidationError

    from agentrun.contracts.agents import BudgetAction, RunPlan
    from agentrun.contracts.model import (
        FinalAnswer,
        Message,
        ModelCallInput,
        ModelCallResult,
        ToolCallRequest,
    )
    from agentrun.contracts.names import ACTIVITY_MODEL_CALL, AGENT_RUN_WORKFLOW, ErrorType
    from agentrun.contracts.policy import PolicyDecision
    from agentrun.contracts.policy import Verdict as PolicyVerdict
    from agentrun.contracts.review import Decision, GateKind
    from agentrun.contracts.runs import (
        RunRequest,
        RunResult,
    )
    from agentrun.contracts.states import FailureCategory, RunState
    from agentrun.contracts.tools import ToolPolicy
    from agentrun.logic.budget import Breach
    from agentrun.logic.guards import approval_reason, review_reason
    from agentrun.logic.redaction import redact_value

    # Workflow helpers without module state: shared rather than re-imported into every run's
    # sandbox (that re-import cost ~5 ms of CPU per run). They only touch time, randomness and
    # I/O through workflow.* APIs, and the replay test covers them like the rest.
    from agentrun.workflows import calls, shadow
    from agentrun.workflows.errors import RunFailure
    from agentrun.workflows.guardrails import Guardrails, describe
    from agentrun.workflows.options import MODEL_HEARTBEAT_TIMEOUT, MODEL_RETRY, MODEL_TIMEOUT
    from agentrun.workflows.preparing import Preparing
    from agentrun.workflows.review import Verdict
    from agentrun.workflows.team_steps import Delegated, TeamSteps
    from agentrun.workflows.trace import run_trace_id


# The model activity's failure types that are a category of their own; any other is model_error.
MODEL_FAILURES = {
    ErrorType.CONTRACT_VIOLATION: FailureCategory.CONTRACT_VIOLATION,
    ErrorType.CONTEXT_OVERFLOW: FailureCategory.CONTEXT_OVERFLOW,
}


@workflow.defn(name=AGENT_RUN_WORKFLOW, failure_exception_types=[ValidationError])
class AgentRunWorkflow(TeamSteps, Preparing):
    @workflow.init
    def __init__(self, request: RunRequest) -> None:
        super().__init__(request)

    # ----------------------------------------------------------------- the lifecycle

    @workflow.run
    async def run(self, request: RunRequest) -> RunResult:  # noqa: ARG002 -- kept in __init__
        self._trace_id = run_trace_id(fallback=self._trace_id)
        try:
            spec, messages = await self._start_or_resume()
            await self._execute_and_review(spec, messages)
        except RunFailure as failure:
            error = self._fail(failure.failure)
            await self._flush()
            raise error from None
        except asyncio.CancelledError:
            self._cancel()
            await self._flush()
            raise
        await self._flush()
        return self._result()

    async def _start_or_resume(self) -> tuple[RunPlan, list[Message]]:
        """PREPARING, then into EXECUTING with the input as the first message; or, for a run
        that continued as new, where it was (``carry``). What the first model call sends."""
        carried = self._request.carried
        if carried is not None:
            return self._resume(carried)
        self._enter(RunState.PREPARING, "run record initialised")
        spec, run_input = await self._prepare()
        if self._shadow is not None:
            await shadow.start_copy(self._request, self._run_id, self._shadow)
        self._enter(RunState.EXECUTING, f"agent {spec.ref} ready", version=spec.version)
        return spec, [Message(role="user", content=json.dumps(run_input, separators=(",", ":")))]

    async def _flush(self) -> None:
        """Flush the run record: only when the run waits for a person or ends, never per
        transition, and only on workers that keep a record. Runs that began with the record
        activity (one local activity, one event per flush) keep it, so they replay."""
        if self._record_in_worker:
            calls.hand_over(self.status())
        elif self._record:
            await calls.record(self.status(), self._log_fields())

    async def _execute_and_review(self, spec: RunPlan, messages: list[Message]) -> None:
        """EXECUTING, then REVIEWING if required; request_changes loops back with feedback."""
        if self._input_escalation is not None:
            await self._police(spec, self._input_escalation)
        while True:
            final = await self._execute(spec, messages)
            self._output = self._guarded().redact_output(final.output)
            self._confidence = final.confidence
            reason = review_reason(spec.review, final.confidence, workflow.random().random())
            if reason is None and self._machine.review_required:
                reason = "a revision after requested changes is reviewed again"
            if reason is None:
                self._enter(RunState.COMPLETED, "finished; review not required")
                return
            self._machine.require_review()
            verdict = await self._gate(spec, GateKind.FINAL, reason)
            record = verdict.record
            if record.decision is Decision.REJECT:
                raise RunFailure(FailureCategory.REVIEW_REJECTED, record.said)
            if record.decision is Decision.REQUEST_CHANGES:
                self._enter(RunState.EXECUTING, record.by)
                messages = [Message(role="user", content=record.comment or "")]
                continue
            if record.decision is Decision.EDIT:
                self._output, self._override = verdict.output, True
            self._enter(RunState.COMPLETED, record.by)
            return

    async def _execute(self, spec: RunPlan, messages: list[Message]) -> FinalAnswer:
        """The agent loop: model decides, tools run, results go back, until a final answer."""
        while True:
            await self._continue_if_due(spec, messages)  # only here: nothing is pending
            await self._check_step_budget(spec)
            usage = self._ledger.usage
            await self._police(
                spec,
                self._guarded().before_model(self._step + 1, usage.tokens.total, usage.cost_usd),
            )
            result = await self._call_model(spec, messages)
            await self._enforce(spec, self._ledger.spend_breach())
            decision = result.decision
            if decision.final is not None:
                return decision.final
            if not decision.tool_calls:
                raise RunFailure(
                    FailureCategory.MODEL_ERROR, "model gave neither tool calls nor an answer"
                )
            asked = decision.tool_calls
            called = [
                await self._call_tool(spec, index, call, ways=self._agents_from(spec, asked, index))
                for index, call in enumerate(asked)
            ]
            messages = [await self._settle(spec, item) for item in called]
            if self._handed_over is not None:
                return self._handed_over

    # ----------------------------------------------------------------- steps

    async def _check_step_budget(self, spec: RunPlan) -> None:
        await self._enforce(spec, self._ledger.step_breach(self._step))
        self._check_executing_deadline(spec)

    def _check_executing_deadline(self, spec: RunPlan) -> None:
        """Before each model and tool call: a call scheduled with no time left would be refused
        by the server (a negative timeout) and fail every workflow task of the run, which would
        then never end. The deadline can pass during a call (a slow model, a stopped worker)."""
        if self._execution_time_left() <= timedelta(0):
            raise RunFailure(
                FailureCategory.STATE_TIMEOUT,
                f"EXECUTING exceeded its deadline of {spec.deadlines.executing}",
            )

    async def _enforce(self, spec: RunPlan, breach: Breach | None) -> None:
        """Stop at the first breach: fail, or (per the agent's budget) ask a reviewer."""
        if breach is None:
            return
        if self._ledger.budget.on_exceeded is BudgetAction.FAIL:
            raise RunFailure(FailureCategory.BUDGET_EXCEEDED, breach.message, field=breach.field)
        record = (await self._gate(spec, GateKind.BUDGET, breach.message)).record
        if record.decision not in (Decision.APPROVE, Decision.EDIT):
            raise RunFailure(
                FailureCategory.BUDGET_EXCEEDED,
                f"{breach.message}; {record.said}",
                field=breach.field,
            )
        self._ledger.extend()
        self._enter(RunState.EXECUTING, f"budget extended: {record.by}")

    async def _police(self, spec: RunPlan, decision: PolicyDecision) -> None:
        """Act on a policy decision: a deny ends the run, an escalation asks a person."""
        if decision.verdict is PolicyVerdict.DENY:
            raise RunFailure(FailureCategory.POLICY_DENIED, describe(decision))
        if decision.verdict is not PolicyVerdict.ESCALATE:
            return
        record = (await self._gate(spec, GateKind.POLICY, describe(decision))).record
        if record.decision not in (Decision.APPROVE, Decision.EDIT):
            raise RunFailure(FailureCategory.POLICY_DENIED, f"{describe(decision)}; {record.by}")
        self._enter(RunState.EXECUTING, f"policy escalation: {record.by}")

    def _guarded(self) -> Guardrails:
        assert self._guard is not None  # noqa: S101 -- set in _prepare, before any step
        return self._guard

    async def _call_model(self, spec: RunPlan, messages: list[Message]) -> ModelCallResult:
        self._step += 1
        self._running = f"model {spec.provider}:{spec.model}"
        self._show()
        try:
            result: ModelCallResult = await workflow.execute_activity(
                ACTIVITY_MODEL_CALL,
                ModelCallInput(
                    run_id=self._run_id,
                    agent=spec.ref,
                    turn=self._step,
                    start_index=self._conversation_length,
                    new_messages=tuple(messages),
                    # Only a run that chose its own model says which: the agent's is the default,
                    # and history keeps no bytes it does not need.
                    provider=spec.provider if self._request.model else None,
                    model=spec.model if self._request.model else None,
                ),
                result_type=ModelCallResult,
                start_to_close_timeout=MODEL_TIMEOUT,
                schedule_to_close_timeout=self._execution_time_left(),
                heartbeat_timeout=MODEL_HEARTBEAT_TIMEOUT,
                retry_policy=MODEL_RETRY,
                summary=f"{spec.provider}:{spec.model} step {self._step}",
            )
        except ActivityError as err:
            cause = err.cause
            kind = (cause.type if isinstance(cause, ApplicationError) else None) or ""
            raise RunFailure(
                MODEL_FAILURES.get(kind, FailureCategory.MODEL_ERROR),
                f"model call failed: {cause or err}",
            ) from None
        finally:
            self._running = None
        self._conversation_length = result.conversation_length
        self._ledger.model_call(result.usage, result.cost_usd)
        if result.compaction is not None:  # old turns left out of what was sent: say so
            self._compactions.append(result.compaction)
        return result

    async def _call_tool(
        self, spec: RunPlan, index: int, call: ToolCallRequest, *, ways: int = 1
    ) -> Message | Delegated:
        """Check the call (allowed, loops, policy, approval), then run it: a tool inline; an
        agent as a child run beside this step's other calls, settled after them (``_settle``)."""
        contract = spec.tool(call.tool)
        if contract is None:
            allowed = ", ".join(t.name for t in spec.tools)
            raise RunFailure(
                FailureCategory.POLICY_DENIED,
                f"tool {call.tool!r} is not allowed for {spec.ref}; allowed: {allowed}",
                field="tool",
            )
        if call.error is not None:  # arguments the tool cannot take: back to the model
            assert self._tools is not None  # noqa: S101 -- set in _prepare
            return self._tools.refuse_arguments(self._step, index, call)
        self._check_executing_deadline(spec)
        if self._loops.record(call.tool, call.args):
            raise RunFailure(
                FailureCategory.LOOP_DETECTED,
                f"{call.tool} called {spec.loop_threshold} times with the same arguments",
            )
        approved_by = None
        usage = self._ledger.usage
        policy = self._guarded().before_tool(
            contract, call.args, self._step, usage.tokens.total, usage.cost_usd
        )
        if policy.verdict is PolicyVerdict.DENY:
            raise RunFailure(
                FailureCategory.POLICY_DENIED, f"{call.tool}: {describe(policy)}", field="tool"
            )
        reason = approval_reason(contract, call.args)
        if policy.verdict is PolicyVerdict.ESCALATE:
            reason = f"policy {describe(policy)}" + (f"; {reason}" if reason else "")
        if reason is not None:
            verdict = await self._gate(
                spec,
                GateKind.TOOL_APPROVAL,
                reason,
                call=call,
                entering=f"approval needed: {reason}",
            )
            record = verdict.record
            if record.decision is Decision.REJECT:
                raise RunFailure(
                    FailureCategory.REVIEW_REJECTED,
                    f"{call.tool} {record.said}",
                )
            self._enter(RunState.EXECUTING, record.by)
            if record.decision is Decision.REQUEST_CHANGES:
                return Message(
                    role="tool",
                    name=call.tool,
                    tool_call_id=call.call_id,
                    content=json.dumps({"error": f"not approved: {record.comment}"}),
                )
            if record.decision is Decision.EDIT and verdict.output is not None:
                call = call.model_copy(update={"args": verdict.output})
                self._override = True
            approved_by = record.reviewer
        self._last_tool = call.tool
        self._ledger.tool_call()
        if contract.agent is not None:
            return await self._delegate(spec, index, call, approved_by, ways)
        assert self._tools is not None  # noqa: S101 -- set in _prepare
        self._running = f"tool {call.tool}"
        try:
            message = await self._tools.call(self._step, index, call, approved_by)
        finally:
            self._running = None
        return await self._after_tool(spec, contract, message)

    async def _settle(self, spec: RunPlan, item: Message | Delegated) -> Message:
        if isinstance(item, Message):
            return item
        return await self._after_tool(spec, item.contract, await item.answer)

    async def _after_tool(self, spec: RunPlan, contract: ToolPolicy, message: Message) -> Message:
        """What the tool said, screened, and the spend it brought checked."""
        assert self._tools is not None  # noqa: S101 -- set in _prepare
        screened = self._guarded().after_tool(contract, message.content)
        if screened.verdict is PolicyVerdict.REDACT:
            message = message.model_copy(update={"content": redact_value(message.content)})
        else:
            await self._police(spec, screened)
        self._ledger.tool_cost(self._tools.cost_usd)
        self._show()
        await self._enforce(spec, self._ledger.spend_breach())
        return message

    async def _gate(
        self,
        spec: RunPlan,
        kind: GateKind,
        reason: str,
        *,
        call: ToolCallRequest | None = None,
        entering: str | None = None,
    ) -> Verdict:
        """Every wait for a person: enter REVIEWING, flush the record, wait for a decision.

        An evaluated run asks nobody: the gate is recorded and answered as its case says."""
        self._enter(RunState.REVIEWING, entering or reason)
        evaluation = self._request.evaluation
        if evaluation is not None:
            return self._desk.answer(kind, evaluation.review, f"{evaluation.mode}: {reason}")
        await self._flush()
        return await self._desk.decide(
            kind=kind,
            reviewers=spec.reviewers,
            deadline=spec.deadlines.reviewing,
            escalation=spec.escalation,
            reason=reason,
            tool=call.tool if call else None,
            tool_args=call.args if call else None,
            on_open=self._show,
        )

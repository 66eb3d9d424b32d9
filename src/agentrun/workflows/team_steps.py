"""The steps of a run that calls agents as tools (docs/teams.md); see ``team`` for the children.

A model may ask for several calls in one step. Ordinary tools run one after another, as they
always have; an agent's call starts its child run and goes on to the next call, so the children
of a step run together (at most ``MAX_PARALLEL_CHILDREN`` at once), each with an equal share of
what the budget has left. Their answers are settled in the order the model asked for them.
"""

import asyncio
from dataclasses import dataclass
from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from agentrun.contracts.agents import RunPlan
    from agentrun.contracts.model import FinalAnswer, Message, ToolCallRequest
    from agentrun.contracts.runs import RunRequest
    from agentrun.contracts.tools import ToolPolicy
    from agentrun.logic.budget import child_share
    from agentrun.workflows import team
    from agentrun.workflows.run_base import AgentRunBase
    from agentrun.workflows.tools import ToolRunner


@dataclass(frozen=True)
class _Asked:
    """One agent's call, where the record needs it."""

    step: int
    index: int
    call: ToolCallRequest
    approved_by: str | None
    started: datetime


@dataclass(frozen=True)
class Delegated:
    """An agent's call on its way: its child runs beside the step's other calls."""

    contract: ToolPolicy
    answer: "asyncio.Task[Message]"


class TeamSteps(AgentRunBase):
    def __init__(self, request: RunRequest) -> None:
        super().__init__(request)
        # A hand-off's answer: the run's own final answer once the agent it handed to is done.
        self._handed_over: FinalAnswer | None = None

    @staticmethod
    def _agents_from(spec: RunPlan, asked: tuple[ToolCallRequest, ...], index: int) -> int:
        """The agents among a step's calls from ``index`` on: they share what is left."""
        agents = [spec.tool(call.tool) for call in asked[index:]]
        return max(1, sum(1 for tool in agents if tool is not None and tool.agent is not None))

    def _runner(self) -> ToolRunner:
        assert self._tools is not None  # noqa: S101 -- set in PREPARING, before any call
        return self._tools

    async def _delegate(
        self, spec: RunPlan, index: int, call: ToolCallRequest, approved_by: str | None, ways: int
    ) -> Message | Delegated:
        """Start the child for an agent's call, or say why not (as the tool's error)."""
        contract = spec.tool(call.tool)
        assert contract is not None  # noqa: S101 -- the caller checked the allow-list
        assert contract.agent is not None  # noqa: S101 -- and that it is an agent
        members, step, started = self._team, self._step, workflow.now()
        child_id = members.child_id(step, index, contract.agent)
        refusal = members.refusal(contract, child_id)
        share = None
        if refusal is None:
            await workflow.wait_condition(lambda: members.running < team.MAX_PARALLEL_CHILDREN)
            tokens, cost = members.outstanding(self._ledger.children)
            spent = self._ledger.total()
            given = child_share(
                self._ledger.budget,
                spent.tokens.total + tokens,
                spent.cost_usd + cost,
                ways,
                step,
            )
            refusal, share = (given, None) if isinstance(given, str) else (None, given)
        if refusal is not None or share is None:
            reason = refusal or "no budget"
            self._runner().record_child(
                step, index, call, approved_by, child_id=child_id, started=started,
                failure=("not_started", reason),
            )  # fmt: skip
            return ToolRunner.answer(call, {"error": f"{contract.agent} not started: {reason}"})
        guard = self._guard
        child = members.enlist(
            request=self._request,
            plan=spec,
            contract=contract,
            call=call,
            child_id=child_id,
            share=share,
            time_left=self._execution_time_left(),
            labels=(guard.private_data_seen, guard.untrusted_seen) if guard else (False, False),
            trace_id=self._trace_id,
        )
        self._show()
        asked = _Asked(step, index, call, approved_by, started)
        task = asyncio.create_task(self._await_child(child, asked))
        return Delegated(contract, task)

    async def _await_child(self, child: RunRequest, asked: _Asked) -> Message:
        """The child's end: its spend charged, its trust labels taken on, its answer (or its
        failure, naming the category) for the model; a hand-off's answer is the run's own."""
        answer = await self._team.run(child)
        ended = answer.child
        self._ledger.charge_child(ended.run_id, ended.usage)
        labels = team.labels_of(
            ended.private_data_seen, ended.untrusted_seen, f"child {ended.run_id}"
        )
        if labels is not None and self._guard is not None:
            self._guard.label_input(labels)
        failure = answer.failure
        call = asked.call
        self._runner().record_child(
            asked.step, asked.index, call, asked.approved_by, child_id=ended.run_id,
            started=asked.started,
            failure=(failure.category.value, failure.message) if failure else None,
        )  # fmt: skip
        self._show()
        if failure is not None:
            return ToolRunner.answer(
                call,
                {
                    "error": f"{ended.agent} run {ended.run_id} failed: {failure.category.value}: "
                    f"{failure.message}",
                    "category": failure.category.value,
                    "run_id": ended.run_id,
                },
            )
        if ended.handoff:
            self._handed_over = FinalAnswer(
                output=answer.output or {},
                confidence=1.0 if ended.confidence is None else ended.confidence,
            )
        return ToolRunner.answer(call, answer.output or {})

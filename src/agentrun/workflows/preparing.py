"""PREPARING, the run's first phase: resolve the version, validate the input, set the
guardrails, the budget and the tools, and check what the request claims (a parent, a grant).

Split from ``agent_run`` so that module reads as the phases of a run; the workflow class
inherits this like its other parts.
"""

from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from agentrun.contracts.agents import RunPlan
    from agentrun.contracts.policy import Verdict as PolicyVerdict
    from agentrun.contracts.states import FailureCategory
    from agentrun.logic.budget import effective_budget
    from agentrun.logic.guards import LoopDetector
    from agentrun.logic.policy import PolicyError
    from agentrun.workflows import calls, shadow, team
    from agentrun.workflows.carry import Continuing
    from agentrun.workflows.errors import RunFailure
    from agentrun.workflows.guardrails import Guardrails, check_start_grant, describe


class Preparing(Continuing):
    async def _prepare(self) -> tuple[RunPlan, dict[str, Any]]:
        """PREPARING: resolve the version, validate the input, set guardrails and budgets."""
        request = self._request
        prepared = await calls.prepare(request, self.status(), self._team.parent)
        self._record = prepared.record
        self._record_in_worker = prepared.record_in_worker
        self._may_continue = prepared.continue_as_new
        self._continue_after = prepared.continue_as_new_after_events
        if prepared.problem is not None or prepared.plan is None or prepared.input is None:
            problem = prepared.problem
            raise RunFailure(
                (problem.category if problem else None) or FailureCategory.INVALID_INPUT,
                problem.message if problem else "agent could not be prepared",
                field=problem.field if problem else None,
            )
        if request.parent is not None and self._team.parent is None:
            raise RunFailure(
                FailureCategory.POLICY_DENIED,
                "parent: only the run that started this one as its child may name it",
                field="parent",
            )
        spec, budget = team.narrowed(
            prepared.plan,
            effective_budget(prepared.plan.budget, request.budget, prepared.plan.max_steps),
            self._team.parent,
        )
        self._spec = spec
        self._version_reason = shadow.copy_reason(request) or prepared.version_reason
        self._shadow = prepared.shadow
        self._check_init_deadline(spec)
        if prepared.grant_keys is not None and not shadow.is_trusted_copy(request, self._run_id):
            if self._team.parent is None:  # a child needs no start grant: its parent started it
                check_start_grant(request, self._run_id, prepared.grant_keys)
            self._desk.require_grants(prepared.grant_keys, self._run_id, request.tenant_id)
        self._desk.bind_review_ids = prepared.guard_version >= 2
        try:
            self._guard = Guardrails(
                spec, request.agent, request.tenant_id, guard_version=prepared.guard_version
            )
        except PolicyError as err:  # documents that conflict: fail the run, not its task
            raise RunFailure(FailureCategory.INTERNAL, f"policies: {err}") from None
        run_input = prepared.input
        if prepared.input_trust is not None:
            self._guard.label_input(prepared.input_trust)
        inherited = self._team.parent_labels()
        if inherited is not None:
            self._guard.label_input(inherited)
        decision = self._guard.check_input(run_input, prepared.tenant_runs_in_window)
        if decision.verdict is PolicyVerdict.DENY:
            raise RunFailure(FailureCategory.POLICY_DENIED, describe(decision), field="input")
        if decision.verdict is PolicyVerdict.ESCALATE:
            self._input_escalation = decision
        self._ledger.set_budget(budget)
        self._loops = LoopDetector(threshold=spec.loop_threshold)
        self._tools = self._tool_runner(spec)
        return spec, run_input

    def _check_init_deadline(self, spec: RunPlan) -> None:
        """A request no worker took up within INIT's deadline is stale: fail it rather than act
        on it late (the agent's own deadline is known only now, from its plan)."""
        initial, preparing = self._machine.transitions[:2]
        waited = preparing.at - initial.at
        if waited > spec.deadlines.init:
            raise RunFailure(
                FailureCategory.STATE_TIMEOUT,
                f"INIT exceeded its deadline of {spec.deadlines.init}: no worker took the run "
                f"up for {waited}",
            )

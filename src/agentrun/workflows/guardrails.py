"""The guardrail sandwich inside a run: the policy engine at every checkpoint, trust labels,
and output redaction (docs/governance.md).

The engine is pure and fast, so it runs in the workflow itself: a decision costs microseconds and
no history event, and replays identically. Every decision a rule made (and the input check, which
names the policies in force) becomes a governance event in the run's status, which the record
writes as an audit event.
"""

import json
import logging
from collections import Counter
from collections.abc import Mapping
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from agentrun.contracts.agents import RunPlan
    from agentrun.contracts.carry import KEEP_RECENT, CarriedGuard
    from agentrun.contracts.governance import GovernanceEvent
    from agentrun.contracts.identity import Role
    from agentrun.contracts.policy import (
        SECURITY_RULE_KINDS,
        Checkpoint,
        PolicyDecision,
        Verdict,
    )
    from agentrun.contracts.runs import RunRequest
    from agentrun.contracts.states import FailureCategory
    from agentrun.contracts.tools import ToolPolicy
    from agentrun.contracts.trust import InputTrust
    from agentrun.logic.grants import GrantRefused, start_digest, verify_grant
    from agentrun.logic.guards import call_key, pack_counts, unpack_counts
    from agentrun.logic.injection import screened_text
    from agentrun.logic.policy import PolicyEngine, RunFacts
    from agentrun.logic.redaction import find_entities, redact_value
    from agentrun.workflows.errors import RunFailure

START_ROLES = frozenset({Role.RUNNER, Role.ADMIN})
_STOPS = frozenset({Verdict.DENY, Verdict.ESCALATE})


class Guardrails:
    def __init__(self, plan: RunPlan, agent: str, tenant_id: str, *, guard_version: int) -> None:
        """``guard_version``: what the run began with (PREPARING's result says): before 2 it
        screens escaped JSON with the first, frozen screen, as it did then; from 2 on, decoded
        text with the screen of that version (``GUARD_VERSION``)."""
        self._engine = PolicyEngine.compile(plan.policies)
        self._agent = agent
        self._tenant = tenant_id
        self._guard_version = guard_version
        self._known = frozenset(t.name for t in plan.tools)
        self._calls: Counter[str] = Counter()
        self.private_data_seen = False
        self.untrusted_seen = False
        self.events: list[GovernanceEvent] = []
        # Events a run recorded before it continued as new (in its record; not carried).
        self.events_earlier = 0
        # The kind of each security rule's hold, in order (metrics count them).
        self.security_holds: list[str] = []
        self._security_kinds: dict[tuple[str | None, str | None], str] = {
            (document.policy_id, rule.id): rule.kind
            for document in plan.policies
            for rule in document.rules
            if rule.kind in SECURITY_RULE_KINDS
        }

    def label_input(self, trust: InputTrust) -> None:
        """From PREPARING on, the input counts like a tool's output: private data a field brought
        in and outside content a field carries both arm the lethal-trifecta rule."""
        self.private_data_seen |= trust.private
        self.untrusted_seen |= trust.untrusted
        self.events.append(
            GovernanceEvent(
                event_id=self._next_event_id(),
                kind="input_labels",
                at=workflow.now(),
                reason=trust.describe(),
                checkpoint=Checkpoint.INPUT.value,
            )
        )

    def check_input(
        self, run_input: Mapping[str, Any], tenant_runs_in_window: int | None
    ) -> PolicyDecision:
        decision = self._decide(
            Checkpoint.INPUT,
            text=self._screened(run_input),
            tenant_runs_in_window=tenant_runs_in_window,
        )
        if decision.rule_id is None:  # the policies in force, on the record once per run
            versions = ", ".join(f"{p}@{v} ({d[:12]})" for p, v, d in self._engine.versions)
            self._record(decision, reason=f"policies in force: {versions or 'none'}")
        return decision

    def before_model(self, step: int, tokens: int, cost_usd: float) -> PolicyDecision:
        return self._decide(Checkpoint.BEFORE_MODEL, step=step, tokens=tokens, cost_usd=cost_usd)

    def before_tool(
        self, tool: ToolPolicy, args: Mapping[str, Any], step: int, tokens: int, cost_usd: float
    ) -> PolicyDecision:
        key = call_key(tool.name, args)
        decision = self._decide(
            Checkpoint.BEFORE_TOOL,
            tool=tool,
            tool_name=tool.name,
            tool_args=args,
            repeat_count=self._calls[key],
            step=step,
            tokens=tokens,
            cost_usd=cost_usd,
        )
        self._calls[key] += 1
        return decision

    def after_tool(self, tool: ToolPolicy, output: str) -> PolicyDecision:
        """Screen what the tool returned, then label the run with what it has now seen."""
        decision = self._decide(
            Checkpoint.AFTER_TOOL, tool=tool, tool_name=tool.name, text=self._screened(output)
        )
        self.private_data_seen |= tool.private_data
        self.untrusted_seen |= tool.untrusted_output
        return decision

    def redact_output(self, output: dict[str, Any] | None) -> dict[str, Any] | None:
        """The output layer: PII and secrets never leave the run, whatever the rules say."""
        if output is None:
            return None
        decision = self._decide(Checkpoint.OUTPUT, text=self._screened(output))
        redacted = redact_value(output)
        if redacted != output and decision.rule_id is None:
            found = sorted({f.type.value for f in find_entities(screened_text(output))})
            self._record(
                decision.model_copy(update={"verdict": Verdict.REDACT}),
                reason=f"output redacted: {', '.join(found)}",
            )
        return redacted

    def _legacy_screen(self) -> bool:
        """The run began before guard version 2: the first, frozen screen on escaped JSON."""
        return self._guard_version < 2

    # -------------------------------------------------------------- continue-as-new

    def carried(self, loop_counts: Counter[str]) -> CarriedGuard:
        """The labels, the latest events (the rest are in the record: the run flushed it) and
        the repeat counts, unless they are the loop detector's (``loop_counts``), as usual."""
        kept = self.events[-KEEP_RECENT:]
        return CarriedGuard(
            legacy_screen=self._legacy_screen(),
            guard_version=self._guard_version,
            private_data_seen=self.private_data_seen,
            untrusted_seen=self.untrusted_seen,
            events=tuple(kept),
            events_earlier=self.events_earlier + len(self.events) - len(kept),
            security_holds=tuple(self.security_holds),
            calls=None if self._calls == loop_counts else pack_counts(self._calls),
        )

    def resume(self, carried: CarriedGuard, loop_counts: Counter[str]) -> None:
        self.private_data_seen = carried.private_data_seen
        self.untrusted_seen = carried.untrusted_seen
        self.events = list(carried.events)
        self.events_earlier = carried.events_earlier
        self.security_holds = list(carried.security_holds)
        self._calls = (
            Counter(loop_counts) if carried.calls is None else unpack_counts(carried.calls)
        )

    # -------------------------------------------------------------- helpers

    def _next_event_id(self) -> str:
        """``p3``: the event's position in the run, across continue-as-new too."""
        return f"p{self.events_earlier + len(self.events) + 1}"

    def _screened(self, value: Any) -> str:
        """What the screen reads: every string of the value (keys too) as the model will read
        it, never an escaped serialisation, where ``\\u200b`` and a ``\\n`` before "Ignore all
        previous instructions" would hide what the screen looks for."""
        return _text(value) if self._legacy_screen() else screened_text(value)

    def _decide(self, checkpoint: Checkpoint, **facts: Any) -> PolicyDecision:
        decision = self._engine.decide(
            RunFacts(
                checkpoint=checkpoint,
                agent=self._agent,
                tenant_id=self._tenant,
                known_tools=self._known,
                private_data_seen=self.private_data_seen,
                untrusted_seen=self.untrusted_seen,
                screen_version=self._guard_version,
                **facts,
            )
        )
        if decision.rule_id is not None:
            tool = facts.get("tool_name")
            self._record(decision, tool=tool if isinstance(tool, str) else None)
        return decision

    def _record(
        self, decision: PolicyDecision, *, reason: str | None = None, tool: str | None = None
    ) -> None:
        # Operators see decisions in the logs too (replay-safe logger; the redacting log
        # processor removes whatever PII a reason quotes).
        workflow.logger.log(
            logging.WARNING if decision.verdict in _STOPS else logging.INFO,
            "policy %s at %s: %s",
            decision.verdict.value,
            decision.checkpoint.value,
            reason or describe(decision),
            extra={"agent": self._agent, "tenant_id": self._tenant, "rule_id": decision.rule_id},
        )
        kind = self._security_kinds.get((decision.policy_id, decision.rule_id))
        if kind is not None and decision.verdict in _STOPS:
            self.security_holds.append(kind)
        self.events.append(
            GovernanceEvent(
                event_id=self._next_event_id(),
                kind="policy_decision",
                at=workflow.now(),
                reason=reason or decision.reason,
                checkpoint=decision.checkpoint.value,
                verdict=decision.verdict.value,
                rule_id=decision.rule_id,
                policy_id=decision.policy_id,
                policy_version=decision.policy_version,
                policy_digest=decision.policy_digest,
                tool=tool,
            )
        )


def _text(value: Any) -> str:
    """The first screen's text (runs before ``screen-v2``): kept exactly as it was."""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)


def describe(decision: PolicyDecision) -> str:
    """``refund-cap (refund-policy@3): amount 900 is above 500``: how failures name a rule."""
    where = f" ({decision.policy_id}@{decision.policy_version})" if decision.policy_id else ""
    return f"{decision.rule_id}{where}: {decision.reason}"


def check_start_grant(request: RunRequest, run_id: str, keys: dict[str, str]) -> None:
    """With auth required, only a runner's (or admin's) grant for exactly this request, signed
    with one of ``keys`` and not expired, starts a run; anything else fails it in PREPARING."""
    if request.grant is None:
        raise RunFailure(
            FailureCategory.POLICY_DENIED,
            "a signed start grant is required (agentrun run --api-key)",
            field="grant",
        )
    try:
        verify_grant(
            request.grant,
            keys,
            now=workflow.now(),
            run_id=run_id,
            tenant_id=request.tenant_id,
            action="start",
            payload_digest=start_digest(request),
            allowed_roles=START_ROLES,
        )
    except GrantRefused as refused:
        raise RunFailure(FailureCategory.POLICY_DENIED, f"start {refused}", field="grant") from None

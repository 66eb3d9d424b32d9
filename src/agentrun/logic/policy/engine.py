"""The policy engine: documents compiled once, then one decision per checkpoint of a run.

It runs inside the workflow, so ``decide`` is pure (no I/O, clock, randomness or environment)
and cheap: compile indexes the rules by checkpoint, the rules that apply to an (agent, tenant,
tool) are selected once and remembered, and an allow is a decision built at compile time. It
fails closed: whatever goes wrong while deciding is a deny naming ``builtin.error``.

Precedence: every rule for the checkpoint is evaluated and the most restrictive verdict wins
(deny > escalate > redact > allow), ties going to the earlier rule in document order (documents
in the order given). Evaluation stops at the first deny, since nothing can outrank it.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from agentrun.contracts.policy import (
    ERROR_RULE,
    UNKNOWN_TOOL_RULE,
    VERDICT_RANK,
    Checkpoint,
    PolicyDecision,
    PolicyDocument,
    RateLimitRule,
    Verdict,
)
from agentrun.logic.policy.facts import Check, PolicyError, RunFacts
from agentrun.logic.policy.rules import compile_check, tools_of

_DENY_RANK = VERDICT_RANK[Verdict.DENY]
_TOOL_CHECKPOINTS = frozenset({Checkpoint.BEFORE_TOOL, Checkpoint.AFTER_TOOL})
# Selections remembered per (checkpoint, agent, tenant, tool); forgotten wholesale when full,
# which only costs a re-selection.
_MEMO_LIMIT = 4096
_REASON_CHARS = 500


@dataclass(frozen=True, slots=True)
class CompiledRule:
    check: Check
    rank: int
    verdict: Verdict
    rule_id: str
    policy_id: str
    policy_version: str
    policy_digest: str
    checkpoints: frozenset[Checkpoint]
    tools: frozenset[str] | None
    agents: frozenset[str] | None
    tenants: frozenset[str] | None

    def applies(self, agent: str, tenant: str, checkpoint: Checkpoint, tool: str | None) -> bool:
        if self.agents is not None and agent not in self.agents:
            return False
        if self.tenants is not None and tenant not in self.tenants:
            return False
        return not (
            self.tools is not None and checkpoint in _TOOL_CHECKPOINTS and tool not in self.tools
        )


_Key = tuple[Checkpoint, str, str, str | None]


class PolicyEngine:
    """Compiled policy documents; ``decide`` never raises."""

    __slots__ = ("_allow", "_by_checkpoint", "_memo", "_rate_window", "_versions")

    def __init__(
        self,
        by_checkpoint: dict[Checkpoint, tuple[CompiledRule, ...]],
        versions: tuple[tuple[str, str, str], ...],
        rate_window: timedelta | None,
    ) -> None:
        self._by_checkpoint = by_checkpoint
        self._versions = versions
        self._rate_window = rate_window
        self._memo: dict[_Key, tuple[CompiledRule, ...]] = {}
        self._allow = {
            cp: PolicyDecision(
                verdict=Verdict.ALLOW,
                rule_id=None,
                policy_id=None,
                policy_version=None,
                policy_digest=None,
                checkpoint=cp,
                reason="no rule fired",
            )
            for cp in Checkpoint
        }

    @classmethod
    def compile(cls, documents: Sequence[PolicyDocument]) -> "PolicyEngine":
        """Raises PolicyError when documents conflict (a policy_id twice, two rate windows)."""
        by_checkpoint: dict[Checkpoint, list[CompiledRule]] = {cp: [] for cp in Checkpoint}
        versions: list[tuple[str, str, str]] = []
        windows: dict[timedelta, str] = {}
        for document in documents:
            if any(policy_id == document.policy_id for policy_id, _, _ in versions):
                raise PolicyError([f"policy {document.policy_id}: given twice"])
            digest = document.digest()
            versions.append((document.policy_id, document.version, digest))
            agents = frozenset(document.applies_to.agents) or None
            tenants = frozenset(document.applies_to.tenants) or None
            for rule in document.rules:
                if isinstance(rule, RateLimitRule):
                    windows.setdefault(rule.window, f"{document.policy_id}/{rule.id}")
                compiled = CompiledRule(
                    check=compile_check(rule),
                    rank=VERDICT_RANK[rule.verdict],
                    verdict=rule.verdict,
                    rule_id=rule.id,
                    policy_id=document.policy_id,
                    policy_version=document.version,
                    policy_digest=digest,
                    checkpoints=frozenset(rule.checkpoints),
                    tools=tools_of(rule),
                    agents=agents,
                    tenants=tenants,
                )
                for checkpoint in rule.checkpoints:
                    by_checkpoint[checkpoint].append(compiled)
        if len(windows) > 1:
            # RunFacts carries one count, so every rate limit must be counted over one window.
            named = ", ".join(f"{where} ({window})" for window, where in windows.items())
            raise PolicyError([f"rate_limit rules use different windows: {named}"])
        return cls(
            {cp: tuple(rules) for cp, rules in by_checkpoint.items()},
            tuple(versions),
            next(iter(windows), None),
        )

    @property
    def versions(self) -> tuple[tuple[str, str, str], ...]:
        """(policy_id, version, digest) of every document, in evaluation order."""
        return self._versions

    @property
    def rate_limit_window(self) -> timedelta | None:
        """The window ``tenant_runs_in_window`` must be counted over; None without rate limits."""
        return self._rate_window

    def rules_at(self, checkpoint: Checkpoint) -> int:
        return len(self._by_checkpoint[checkpoint])

    def decide(self, facts: RunFacts) -> PolicyDecision:
        """The verdict at ``facts.checkpoint``; any failure while deciding is a deny."""
        try:
            return self._decide(facts)
        except Exception as err:  # noqa: BLE001 -- fail closed: no error may become an allow
            return _error(facts, None, err)

    def _decide(self, facts: RunFacts) -> PolicyDecision:
        checkpoint = facts.checkpoint
        tool: str | None = None
        if checkpoint in _TOOL_CHECKPOINTS:
            tool = _tool_name(facts)
            if checkpoint == Checkpoint.BEFORE_TOOL and tool not in facts.known_tools:
                return PolicyDecision(
                    verdict=Verdict.DENY,
                    rule_id=UNKNOWN_TOOL_RULE,
                    policy_id=None,
                    policy_version=None,
                    policy_digest=None,
                    checkpoint=checkpoint,
                    reason=f"tool {tool!r} is not in agent {facts.agent}'s catalog",
                )
        key = (checkpoint, facts.agent, facts.tenant_id, tool)
        rules = self._memo.get(key)
        if rules is None:
            rules = self._select(key)
        best: CompiledRule | None = None
        best_rank = 0
        best_reason = ""
        rule: CompiledRule | None = None
        try:
            for rule in rules:
                reason = rule.check(facts, tool)
                if reason is not None and rule.rank > best_rank:
                    best, best_rank, best_reason = rule, rule.rank, reason
                    if best_rank == _DENY_RANK:
                        break
        except Exception as err:  # noqa: BLE001 -- fail closed, naming the rule that failed
            return _error(facts, rule, err)
        if best is None:
            return self._allow[checkpoint]
        return PolicyDecision(
            verdict=best.verdict,
            rule_id=best.rule_id,
            policy_id=best.policy_id,
            policy_version=best.policy_version,
            policy_digest=best.policy_digest,
            checkpoint=checkpoint,
            reason=best_reason,
        )

    def _select(self, key: _Key) -> tuple[CompiledRule, ...]:
        checkpoint, agent, tenant, tool = key
        rules = tuple(
            rule
            for rule in self._by_checkpoint[Checkpoint(checkpoint)]
            if rule.applies(agent, tenant, checkpoint, tool)
        )
        if len(self._memo) >= _MEMO_LIMIT:
            self._memo.clear()
        self._memo[key] = rules
        return rules


def _tool_name(facts: RunFacts) -> str:
    contract = facts.tool
    name = facts.tool_name
    if name is None:
        if contract is None:
            raise ValueError(f"{facts.checkpoint} facts name no tool")
        return contract.name
    if type(name) is not str:
        raise TypeError(f"tool_name must be a string, got {type(name).__name__}")
    if contract is not None and contract.name != name:
        raise ValueError(f"tool_name {name!r} and the contract of {contract.name!r} disagree")
    return name


def _error(facts: RunFacts, rule: CompiledRule | None, err: Exception) -> PolicyDecision:
    """The fail-closed deny; it must not raise itself, whatever ``facts`` holds."""
    try:
        checkpoint = Checkpoint(facts.checkpoint)
    except Exception:  # noqa: BLE001 -- any checkpoint that is not one is reported as input
        checkpoint = Checkpoint.INPUT
    where = f"rule {rule.rule_id} of {rule.policy_id}" if rule is not None else "the engine"
    try:
        why = f"{type(err).__name__}: {err}"
    except Exception:  # noqa: BLE001 -- an exception whose str() fails still denies
        why = type(err).__name__
    reason = f"{where} could not evaluate: {why}"
    return PolicyDecision(
        verdict=Verdict.DENY,
        rule_id=ERROR_RULE,
        policy_id=rule.policy_id if rule is not None else None,
        policy_version=rule.policy_version if rule is not None else None,
        policy_digest=rule.policy_digest if rule is not None else None,
        checkpoint=checkpoint,
        reason=reason[:_REASON_CHARS],
    )

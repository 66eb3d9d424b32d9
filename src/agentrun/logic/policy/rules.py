"""Each rule kind compiled into one small check: regexes compiled and paths split up front.

A check takes the facts and the call's tool name and returns why the rule fires, or None. It
must be cheap (the engine runs up to hundreds per decision, inside the workflow) and it fails
closed: a value of the wrong type, a NaN or a missing argument violates a constraint, and a fact
the rule needs but the caller did not supply raises ``CannotEvaluate``, which the engine turns
into a deny.
"""

from collections.abc import Callable
from typing import Any

from agentrun.contracts.policy import (
    ArgConstraintRule,
    BudgetRule,
    Checkpoint,
    InjectionRule,
    LethalTrifectaRule,
    LoopRule,
    RateLimitRule,
    RedactOutputRule,
    Rule,
    ToolAllowlistRule,
)
from agentrun.logic import injection_v1
from agentrun.logic.injection import screen_injection
from agentrun.logic.policy.arguments import compile_arg_constraint
from agentrun.logic.policy.facts import CannotEvaluate, Check, RunFacts


def compile_check(rule: Rule) -> Check:
    return RULE_COMPILERS[rule.kind](rule)


def tools_of(rule: Rule) -> frozenset[str] | None:
    """The tools a rule is limited to at before_tool/after_tool; None means every tool."""
    if isinstance(rule, ArgConstraintRule):
        return frozenset({rule.tool})
    if isinstance(rule, LoopRule | RedactOutputRule) and rule.tools is not None:
        return frozenset(rule.tools)
    return None


def _allowlist(rule: ToolAllowlistRule) -> Check:
    allowed = frozenset(rule.tools)

    def check(_facts: RunFacts, tool: str | None) -> str | None:
        if tool in allowed:
            return None
        return f"tool {tool} is not on the allow-list"

    return check


# ----------------------------------------------------------------- run-level limits


def _count(facts: RunFacts, name: str) -> int:
    """A counted fact; a bool or a float here is a bug in the caller, not a count."""
    value = getattr(facts, name)
    if type(value) is not int:
        raise CannotEvaluate(f"{name} must be an integer, got {type(value).__name__}")
    return value


def _budget(rule: BudgetRule) -> Check:
    max_steps, max_tokens, max_cost = rule.max_steps, rule.max_tokens, rule.max_cost_usd

    # "not a < b" rather than "a >= b": a NaN spend fires instead of passing.
    def check(facts: RunFacts, _tool: str | None) -> str | None:
        if max_steps is not None and not _count(facts, "step") <= max_steps:
            return f"step {facts.step} is over the limit of {max_steps} steps"
        if max_tokens is not None and not _count(facts, "tokens") < max_tokens:
            return f"token budget used up: {facts.tokens} of {max_tokens}"
        if max_cost is not None:
            cost = facts.cost_usd
            if type(cost) is not float and type(cost) is not int:
                raise CannotEvaluate(f"cost_usd must be a number, got {type(cost).__name__}")
            if not cost < max_cost:
                return f"cost budget used up: ${cost:.4f} of ${max_cost:.4f}"
        return None

    return check


def _rate_limit(rule: RateLimitRule) -> Check:
    limit, window = rule.max_runs, rule.window

    def check(facts: RunFacts, _tool: str | None) -> str | None:
        if facts.tenant_runs_in_window is None:
            raise CannotEvaluate("tenant_runs_in_window was not counted")
        count = _count(facts, "tenant_runs_in_window")
        if not count < limit:
            return (
                f"tenant {facts.tenant_id} started {count} runs in the last {window}; "
                f"the limit is {limit}"
            )
        return None

    return check


def _loop(rule: LoopRule) -> Check:
    limit = rule.max_identical_calls

    def check(facts: RunFacts, tool: str | None) -> str | None:
        repeats = _count(facts, "repeat_count")
        if not repeats < limit:
            return (
                f"{tool} with the same arguments would be call {repeats + 1}; "
                f"at most {limit} identical calls"
            )
        return None

    return check


# ----------------------------------------------------------------- trust


def _lethal_trifecta(_rule: LethalTrifectaRule) -> Check:
    def check(facts: RunFacts, tool: str | None) -> str | None:
        if not (facts.private_data_seen and facts.untrusted_seen):
            return None
        contract = facts.tool
        if contract is None:
            raise CannotEvaluate(f"no contract for tool {tool}: cannot tell if it can send data")
        if contract.exfiltration:
            return (
                f"{tool} can send data out and the run has read private data and seen "
                "untrusted content (lethal trifecta)"
            )
        return None

    return check


def _injection(rule: InjectionRule) -> Check:
    untrusted_only = rule.untrusted_only

    def check(facts: RunFacts, tool: str | None) -> str | None:
        if untrusted_only and facts.checkpoint == Checkpoint.AFTER_TOOL:
            contract = facts.tool
            if contract is None:
                raise CannotEvaluate(f"no contract for tool {tool}: cannot tell if it is trusted")
            if not contract.untrusted_output:
                return None
        text = facts.text
        if text is None:
            raise CannotEvaluate("no text to screen for prompt injection")
        hit = (
            injection_v1.screen_injection(text)
            if facts.screen_version < 2
            else screen_injection(text, version=facts.screen_version)
        )
        if hit is None:
            return None
        encoded = " (base64-encoded)" if hit.encoded else ""
        return f"possible prompt injection ({hit.kind}){encoded}: {hit.phrase!r}"

    return check


def _redact_output(_rule: RedactOutputRule) -> Check:
    def check(_facts: RunFacts, _tool: str | None) -> str | None:
        return "redact before the text is kept or shown"

    return check


RULE_COMPILERS: dict[str, Callable[[Any], Check]] = {
    "tool_allowlist": _allowlist,
    "arg_constraint": compile_arg_constraint,
    "budget": _budget,
    "rate_limit": _rate_limit,
    "loop": _loop,
    "lethal_trifecta": _lethal_trifecta,
    "injection": _injection,
    "redact_output": _redact_output,
}

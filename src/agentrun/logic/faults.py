"""Which injected fault, if any, hits one tool call attempt (pure, reproducible)."""

import hashlib
from collections.abc import Iterable
from datetime import datetime

from agentrun.contracts.faults import FaultRule


def applies(rule: FaultRule, *, agent: str, version: str, tenant_id: str, tool: str) -> bool:
    return (
        rule.agent == agent
        and rule.tool == tool
        and rule.version in (None, version)
        and rule.tenant_id in (None, tenant_id)
    )


def hits(rule: FaultRule, idempotency_key: str, attempt: int) -> bool:
    """Each attempt draws its own number from its key, so a retry may get through (the drill
    rehearses retries) and the same attempt always draws the same (reproducible drills)."""
    digest = hashlib.sha256(f"{rule.fault_id}/{idempotency_key}/{attempt}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < rule.rate


def fault_for(
    rules: Iterable[FaultRule],
    *,
    agent: str,
    version: str,
    tenant_id: str,
    tool: str,
    idempotency_key: str,
    attempt: int,
    now: datetime,
) -> FaultRule | None:
    """The first live rule that matches the call and whose draw hits this attempt."""
    for rule in rules:
        if rule.until is not None and rule.until <= now:
            continue
        if applies(rule, agent=agent, version=version, tenant_id=tenant_id, tool=tool) and hits(
            rule, idempotency_key, attempt
        ):
            return rule
    return None

"""Small builders for policy tests: documents from rule dicts, facts with sensible defaults."""

from typing import Any

from agentrun.contracts.policy import Checkpoint, PolicyDocument
from agentrun.contracts.tools import ToolPolicy
from agentrun.logic.policy import PolicyEngine, RunFacts, parse_policy

KNOWN = frozenset({"lookup_order", "issue_refund", "send_email", "fetch_page"})
CONTRACTS = {
    "lookup_order": ToolPolicy(name="lookup_order", private_data=True),
    "issue_refund": ToolPolicy(name="issue_refund"),
    "send_email": ToolPolicy(name="send_email", exfiltration=True),
    "fetch_page": ToolPolicy(name="fetch_page", untrusted_output=True),
}


def document(*rules: dict[str, Any], policy_id: str = "p", **fields: Any) -> PolicyDocument:
    return parse_policy(
        {"policy_id": policy_id, "version": "1", "rules": list(rules), **fields}, source="test"
    )


def engine(*rules: dict[str, Any], **fields: Any) -> PolicyEngine:
    return PolicyEngine.compile([document(*rules, **fields)])


def facts(checkpoint: Checkpoint = Checkpoint.BEFORE_TOOL, **fields: Any) -> RunFacts:
    """Facts for a run of agent ``refund`` of tenant ``t1``; a tool call names a known contract."""
    tool_name = fields.pop("tool_name", "issue_refund" if checkpoint in _TOOL_CPS else None)
    if tool_name is not None and "tool" not in fields:
        fields["tool"] = CONTRACTS.get(tool_name)
    fields.setdefault("known_tools", KNOWN)
    return RunFacts(
        checkpoint=checkpoint, agent="refund", tenant_id="t1", tool_name=tool_name, **fields
    )


_TOOL_CPS = (Checkpoint.BEFORE_TOOL, Checkpoint.AFTER_TOOL)

"""Two unattended versions of the refund agent for the shadow rollout test: their runs issue a
real refund and send an email with nobody asked, so every refund a copy made would show in the
shop's database. Kept out of TEST_AGENT_MODULES: only the worker of that test serves them."""

from agentrun.agents.refund import build_refund_agent
from agentrun.agents.registry import AgentRegistry

STABLE = "u1"
CANDIDATE = "u2"


def register(registry: AgentRegistry) -> None:
    registry.register(build_refund_agent(STABLE, email_approval=False))
    registry.register(build_refund_agent(CANDIDATE, email_approval=False))

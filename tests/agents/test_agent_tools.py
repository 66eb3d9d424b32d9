"""Agents as tools (``Agent.as_tool``/``as_handoff``): the contract they declare, and what
registration refuses."""

import pytest
from pydantic import BaseModel

from agentrun.agents.api import Agent, tool
from agentrun.agents.registry import AgentRegistry, RegistryError
from agentrun.agents.signatures import DeclarationError
from agentrun.agents.teams import fanout, pipeline


class Email(BaseModel):
    to: str
    body: str


@tool(exfiltration=True)
def send(to: str, body: str) -> str:
    """Send an email."""
    return f"sent to {to}"


@tool(private_data=True)
def customer(customer_id: str) -> str:
    """Read a customer's record."""
    return customer_id


mailer = Agent(
    name="mailer",
    model="scripted:scripted-1",
    instructions="Mail what you are given.",
    description="Sends an email for you.",
    tools=[send, customer],
    input_model=Email,
    review="never",
    script=[{"tool": "send", "args": {"to": "{{input.to}}", "body": "x"}}, {"final": {}}],
)


def test_the_tool_is_the_agents_contract() -> None:
    asked = mailer.as_tool()
    contract = asked.contract
    assert contract.name == "ask_mailer"
    assert contract.agent == "mailer"
    assert contract.handoff is False
    assert contract.description == "Sends an email for you."
    assert contract.input_schema == Email.model_json_schema()
    # What its members may do is what calling it may do: the caller's guardrails see it.
    assert contract.exfiltration is True
    assert contract.private_data is True
    assert contract.untrusted_output is False
    handoff = mailer.as_handoff(version="1")
    assert handoff.contract.name == "handoff_to_mailer"
    assert handoff.contract.handoff is True
    assert handoff.contract.agent_version == "1"
    # What travels in history: the plan's policy names the agent to start.
    assert handoff.contract.policy().agent == "mailer"


def test_an_agent_tool_needs_a_description() -> None:
    silent = Agent(
        name="silent", model="scripted:scripted-1", instructions="x", review="never",
        script=[{"final": {}}],
    )  # fmt: skip
    with pytest.raises(DeclarationError, match=r"agent silent: as a tool: no description"):
        silent.as_tool()
    assert silent.as_tool(description="Says nothing.").contract.description == "Says nothing."


def test_a_bad_tool_name_is_named() -> None:
    with pytest.raises(DeclarationError, match=r"agent mailer: as a tool: name:"):
        mailer.as_tool(name="Ask-Mailer")


def test_an_agent_is_registered_after_the_agents_it_calls() -> None:
    registry = AgentRegistry()
    with pytest.raises(
        RegistryError, match=r"tools: ask_ticket_classifier: unknown agent 'ticket-classifier'"
    ):
        registry.register(pipeline.pipeline)
    registry.register(pipeline.classifier)
    registry.register(pipeline.writer)
    registry.register(pipeline.pipeline)
    assert "support-pipeline" in registry.agent_names()


def test_a_pinned_version_must_exist() -> None:
    registry = AgentRegistry()
    registry.register(mailer)
    lead = Agent(
        name="mail-lead", model="scripted:scripted-1", instructions="x", review="never",
        tools=[mailer.as_tool(version="9")], script=[{"final": {}}],
    )  # fmt: skip
    with pytest.raises(RegistryError, match=r"ask_mailer: agent 'mailer' has no version '9'"):
        registry.register(lead)


def test_a_parallel_step_names_only_tools_the_agent_has() -> None:
    registry = AgentRegistry()
    for agent in (fanout.flights, fanout.hotels, fanout.weather):
        registry.register(agent)
    broken = Agent(
        name="broken-planner", model="scripted:scripted-1", instructions="x", review="never",
        tools=[fanout.flights.as_tool()],
        script=[{"calls": [{"tool": "ask_flight_finder"}, {"tool": "ask_nobody"}]}, {"final": {}}],
    )  # fmt: skip
    with pytest.raises(RegistryError, match=r"script\[0\]\.tool: 'ask_nobody' is not one of"):
        registry.register(broken)
    with pytest.raises(DeclarationError, match="one tool call"):
        Agent(
            name="both", model="scripted:scripted-1", instructions="x", review="never",
            script=[{"tool": "a", "calls": [{"tool": "b"}]}],
        )  # fmt: skip


def test_versions_without_teams_keep_their_snapshot_and_digest() -> None:
    """Versions published before agents could call agents (and scripts could ask for several
    calls at once) must still match their stored snapshot: the new fields are left out unset."""
    dumped = mailer.spec.model_dump(mode="json")
    for tool_dump in dumped["tools"]:
        assert not {"agent", "agent_version", "handoff"} & set(tool_dump)
    for step in dumped["model"]["scripted"]["script"]:
        assert "calls" not in step
    # Set, they are part of the version like any other field.
    lead = fanout.planner.spec.model_dump(mode="json")
    assert lead["tools"][0]["agent"] == "flight-finder"
    assert "calls" in lead["model"]["scripted"]["script"][0]
    assert type(fanout.planner.spec).model_validate(lead) == fanout.planner.spec

"""The tool-author API: declare tools and agents, and register them with a worker.

``@tool`` and ``Agent`` are the short way (a typed function is a tool, one call an agent);
``define_tool``, ``AgentSpec`` and ``AgentDefinition`` are the full-control layer they build on.
An agent module is named in ``AGENTRUN_AGENT_MODULES`` and either defines ``Agent``s at module
level or exposes ``register(registry)`` (docs/agents.md; ``agentrun.agents.refund`` is a complete
example of the second).
"""

from agentrun.agents.api import Agent, Message, Tool, tool
from agentrun.agents.errors import ToolError
from agentrun.agents.registry import (
    AgentDefinition,
    AgentRegistry,
    RegistryError,
    ToolContext,
    ToolDefinition,
    define_tool,
)
from agentrun.agents.signatures import DeclarationError
from agentrun.contracts.trust import Private, Public, Trusted, Untrusted

__all__ = [
    "Agent",
    "AgentDefinition",
    "AgentRegistry",
    "DeclarationError",
    "Message",
    "Private",
    "Public",
    "RegistryError",
    "Tool",
    "ToolContext",
    "ToolDefinition",
    "ToolError",
    "Trusted",
    "Untrusted",
    "define_tool",
    "tool",
]

"""The tool-author API: declare tools and agents, and register them with a worker.

An agent module exposes ``register(registry)`` and is named in ``AGENTRUN_AGENT_MODULES``;
``agentrun.agents.refund`` is a complete example (docs/agents.md).
"""

from agentrun.agents.errors import ToolError
from agentrun.agents.registry import (
    AgentDefinition,
    AgentRegistry,
    RegistryError,
    ToolContext,
    ToolDefinition,
    define_tool,
)

__all__ = [
    "AgentDefinition",
    "AgentRegistry",
    "RegistryError",
    "ToolContext",
    "ToolDefinition",
    "ToolError",
    "define_tool",
]

"""Agents whose tools come from the MCP test server (tests.support.mcp_server).

The server is named ``shop``, so its tools are ``shop_<tool>``. Builders take the server
declaration, so a test can point an agent at a stdio process or at an HTTP server it started;
``register`` registers the stdio ones (for ``AGENTRUN_AGENT_MODULES=tests.support.mcp_agents``).
"""

import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from agentrun.agents.mcp import McpServer, McpStdioServer
from agentrun.agents.registry import AgentDefinition, AgentRegistry
from agentrun.contracts.agents import (
    AgentSpec,
    ModelSettings,
    ReviewMode,
    ReviewPolicy,
    ScriptedOptions,
    ScriptStep,
)
from tests.support.mcp_server import ROOT


class SkuInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: str = "A-1"


def stdio_server(state: Path | None = None, **fields: Any) -> McpStdioServer:
    """The test server as a child process of the worker (the repository is its cwd, so
    ``tests`` imports)."""
    args = ["-m", "tests.support.mcp_server"]
    if state is not None:
        args += ["--state", str(state)]
    return McpStdioServer(name="shop", command=sys.executable, args=tuple(args), cwd=ROOT, **fields)


def mcp_agent(name: str, server: McpServer, steps: list[ScriptStep]) -> AgentDefinition:
    spec = AgentSpec(
        name=name,
        version="1",
        system_prompt=f"MCP test agent {name}.",
        model=ModelSettings(scripted=ScriptedOptions(script=tuple(steps))),
        review=ReviewPolicy(mode=ReviewMode.NEVER, sample_rate=0.0),
        reviewers=("alice",),
    )
    return AgentDefinition(spec=spec, input_model=SkuInput, tools=(), mcp_servers=(server,))


def lookup_agent(server: McpServer) -> AgentDefinition:
    """Reads an item (read-only, structured output), notes it (idempotent write), fetches a
    page (open-world, text output), then answers with what it read."""
    return mcp_agent(
        "mcp-lookup",
        server.model_copy(update={"tools": ("lookup_item", "put_note", "fetch_page")}),
        [
            ScriptStep(tool="shop_lookup_item", args={"sku": "{{input.sku}}"}),
            ScriptStep(
                tool="shop_put_note",
                args={"key": "{{input.sku}}", "text": "{{tools.shop_lookup_item.name}}"},
            ),
            ScriptStep(tool="shop_fetch_page", args={"url": "https://example.com/a"}),
            ScriptStep(
                final={
                    "name": "{{tools.shop_lookup_item.name}}",
                    "stock": "{{tools.shop_lookup_item.stock}}",
                    "page": "{{tools.shop_fetch_page.text}}",
                }
            ),
        ],
    )


def delete_agent(server: McpServer) -> AgentDefinition:
    """Deletes an item: a destructive tool, so the call waits for a reviewer's approval."""
    return mcp_agent(
        "mcp-delete",
        server,
        [
            ScriptStep(tool="shop_delete_item", args={"sku": "{{input.sku}}"}),
            ScriptStep(final={"deleted": "{{tools.shop_delete_item.result}}"}),
        ],
    )


def register(registry: AgentRegistry) -> None:
    registry.register(lookup_agent(stdio_server()))
    registry.register(delete_agent(stdio_server()))

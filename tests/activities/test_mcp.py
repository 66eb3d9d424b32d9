"""MCP tools against a real MCP server (tests.support.mcp_server), over stdio and streamable
HTTP: discovery, calls through the tool activity, error results, arguments the schema refuses,
session reuse and reconnection."""

import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from agentrun.activities.mcp import McpSessions, McpStartupError
from agentrun.activities.tools import build_tool_activity
from agentrun.agents.mcp import McpHttpServer, McpServer, McpStdioServer, McpToolOverride
from agentrun.agents.registry import AgentRegistry, RegistryError
from agentrun.contracts.agents import ScriptStep
from agentrun.contracts.names import ErrorType
from agentrun.contracts.tools import RequestContext, ToolErrorDetail, ToolInput, ToolOutput
from agentrun.errors import UserError
from tests.support.mcp_agents import delete_agent, lookup_agent, mcp_agent, stdio_server
from tests.support.mcp_server import free_port, http_server, read_state, server_pids

ALL_TOOLS = {
    "shop_lookup_item",
    "shop_put_note",
    "shop_delete_item",
    "shop_fetch_page",
    "shop_shout",
    "shop_always_fails",
    "shop_overloaded",
    "shop_server_pid",
    "shop_carried",
    "shop_crash",
}


@dataclass
class Shop:
    registry: AgentRegistry
    sessions: McpSessions
    state: Path
    transport: str = "stdio"

    async def call(self, tool: str, **params: Any) -> ToolOutput:
        activity = build_tool_activity(self.registry.tool(tool), self.state.parent)
        return await ActivityEnvironment().run(activity, _input(tool, params))

    async def failure(self, tool: str, **params: Any) -> tuple[ApplicationError, ToolErrorDetail]:
        with pytest.raises(ApplicationError) as failed:
            await self.call(tool, **params)
        return failed.value, ToolErrorDetail.model_validate(failed.value.details[0])


def _input(tool: str, params: dict[str, Any]) -> ToolInput:
    context = RequestContext(
        user_id="u",
        tenant_id="t",
        request_id="r",
        run_id="run",
        trace_id="0" * 32,
        timestamp=datetime(2026, 1, 1, tzinfo=UTC),
    )
    return ToolInput(tool=tool, params=params, context=context, idempotency_key="run/1/0")


def _connected(*agents: Any) -> tuple[AgentRegistry, McpSessions]:
    registry = AgentRegistry()
    for agent in agents:
        registry.register(agent)
    return registry, McpSessions.for_registry(registry)


@pytest.fixture(scope="module", params=["stdio", "http"])
def shop(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Shop]:
    state = tmp_path_factory.mktemp(f"shop-{request.param}") / "state.json"
    if request.param == "stdio":
        registry, sessions = _connected(
            lookup_agent(stdio_server(state)), delete_agent(stdio_server(state))
        )
        yield Shop(registry, sessions, state)
        sessions.close()
        return
    with http_server(state) as url:
        server = McpHttpServer(name="shop", url=url, headers={"X-Test": "1"})
        registry, sessions = _connected(lookup_agent(server), delete_agent(server))
        yield Shop(registry, sessions, state, "http")
        sessions.close()


def test_discovery_adds_the_servers_tools_to_their_agents(shop: Shop) -> None:
    everything = shop.registry.resolve("mcp-delete")
    assert {tool.contract.name for tool in everything.tools} == ALL_TOOLS
    assert {tool.name for tool in everything.spec.tools} == ALL_TOOLS
    selected = shop.registry.resolve("mcp-lookup")
    assert [t.contract.name for t in selected.tools] == [
        "shop_lookup_item",
        "shop_put_note",
        "shop_fetch_page",
    ]
    # Both agents declare the same server: one tool (one activity) serves both.
    assert selected.tools[0] is next(
        t for t in everything.tools if t.contract.name == "shop_lookup_item"
    )
    lookup = shop.registry.tool("shop_lookup_item").contract
    assert lookup.input_schema["required"] == ["sku"]
    assert (lookup.side_effect, lookup.requires_approval, lookup.untrusted_output) == (
        "none",
        False,
        False,
    )
    delete = shop.registry.tool("shop_delete_item").contract
    assert (delete.side_effect, delete.requires_approval) == ("non_idempotent", True)


async def test_a_call_answers_with_the_structured_content(shop: Shop) -> None:
    output = await shop.call("shop_lookup_item", sku="A-1")
    assert (output.status, output.data) == ("success", {"sku": "A-1", "name": "anvil", "stock": 3})


async def test_a_tool_without_an_output_schema_answers_with_its_text(shop: Shop) -> None:
    output = await shop.call("shop_fetch_page", url="https://example.com/x")
    assert output.data == {"text": "<html>page at https://example.com/x</html>"}


async def test_an_error_result_is_a_permanent_tool_error(shop: Shop) -> None:
    error, detail = await shop.failure("shop_always_fails", reason="closed for inventory")
    assert (error.type, error.non_retryable) == (ErrorType.TOOL_REJECTED, True)
    assert (detail.error_class, detail.retryable) == ("mcp_tool_error", False)
    assert "refused: closed for inventory" in error.message


async def test_a_json_rpc_internal_error_is_worth_a_retry(shop: Shop) -> None:
    error, detail = await shop.failure("shop_overloaded")
    assert (error.type, detail.error_class, detail.retryable) == (
        ErrorType.TOOL_UNAVAILABLE,
        "mcp_error_32603",
        True,
    )
    assert error.message == "shop_overloaded: MCP error: overloaded, try later"


async def test_arguments_the_schema_refuses_never_reach_the_server(shop: Shop) -> None:
    before = read_state(shop.state)["calls"].count("lookup_item")
    error, detail = await shop.failure("shop_lookup_item", sku=7)
    assert (error.type, detail.field) == (ErrorType.INVALID_PARAMS, "params.sku")
    assert error.message == 'shop_lookup_item: params.sku: should be of type "string"'
    assert read_state(shop.state)["calls"].count("lookup_item") == before


async def test_calls_carry_the_declared_headers_and_the_idempotency_key(shop: Shop) -> None:
    output = await shop.call("shop_carried")
    header = "1" if shop.transport == "http" else None  # stdio has no headers
    assert output.data == {"header": header, "idempotency_key": "run/1/0"}


async def test_one_session_serves_every_call(shop: Shop) -> None:
    first = await shop.call("shop_server_pid")
    second = await shop.call("shop_server_pid")
    assert first.data == second.data
    assert first.data["pid"] != os.getpid()


@pytest.fixture(scope="module")
def crashing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    state = tmp_path_factory.mktemp("crashing") / "state.json"
    transient = McpToolOverride(retry_error_results=True)
    server = stdio_server(state, overrides={"always_fails": transient})
    registry, sessions = _connected(delete_agent(server))
    yield Shop(registry, sessions, state)
    sessions.close()


async def test_a_server_that_died_is_reconnected_and_the_call_is_worth_a_retry(
    crashing: Shop,
) -> None:
    before = (await crashing.call("shop_server_pid")).data["pid"]
    error, detail = await crashing.failure("shop_crash")
    assert (error.type, error.non_retryable) == (ErrorType.TOOL_UNAVAILABLE, False)
    assert (detail.error_class, detail.retryable) == ("connection", True)
    after = (await crashing.call("shop_server_pid")).data["pid"]
    assert after != before


async def test_an_agent_may_say_a_tools_error_results_are_transient(crashing: Shop) -> None:
    error, detail = await crashing.failure("shop_always_fails", reason="busy")
    assert (error.type, error.non_retryable, detail.retryable) == (
        ErrorType.TOOL_UNAVAILABLE,
        False,
        True,
    )


async def test_closed_sessions_refuse_calls_as_a_lost_connection(tmp_path: Path) -> None:
    registry, sessions = _connected(lookup_agent(stdio_server(tmp_path / "state.json")))
    sessions.close()
    shop = Shop(registry, sessions, tmp_path / "state.json")
    error, detail = await shop.failure("shop_lookup_item", sku="A-1")
    assert (detail.error_class, error.non_retryable) == ("connection", False)


def _refusal(server: McpServer, steps: list[ScriptStep] | None = None) -> UserError:
    """Why discovery refused an agent on this server: one line, and a UserError (the CLI
    prints it as such)."""
    agent = mcp_agent("refused", server, steps or [ScriptStep(final={"ok": True})])
    with pytest.raises(UserError) as refused:
        _connected(agent)
    assert "\n" not in str(refused.value)
    return refused.value


def test_an_unreachable_http_server_is_a_start_up_error() -> None:
    url = f"http://127.0.0.1:{free_port()}/mcp"
    refused = _refusal(McpHttpServer(name="shop", url=url, headers={"Authorization": "secret"}))
    assert isinstance(refused, McpStartupError)
    assert str(refused).startswith(f"agent refused@1: MCP server 'shop' ({url}): cannot connect: ")
    assert "secret" not in str(refused)


def test_a_command_that_cannot_start_is_a_start_up_error(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-server"
    refused = _refusal(McpStdioServer(name="shop", command=str(missing)))
    assert str(refused) == (
        f"agent refused@1: MCP server 'shop' (stdio: {missing}): cannot connect: "
        f"No such file or directory: {missing}"
    )


def test_a_declared_tool_the_server_does_not_list_is_a_start_up_error(tmp_path: Path) -> None:
    server = stdio_server(tmp_path / "state.json", tools=("lookup_item", "lookup_itme"))
    refused = _refusal(server)
    assert isinstance(refused, McpStartupError)
    assert str(refused).endswith(
        "): lists no tool 'lookup_itme' (it lists always_fails, carried, crash, delete_item, "
        "fetch_page, lookup_item, overloaded, put_note, server_pid, shout)"
    )


def test_tools_that_would_share_a_name_are_a_start_up_error(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    twice = mcp_agent("refused", stdio_server(state), [ScriptStep(final={"ok": True})])
    twice = replace(twice, mcp_servers=(stdio_server(state), stdio_server(state)))
    with pytest.raises(
        McpStartupError, match=r"^agent refused@1: MCP server 'shop' is declared twice$"
    ):
        _connected(twice)
    renamed = McpToolOverride(name="shop_put_note")
    refused = _refusal(stdio_server(state, overrides={"lookup_item": renamed}))
    assert str(refused) == (
        "agent refused@1: two of its tools would be named 'shop_put_note': name one of them in "
        "its MCP server's overrides (overrides[<tool>].name)"
    )


def test_a_script_naming_a_tool_the_server_lacks_fails_once_tools_are_known(
    tmp_path: Path,
) -> None:
    server = stdio_server(tmp_path / "state.json", tools=("lookup_item",))
    steps = [ScriptStep(tool="shop_lookup", args={}), ScriptStep(final={"ok": True})]
    refused = _refusal(server, steps)
    assert isinstance(refused, RegistryError)
    assert str(refused).endswith(
        "script[0].tool: 'shop_lookup' is not one of its tools (shop_lookup_item)"
    )
    assert server_pids(tmp_path / "state.json") == []  # the refused start stopped the server

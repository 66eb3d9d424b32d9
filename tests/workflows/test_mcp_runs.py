"""Runs whose tools come from a real MCP server, on a worker of their own: the run completes,
a destructive tool waits for a person's approval, and a server the worker cannot reach stops
the worker from starting."""

import uuid
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from agentrun.activities.mcp import McpStartupError
from agentrun.agents.mcp import McpHttpServer
from agentrun.agents.registry import AgentDefinition, AgentRegistry
from agentrun.client import AgentRunClient
from agentrun.contracts import Decision, ReviewDecision, RunRequest, RunState
from agentrun.errors import UserError
from agentrun.settings import Settings
from agentrun.workers.worker import AgentRunWorker, build_worker
from tests.support.mcp_agents import delete_agent, lookup_agent, stdio_server
from tests.support.mcp_server import free_port, http_server, read_state, server_pids
from tests.support.waiting import wait_for_review


def _worker(
    env: WorkflowEnvironment, settings: Settings, agent: AgentDefinition
) -> tuple[AgentRunWorker, AgentRunClient]:
    queue = f"mcp-{uuid.uuid4().hex[:8]}"
    registry = AgentRegistry()
    registry.register(agent)
    worker = build_worker(env.client, settings.model_copy(update={"task_queue": queue}), registry)
    return worker, AgentRunClient(env.client, task_queue=queue)


async def test_a_run_with_mcp_tools_completes(
    temporal_env: WorkflowEnvironment, settings: Settings, tmp_path: Path
) -> None:
    state = tmp_path / "shop.json"
    worker, runs = _worker(temporal_env, settings, lookup_agent(stdio_server(state)))
    async with worker:
        run_id = await runs.start(RunRequest(agent="mcp-lookup", input={"sku": "A-1"}))
        result = await runs.result(run_id)
        status = await runs.status(run_id)
        history = await runs.temporal.get_workflow_handle(run_id).fetch_history()
        assert len(server_pids(state)) == 1  # one server process served the whole run
    assert result.state is RunState.COMPLETED, result.failure
    assert result.output == {
        "name": "anvil",
        "stock": 3,
        "page": "<html>page at https://example.com/a</html>",
    }
    assert [(c.tool, c.status, c.attempts) for c in status.tool_calls] == [
        ("shop_lookup_item", "success", 1),
        ("shop_put_note", "success", 1),
        ("shop_fetch_page", "success", 1),
    ]
    assert read_state(state)["notes"] == {"A-1": "anvil"}
    assert server_pids(state) == []  # the worker's shutdown ended the server's process
    # Each MCP tool is its own activity, under its server's names: what the Web UI shows.
    scheduled = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    ]
    assert [name for name in scheduled if name.startswith("tool.")] == [
        "tool.shop.lookup_item",
        "tool.shop.put_note",
        "tool.shop.fetch_page",
    ]


async def test_a_destructive_mcp_tool_runs_only_once_approved(
    temporal_env: WorkflowEnvironment, settings: Settings, tmp_path: Path
) -> None:
    state = tmp_path / "shop.json"
    with http_server(state) as url:
        server = McpHttpServer(name="shop", url=url)
        worker, runs = _worker(temporal_env, settings, delete_agent(server))
        async with worker:
            run_id = await runs.start(RunRequest(agent="mcp-delete", input={"sku": "A-1"}))
            waiting = await wait_for_review(runs, run_id, kind="tool_approval")
            assert waiting.pending_review is not None
            assert waiting.pending_review.tool == "shop_delete_item"
            assert "delete_item" not in read_state(state)["calls"]
            assert "A-1" in read_state(state)["items"]

            await runs.review(run_id, ReviewDecision(decision=Decision.APPROVE, reviewer="alice"))
            result = await runs.result(run_id)
            status = await runs.status(run_id)
    assert result.state is RunState.COMPLETED, result.failure
    assert result.output == {"deleted": "deleted A-1"}
    assert read_state(state)["calls"].count("delete_item") == 1
    assert "A-1" not in read_state(state)["items"]
    [call] = status.tool_calls
    assert (call.tool, call.status, call.approved_by) == ("shop_delete_item", "success", "alice")


async def test_an_unreachable_mcp_server_fails_the_workers_start(
    temporal_env: WorkflowEnvironment, settings: Settings
) -> None:
    url = f"http://127.0.0.1:{free_port()}/mcp"
    with pytest.raises(McpStartupError) as refused:
        _worker(temporal_env, settings, lookup_agent(McpHttpServer(name="shop", url=url)))
    message = str(refused.value)
    assert isinstance(refused.value, UserError)
    assert "\n" not in message
    assert message.startswith(f"agent mcp-lookup@1: MCP server 'shop' ({url}): cannot connect: ")

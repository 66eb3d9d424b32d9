"""MCP tools' contracts, from their annotations, schemas and the agent's overrides (no server)."""

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from mcp.types import Tool, ToolAnnotations
from pydantic import ValidationError

from agentrun.activities.model import checked_calls
from agentrun.agents.mcp import (
    TEXT_OUTPUT,
    McpContractError,
    McpHttpServer,
    McpServer,
    McpStdioServer,
    McpToolOverride,
    contract_name,
    derive_contract,
    mcp_tool,
)
from agentrun.agents.registry import AgentRegistry, RegistryError, ToolContext, ToolDefinition
from agentrun.contracts.agents import ScriptStep
from agentrun.contracts.model import ModelDecision, ToolCallRequest
from agentrun.contracts.tools import RetrySpec, RiskLevel, SideEffect, ToolContract, ToolPolicy
from agentrun.logic.retry import activity_options
from tests.support.mcp_agents import mcp_agent

SHOP = McpStdioServer(name="shop", command="shop-server")
FINAL = ScriptStep(final={"ok": True})
SKU_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "sku": {"type": "string"},
        "count": {"type": "integer", "minimum": 1},
        "where": {
            "type": "object",
            "properties": {"shelf": {"type": "string"}},
            "additionalProperties": False,
        },
    },
    "required": ["sku"],
    "additionalProperties": False,
}


def tool(
    name: str = "t",
    annotations: ToolAnnotations | None = None,
    output_schema: dict[str, Any] | None = None,
) -> Tool:
    return Tool(
        name=name,
        description=f"{name} tool",
        input_schema=SKU_SCHEMA,
        output_schema=output_schema,
        annotations=annotations,
    )


async def _never(params: Any, ctx: ToolContext) -> Any:
    raise AssertionError("not called")


def definition(server: McpServer, listed: Tool) -> ToolDefinition:
    return mcp_tool(server, listed, lambda _contract: _never)


def attempts(contract: ToolContract) -> int:
    return activity_options(contract).retry_policy.maximum_attempts or 0


@pytest.mark.parametrize(
    ("hints", "expected"),
    [
        # read-only and closed: no effect, so retried; destructive means nothing without writes
        (
            ToolAnnotations(read_only_hint=True, destructive_hint=True, open_world_hint=False),
            (SideEffect.NONE, False, False, False, 3),
        ),
        # an idempotent, additive write: retried, no approval
        (
            ToolAnnotations(
                read_only_hint=False, idempotent_hint=True, destructive_hint=False,
                open_world_hint=False,
            ),
            (SideEffect.IDEMPOTENT, False, False, False, 3),
        ),
        # destructive (idempotent unsaid, so false): approval, called at most once
        (
            ToolAnnotations(destructive_hint=True, open_world_hint=False),
            (SideEffect.NON_IDEMPOTENT, True, False, False, 1),
        ),
        # destructive but idempotent: approval, and a repeat is harmless so it is retried
        (
            ToolAnnotations(destructive_hint=True, idempotent_hint=True, open_world_hint=False),
            (SideEffect.IDEMPOTENT, True, False, False, 3),
        ),
        # an open-world read: its output is untrusted, it sends nothing out
        (
            ToolAnnotations(read_only_hint=True, open_world_hint=True),
            (SideEffect.NONE, False, True, False, 3),
        ),
        # an open-world write that says it is additive: it can send data out
        (
            ToolAnnotations(destructive_hint=False),
            (SideEffect.NON_IDEMPOTENT, False, True, True, 1),
        ),
        # no annotations: the spec's defaults, the most careful reading
        (None, (SideEffect.NON_IDEMPOTENT, True, True, True, 1)),
    ],
)  # fmt: skip
def test_annotations_become_the_contract(
    hints: ToolAnnotations | None, expected: tuple[SideEffect, bool, bool, bool, int]
) -> None:
    """Expected: side effect, approval required, untrusted output, exfiltration, attempts."""
    contract = derive_contract(SHOP, tool("t", hints))
    assert (
        contract.side_effect,
        contract.requires_approval,
        contract.untrusted_output,
        contract.exfiltration,
        attempts(contract),
    ) == expected
    assert contract.private_data is False  # nothing in MCP says so; only an override can
    assert contract.input_schema == SKU_SCHEMA


def test_every_contract_field_can_be_overridden() -> None:
    overridable = set(McpToolOverride.model_fields) - {"retry_error_results"}
    # The activity type follows the server's names: not the agent's to change; and an MCP tool
    # is a tool, never an agent called as one.
    agent_only = {"activity", "agent", "agent_version", "handoff"}
    assert overridable == set(ToolPolicy.model_fields) - agent_only | {"description"}


def test_overrides_replace_what_the_annotations_imply_and_only_that() -> None:
    server = McpStdioServer(
        name="shop",
        command="shop-server",
        overrides={
            "t": McpToolOverride(
                name="shop_remove",
                description="Remove an item.",
                side_effect=SideEffect.IDEMPOTENT,
                requires_approval=False,
                approval_above={"count": 10},
                untrusted_output=False,
                private_data=True,
                timeout=timedelta(seconds=60),
                retry=RetrySpec(max_attempts=5),
                risk=RiskLevel.MEDIUM,
            )
        },
    )
    contract = derive_contract(server, tool("t"))
    assert contract.name == "shop_remove"
    assert contract.description == "Remove an item."
    assert contract.side_effect is SideEffect.IDEMPOTENT
    assert (contract.requires_approval, contract.approval_above) == (False, {"count": 10})
    assert (contract.untrusted_output, contract.private_data) == (False, True)
    assert contract.timeout == timedelta(seconds=60)
    assert attempts(contract) == 5
    assert contract.risk is RiskLevel.MEDIUM
    assert contract.exfiltration is True  # not overridden: still what the annotations imply


def test_a_bad_override_is_refused_naming_the_tool_and_field() -> None:
    server = McpStdioServer(
        name="shop", command="shop-server", overrides={"t": McpToolOverride(fallback="shop_t")}
    )
    with pytest.raises(McpContractError, match=r"tool 't': .*own fallback"):
        derive_contract(server, tool("t"))


def test_names_fit_the_policy_pattern() -> None:
    assert contract_name("shop", "Get-Item.v2") == "shop_get_item_v2"
    listed = derive_contract(SHOP, tool("List Items"))
    assert (listed.name, listed.activity) == ("shop_list_items", "tool.shop.List_Items")
    with pytest.raises(McpContractError, match=r"overrides\['x+'\]\.name"):
        derive_contract(SHOP, tool("x" * 70))
    renamed = SHOP.model_copy(update={"overrides": {"x" * 70: McpToolOverride(name="shop_x")}})
    assert derive_contract(renamed, tool("x" * 70)).name == "shop_x"


def test_params_are_checked_against_the_input_schema_without_quoting_values() -> None:
    params = definition(SHOP, tool()).params_model
    assert params.model_validate({"sku": "A-1", "count": 2}).model_dump() == {
        "sku": "A-1",
        "count": 2,
    }
    cases = [
        ({"sku": 4242}, ("sku",), 'should be of type "string"'),
        ({}, ("sku",), "Field required"),
        ({"sku": "a", "count": 0}, ("count",), "breaks minimum 1"),
        ({"sku": "a", "colour": "red"}, ("colour",), "Extra inputs are not permitted"),
        ({"sku": "a", "where": {"shelf": 9}}, ("where", "shelf"), "should be of type"),
        (["not", "an", "object"], (), "valid dictionary"),
    ]
    for args, loc, message in cases:
        with pytest.raises(ValidationError) as refused:
            params.model_validate(args)
        [problem] = refused.value.errors()
        assert (problem["loc"], message in problem["msg"]) == (loc, True), problem
        assert "4242" not in problem["msg"]


def test_the_model_activity_sends_unfit_arguments_back_to_the_model() -> None:
    agent = replace(mcp_agent("checked", SHOP, [FINAL]), tools=(definition(SHOP, tool("t")),))
    calls = (
        ToolCallRequest(call_id="1", tool="shop_t", args={"sku": "ok"}),
        ToolCallRequest(call_id="2", tool="shop_t", args={"sku": 1}),
    )
    checked = checked_calls(agent, ModelDecision(tool_calls=calls))
    assert [call.error for call in checked.tool_calls] == [
        None,
        'arguments.sku: should be of type "string" (call shop_t again, fixed)',
    ]


@pytest.mark.parametrize(
    ("output_schema", "good", "bad", "loc"),
    [
        (None, {"text": "hello"}, {"text": 1}, ("text",)),
        (
            {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]},
            {"n": 1},
            {"n": "1"},
            ("n",),
        ),
        (
            {"type": "array", "items": {"$ref": "#/$defs/n"}, "$defs": {"n": {"type": "integer"}}},
            {"result": [1, 2]},
            {"result": [1, "2"]},
            ("result", 1),
        ),
    ],
)
def test_outputs_are_objects_checked_against_the_output_schema(
    output_schema: dict[str, Any] | None,
    good: dict[str, Any],
    bad: dict[str, Any],
    loc: tuple[str | int, ...],
) -> None:
    made = definition(SHOP, tool(output_schema=output_schema))
    if output_schema is None:
        assert made.contract.output_schema == TEXT_OUTPUT
    assert made.output_model.model_validate(good).model_dump() == good
    with pytest.raises(ValidationError) as refused:
        made.output_model.model_validate(bad)
    assert refused.value.errors()[0]["loc"] == loc


def test_an_invalid_schema_is_refused_at_start_up() -> None:
    broken = Tool(name="t", input_schema={"type": "object", "properties": {"a": {"type": 5}}})
    with pytest.raises(McpContractError, match="shop_t inputSchema is not a valid JSON Schema"):
        definition(SHOP, broken)


def test_declarations_are_checked_when_made() -> None:
    with pytest.raises(ValidationError, match="name"):
        McpStdioServer(name="Shop-1", command="x")
    with pytest.raises(ValidationError, match="overrides: delete_item not among tools"):
        McpStdioServer(
            name="shop",
            command="x",
            tools=("lookup_item",),
            overrides={"delete_item": McpToolOverride(requires_approval=False)},
        )
    with pytest.raises(ValidationError, match="url"):
        McpHttpServer(name="shop", url="ftp://example.com")
    with pytest.raises(ValidationError, match="declare an McpStdioServer or an McpHttpServer"):
        McpServer(name="shop")


def test_error_messages_name_a_server_without_its_secrets() -> None:
    http = McpHttpServer(
        name="shop",
        url="https://user:pw@mcp.example.com:8443/mcp?token=abc",
        headers={"Authorization": "Bearer abc"},
    )
    assert http.describe() == "https://mcp.example.com:8443/mcp"
    stdio = McpStdioServer(name="shop", command="shop-server", args=("--token", "abc"))
    assert stdio.describe() == "stdio: shop-server"


def test_an_agent_with_mcp_servers_is_checked_once_its_tools_are_added() -> None:
    registry = AgentRegistry()
    # The script names an MCP tool nobody has listed yet: registration waits for it.
    registry.register(mcp_agent("waits", SHOP, [step("shop_t"), FINAL]))
    registry.register(mcp_agent("misnamed", SHOP, [step("shop_nope"), FINAL]))
    listed = definition(SHOP, tool("t", ToolAnnotations(read_only_hint=True)))

    done = registry.add_mcp_tools(registry.resolve("waits"), (listed,))
    assert registry.resolve("waits") is done
    assert [t.contract.name for t in done.tools] == ["shop_t"]
    assert done.spec.tools == (listed.contract,)
    assert registry.tool("shop_t") is listed

    with pytest.raises(RegistryError) as refused:
        registry.add_mcp_tools(registry.resolve("misnamed"), (listed,))
    assert str(refused.value) == (
        "agent misnamed@1 cannot complete a run: model.scripted.script[0].tool: 'shop_nope' "
        "is not one of its tools (shop_t)"
    )


def test_a_destructive_mcp_tool_needs_someone_to_approve_it() -> None:
    registry = AgentRegistry()
    agent = mcp_agent("unreviewed", SHOP, [FINAL])
    agent = replace(agent, spec=agent.spec.model_copy(update={"reviewers": ()}))
    registry.register(agent)  # its tools, and so its approvals, are not known yet
    with pytest.raises(RegistryError, match="tools shop_t need approval"):
        registry.add_mcp_tools(agent, (definition(SHOP, tool("t")),))


def step(name: str) -> ScriptStep:
    return ScriptStep(tool=name, args={"sku": "A-1"})

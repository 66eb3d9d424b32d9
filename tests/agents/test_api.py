"""``@tool`` and ``Agent``: a typed function becomes a contract, a call becomes an agent.

This module is also an agent module of the session worker (tests/conftest.py): it has no
``register`` function, so loading it registers its module-level ``WEATHER`` agent, which the
end-to-end test runs on the scripted model.
"""

import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, Field
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from agentrun.activities.tools import build_tool_activity
from agentrun.agents import (
    Agent,
    AgentRegistry,
    DeclarationError,
    Message,
    RegistryError,
    ToolContext,
    ToolDefinition,
    tool,
)
from agentrun.agents.refund import REFUND_POLICY_FILE
from agentrun.agents.registry import load_agent_modules
from agentrun.client import AgentRunClient
from agentrun.contracts import RunRequest, RunState
from agentrun.contracts.agents import ReviewMode, ScriptStep
from agentrun.contracts.names import ErrorType
from agentrun.contracts.tools import (
    RequestContext,
    RetentionClass,
    RetrySpec,
    RiskLevel,
    SideEffect,
    ToolInput,
    ToolPolicy,
)


class Forecast(BaseModel):
    city: str
    summary: str


@tool
async def api_forecast(city: str, ctx: ToolContext, days: int = 1) -> Forecast:
    """Today's weather in a city.

    Call it once per city the user names.

    Args:
        city: The city, as the user
            wrote it.
        days: How many days ahead.
    """
    return Forecast(city=city, summary=f"sunny for {days} day(s), asked by {ctx.request.user_id}")


WEATHER = Agent(
    name="api-weather",
    model="openai:gpt-4o-mini",
    tools=[api_forecast],
    instructions="Say what today's weather is in the city the user names.",
    review="never",
    script=[
        ScriptStep(tool="api_forecast", args={"city": "{{input.message}}"}),
        {"final": {"answer": "{{tools.api_forecast.summary}} in {{input.message}}"}},
    ],
)

CONTEXT = RequestContext(
    user_id="u-1",
    tenant_id="t",
    request_id="r",
    run_id="run",
    trace_id="0" * 32,
    timestamp=datetime(2026, 1, 1, tzinfo=UTC),
)


def _ctx(tmp_path: Path) -> ToolContext:
    return ToolContext(CONTEXT, "run/1/0", 1, tmp_path)


def _call(definition: ToolDefinition, params: dict[str, object]) -> ToolInput:
    return ToolInput(
        tool=definition.contract.name, params=params, context=CONTEXT, idempotency_key="run/1/0"
    )


# ------------------------------------------------------------------------ signatures → schemas


def test_the_signature_is_the_params_schema_with_the_docstring_as_descriptions() -> None:
    contract = api_forecast.contract
    assert contract.name == "api_forecast"
    assert (
        contract.description
        == "Today's weather in a city.\n\nCall it once per city the user names."
    )
    assert contract.input_schema == {
        "additionalProperties": False,
        "properties": {
            "city": {
                "description": "The city, as the user wrote it.",
                "title": "City",
                "type": "string",
            },
            "days": {
                "default": 1,
                "description": "How many days ahead.",
                "title": "Days",
                "type": "integer",
            },
        },
        "required": ["city"],
        "title": "ApiForecastParams",
        "type": "object",
    }


@tool
async def api_search(
    ctx: ToolContext,
    query: Annotated[str, Field(min_length=1, description="Words to look for.")],
    limit: int = Field(10, ge=1, le=50),
    *,
    exact: bool = False,
    json: str = "compact",
) -> list[str]:
    """Search the catalogue.

    Args:
        query: Ignored, since the annotation says it.
        limit: At most this many hits.
        json: How to format each hit.

    Returns:
        The hits, best first.
    """
    return [f"{query}:{limit}:{exact}:{json}:{ctx.attempt}"]


def test_annotated_fields_defaults_and_reserved_names_work() -> None:
    properties = api_search.contract.input_schema["properties"]
    assert set(properties) == {"query", "limit", "exact", "json"}  # no ctx, wherever it is
    assert properties["query"]["description"] == "Words to look for."  # the Field wins
    assert properties["query"]["minLength"] == 1
    assert properties["limit"] == {
        "default": 10,
        "description": "At most this many hits.",
        "maximum": 50,
        "minimum": 1,
        "title": "Limit",
        "type": "integer",
    }
    assert properties["exact"]["default"] is False
    assert properties["json"]["description"] == "How to format each hit."
    assert api_search.contract.input_schema["required"] == ["query"]


@pytest.mark.parametrize(
    "doc",
    [
        "Look a city up.\n\n:param city: The city's name.\n",
        "Look a city up.\n\nParameters\n----------\ncity : str\n    The city's name.\n",
        "Look a city up.\n\nArgs:\n    city (str): The city's name.\n",
    ],
    ids=["rest", "numpy", "google"],
)
def test_every_docstring_style_describes_the_params(doc: str) -> None:
    async def lookup(city: str) -> str:
        return city

    lookup.__doc__ = doc
    contract = tool(lookup).contract
    assert contract.description == "Look a city up."
    assert contract.input_schema["properties"]["city"]["description"] == "The city's name."


class Receipt(BaseModel):
    receipt_id: str


async def make_receipt() -> Receipt:
    """Make a receipt."""
    return Receipt(receipt_id="r1")


async def count_things() -> int:
    """Count things.

    Returns:
        How many there are.
    """
    return 3


async def many_forecasts() -> list[Forecast]:
    """Several forecasts."""
    return [Forecast(city="Lyon", summary="sunny")]


async def do_nothing() -> None:
    """Do something, answer nothing."""


def test_a_model_return_is_the_output_and_anything_else_is_wrapped_as_result() -> None:
    assert tool(make_receipt).output_model is Receipt
    count = tool(count_things).contract.output_schema
    assert count["required"] == ["result"]
    assert count["properties"]["result"] == {
        "description": "How many there are.",
        "title": "Result",
        "type": "integer",
    }
    forecasts = tool(many_forecasts).output_model
    assert forecasts.model_validate({"result": [{"city": "Lyon", "summary": "sunny"}]})
    assert tool(do_nothing).output_model.model_validate({"result": None})


# ------------------------------------------------------------------------- options → contract


async def refund(order_id: str, amount: float, ctx: ToolContext) -> Receipt:
    """Refund part of an order."""
    return Receipt(receipt_id=f"{order_id}:{amount}:{ctx.idempotency_key}")


def test_options_become_the_contract() -> None:
    declared = tool(
        name="api_refund",
        side_effect="non_idempotent",
        dedups_on_key=True,
        approval_above={"amount": 100},
        timeout=5,
        total_timeout=timedelta(minutes=1),
        retry=RetrySpec(max_attempts=5),
        fallback=api_forecast,
        risk="high",
        retention="legal_7y",
        untrusted_output=True,
        private_data=True,
        exfiltration=True,
    )(refund)
    assert declared.contract.policy() == ToolPolicy(
        name="api_refund",
        side_effect=SideEffect.NON_IDEMPOTENT,
        accepts_idempotency_key=True,
        approval_above={"amount": 100.0},
        timeout=timedelta(seconds=5),
        total_timeout=timedelta(minutes=1),
        retry=RetrySpec(max_attempts=5),
        fallback="api_forecast",
        risk=RiskLevel.HIGH,
        retention=RetentionClass.LEGAL_7Y,
        untrusted_output=True,
        private_data=True,
        exfiltration=True,
    )
    gated = tool(requires_approval=True, description="Refund, after a person agrees.")(refund)
    assert gated.contract.requires_approval
    assert gated.contract.description == "Refund, after a person agrees."


def test_a_bare_tool_has_the_safe_defaults() -> None:
    assert tool(refund).contract.policy() == ToolPolicy(name="refund")


# ------------------------------------------------------------------------------------ refusals


async def _untyped(city, ctx: ToolContext) -> str:  # type: ignore[no-untyped-def]
    """Untyped."""
    return str(city)


async def _star_args(*cities: str) -> str:
    """Stars."""
    return ""


async def _star_kwargs(**cities: str) -> str:
    """Stars."""
    return ""


async def _no_return(city: str):  # type: ignore[no-untyped-def]
    """No return type."""
    return city


async def _no_doc(city: str) -> str:
    return city


async def _stray_doc(city: str) -> str:
    """Stray.

    Args:
        town: Renamed since.
    """
    return city


async def _private(city: str) -> str:
    """A helper's name, not a tool's."""
    return city


class NotAModel:
    pass


async def _unschemable(thing: NotAModel) -> str:
    """Unschemable."""
    return ""


async def _two_contexts(a: ToolContext, b: ToolContext) -> str:
    """Two."""
    return ""


async def _generator(city: str) -> Any:
    """Generator."""
    yield city


REFUSALS: list[tuple[Callable[..., Any], dict[str, Any], str]] = [
    (_untyped, {}, "tool _untyped: parameter city has no type hint"),
    (_star_args, {}, "tool _star_args: parameter *cities: a tool's parameters must be named"),
    (_star_kwargs, {}, "tool _star_kwargs: parameter **cities: a tool's parameters must be named"),
    (_no_return, {}, "tool _no_return: no return type: annotate it"),
    (_no_doc, {}, "tool _no_doc: no description: give it a docstring"),
    (_stray_doc, {}, "tool _stray_doc: its docstring describes town, which is not one of its"),
    (_unschemable, {}, "tool _unschemable: parameter thing: <class"),
    (_two_contexts, {}, "tool _two_contexts: parameter b: a second ToolContext"),
    (_generator, {}, "tool _generator: a generator cannot be a tool"),
    (refund, {"approval_above": {"amt": 100}}, "tool refund: approval_above names 'amt'"),
    (refund, {"side_effect": "sometimes"}, "tool refund: side_effect 'sometimes' is not one of"),
    (refund, {"name": "Refund"}, "tool refund: name 'Refund' must be lowercase letters, digits"),
    (_untyped, {"name": "x"}, "tool _untyped: parameter city has no type hint"),
    (_private, {}, "tool _private: name '_private' must be lowercase letters, digits and _"),
    (refund, {"name": "r", "fallback": "r"}, "tool refund: Value error, tool 'r' cannot be its"),
]


@pytest.mark.parametrize(
    ("fn", "options", "message"), REFUSALS, ids=[f"{fn.__name__}{o}" for fn, o, _ in REFUSALS]
)
def test_what_cannot_be_a_contract_is_refused_in_one_line(
    fn: Callable[..., Any], options: dict[str, Any], message: str
) -> None:
    with pytest.raises(DeclarationError) as refused:
        tool(**options)(fn)
    assert str(refused.value).startswith(message), str(refused.value)
    assert "\n" not in str(refused.value)


# ------------------------------------------------------------------------- calling the tools


async def test_a_tool_stays_callable_as_the_plain_function(tmp_path: Path) -> None:
    forecast = await api_forecast("Oslo", _ctx(tmp_path), days=2)
    assert forecast == Forecast(city="Oslo", summary="sunny for 2 day(s), asked by u-1")


async def test_the_tool_activity_fills_the_parameters_and_injects_the_context(
    tmp_path: Path,
) -> None:
    env = ActivityEnvironment()
    search = build_tool_activity(api_search, tmp_path)
    out = await env.run(search, _call(api_search, {"query": "q", "exact": True, "json": "j"}))
    assert (out.status, out.data) == ("success", {"result": ["q:10:True:j:1"]})

    refunding = tool(refund)
    out = await env.run(
        build_tool_activity(refunding, tmp_path),
        _call(refunding, {"order_id": "1001", "amount": 5}),
    )
    assert out.data == {"receipt_id": "1001:5.0:run/1/0"}

    with pytest.raises(ApplicationError) as invalid:
        await env.run(search, _call(api_search, {"query": "q", "limit": 99}))
    assert invalid.value.type == ErrorType.INVALID_PARAMS
    assert "params.limit" in str(invalid.value)


def blocking_lookup(city: str) -> str:
    """A blocking call, as a plain def."""
    return f"{city} on {threading.get_ident()}"


async def test_a_plain_def_runs_in_a_thread(tmp_path: Path) -> None:
    blocking = tool(blocking_lookup)
    out = await ActivityEnvironment().run(
        build_tool_activity(blocking, tmp_path), _call(blocking, {"city": "Lyon"})
    )
    city, _, thread = out.data["result"].partition(" on ")
    assert city == "Lyon"
    assert int(thread) != threading.get_ident()


# ---------------------------------------------------------------------------------- agents


def test_an_agent_builds_its_spec_and_definition() -> None:
    spec = WEATHER.spec
    assert (spec.ref.name, spec.ref.version, spec.model.ref) == (
        "api-weather",
        "1",
        "openai:gpt-4o-mini",
    )
    assert spec.system_prompt == "Say what today's weather is in the city the user names."
    assert spec.tools == (api_forecast.contract,)
    assert [step.tool for step in spec.model.scripted.script] == ["api_forecast", None]
    assert (spec.review.mode, spec.review.sample_rate) == (ReviewMode.NEVER, 0.0)
    assert WEATHER.definition.input_model is Message
    assert WEATHER.definition.tools == (api_forecast,)

    audited = Agent(
        name="audited",
        model="anthropic:claude-sonnet-4-5",
        instructions="x",
        reviewers=["alice", "bob"],
        review="low_confidence",
        output_model=Forecast,
        example_input={"message": "Lyon"},
        max_steps=4,
        policies=[REFUND_POLICY_FILE],
    )
    assert audited.spec.reviewers == ("alice", "bob")
    assert (audited.spec.review.mode, audited.spec.max_steps) == (ReviewMode.LOW_CONFIDENCE, 4)
    assert audited.spec.model.scripted.script == ()
    assert audited.definition.output_model is Forecast
    assert [p.policy_id for p in audited.spec.policies] == ["refund-agent"]


def test_registering_an_agent_applies_the_registration_checks() -> None:
    registry = AgentRegistry()
    registry.register(WEATHER)
    assert registry.resolve("api-weather").spec is WEATHER.spec

    nobody = Agent(name="nobody", model="openai:gpt-4o-mini", instructions="x")
    with pytest.raises(RegistryError) as refused:
        AgentRegistry().register(nobody)
    assert str(refused.value).startswith(
        "agent nobody@1 cannot complete a run: reviewers: none, but review.mode is 'always'"
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"tools": [refund]}, "agent a: tools[0]: refund is not a tool; decorate it with @tool"),
        ({"model": "gpt-4o"}, "agent a: model: Value error, 'gpt-4o' is not provider:model"),
        ({"name": "A"}, "agent A: name: String should match pattern"),
        ({"instructions": 3}, "agent a: instructions: Input should be a valid string"),
        (
            {"script": [{"args": {}}]},
            "agent a: script[0]: Value error, a script step is one tool call",
        ),
        ({"review": "sometimes"}, "agent a: review 'sometimes' is not one of always, never"),
        ({"input_model": dict}, "agent a: input_model: <class 'dict'> is not a pydantic model"),
    ],
)
def test_an_agent_that_cannot_be_built_is_refused_in_one_line(
    fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(DeclarationError) as refused:
        Agent(**{"name": "a", "model": "scripted:scripted-1", "instructions": "x", **fields})
    assert str(refused.value).startswith(message), str(refused.value)
    assert "\n" not in str(refused.value)


# ------------------------------------------------------------------------ module-level agents


@pytest.fixture
def module_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.syspath_prepend(str(tmp_path))
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        del sys.modules[name]


AGENT_MODULE = """
from agentrun.agents import Agent, ToolContext, tool


@tool
async def {tool}(text: str, ctx: ToolContext) -> str:
    '''Say the text back.'''
    return text


@tool
def register(user: str) -> str:
    '''Sign a user up: a tool, not the module's register function.'''
    return user


FIRST = Agent(name="{name}", model="scripted:scripted-1", instructions="x", tools=[{tool}],
              review="never")
SECOND = Agent(name="{name}", version="2", model="scripted:scripted-1", instructions="x",
               review="never")
"""


def test_a_module_without_register_has_its_agents_registered(module_dir: Path) -> None:
    first, second, empty = (f"agents_{uuid.uuid4().hex[:8]}" for _ in range(3))
    (module_dir / f"{first}.py").write_text(AGENT_MODULE.format(tool=f"say_{first}", name="said"))
    # Another module re-exporting an Agent does not register it twice.
    (module_dir / f"{second}.py").write_text(
        f"from {first} import FIRST\nfrom agentrun.agents import Agent\n\n"
        'OTHER = Agent(name="other", model="scripted:scripted-1", instructions="x", '
        'reviewers=["alice"])\n'
    )
    (module_dir / f"{empty}.py").write_text("VALUE = 1\n")

    registry = load_agent_modules(AgentRegistry(), [first, second])
    assert registry.agent_names() == ["other", "said"]
    assert registry.versions("said") == ["1", "2"]
    assert registry.resolve("said").spec.version == "1"  # the first defined is the default

    with pytest.raises(RegistryError) as refused:
        load_agent_modules(AgentRegistry(), [empty])
    assert str(refused.value) == (
        f"agent module {empty!r} has no register(registry) function and no Agent at module level"
    )


# -------------------------------------------------------------------------------- end to end


async def test_an_agent_declared_with_the_api_runs_offline_on_the_scripted_model(
    runs: AgentRunClient,
) -> None:
    run_id = await runs.start(
        RunRequest(
            agent="api-weather",
            input={"message": "Lyon"},
            user_id="u-7",
            model="scripted:scripted-1",
        )
    )
    result = await runs.result(run_id)
    assert result.state is RunState.COMPLETED, result.failure
    assert result.output == {"answer": "sunny for 1 day(s), asked by u-7 in Lyon"}
    status = await runs.status(run_id)
    assert status.model == "scripted:scripted-1"
    assert [(call.tool, call.status) for call in status.tool_calls] == [("api_forecast", "success")]

"""PREPARING and the tool wrapper, exercised in Temporal's activity environment."""

from datetime import UTC, datetime
from pathlib import Path

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from agentrun.activities.prepare import PrepareActivities
from agentrun.activities.tools import build_tool_activity
from agentrun.agents.refund import register
from agentrun.agents.registry import AgentRegistry
from agentrun.contracts.names import ErrorType
from agentrun.contracts.prepare import PrepareInput
from agentrun.contracts.runs import MAX_INPUT_BYTES
from agentrun.contracts.tools import RequestContext, ToolErrorDetail, ToolInput
from tests.support.agents import TOOLS


def _registry() -> AgentRegistry:
    registry = AgentRegistry()
    register(registry)
    return registry


async def test_prepare_resolves_and_normalises_input() -> None:
    prepare = PrepareActivities(_registry())
    ok = await ActivityEnvironment().run(
        prepare.prepare_run,
        PrepareInput(
            agent="refund", version=None, input={"order_id": "1001", "reason": "x", "amount": 5}
        ),
    )
    assert ok.plan is not None
    assert ok.plan.version == "2"
    assert ok.input == {"order_id": "1001", "reason": "x", "amount": 5.0}


@pytest.mark.parametrize(
    ("agent", "payload", "field", "fragment"),
    [
        ("refund", {"order_id": "1001", "reason": "x"}, "input.amount", "Field required"),
        ("refund", {"order_id": "1001", "reason": "x", "amount": -1}, "input.amount", "greater"),
        ("refund", {"order_id": "1", "reason": "x", "amount": 1, "extra": 1}, "input.order_id", ""),
        ("refund", {"blob": "x" * (MAX_INPUT_BYTES + 1)}, "input", "the limit is"),
        ("nobody", {}, "agent", "unknown agent 'nobody'"),
    ],
)
async def test_prepare_names_the_bad_field(
    agent: str, payload: dict[str, object], field: str, fragment: str
) -> None:
    prepare = PrepareActivities(_registry())
    result = await ActivityEnvironment().run(
        prepare.prepare_run, PrepareInput(agent=agent, version=None, input=payload)
    )
    assert result.plan is None
    assert result.problem is not None
    assert result.problem.field == field
    assert fragment in result.problem.message


def _call(tool: str, params: dict[str, object]) -> ToolInput:
    context = RequestContext(
        user_id="u",
        tenant_id="t",
        request_id="r",
        run_id="run",
        trace_id="0" * 32,
        timestamp=datetime(2026, 1, 1, tzinfo=UTC),
    )
    return ToolInput(tool=tool, params=params, context=context, idempotency_key="run/1/0")


async def test_tool_wrapper_classifies_bad_params_and_bad_output(tmp_path: Path) -> None:
    env = ActivityEnvironment()
    echo = build_tool_activity(TOOLS["echo"], tmp_path)
    out = await env.run(echo, _call("echo", {"key": "k"}))
    assert (out.status, out.data, out.metadata.attempt) == ("success", {"value": "k"}, 1)

    with pytest.raises(ApplicationError) as bad_params:
        await env.run(echo, _call("echo", {"key": 1, "nope": 2}))
    assert bad_params.value.type == ErrorType.INVALID_PARAMS
    assert bad_params.value.non_retryable

    malformed = build_tool_activity(TOOLS["malformed_read"], tmp_path)
    with pytest.raises(ApplicationError) as violation:
        await env.run(malformed, _call("malformed_read", {"key": "k"}))
    assert violation.value.type == ErrorType.CONTRACT_VIOLATION
    detail = ToolErrorDetail.model_validate(violation.value.details[0])
    assert (detail.field, detail.retryable) == ("data.value", False)

    flaky = build_tool_activity(TOOLS["flaky_read"], tmp_path)
    with pytest.raises(ApplicationError) as unavailable:
        await env.run(flaky, _call("flaky_read", {"key": "k", "fail_times": 1}))
    assert unavailable.value.type == ErrorType.TOOL_UNAVAILABLE
    assert not unavailable.value.non_retryable


def test_registry_refuses_an_agent_without_a_real_input_model() -> None:
    from pydantic import BaseModel

    from agentrun.agents.registry import AgentDefinition, RegistryError
    from agentrun.contracts.agents import AgentSpec

    spec = AgentSpec(name="broken", version="1", system_prompt="x")
    with pytest.raises(RegistryError, match="input_model must be a pydantic model subclass"):
        AgentRegistry().register(AgentDefinition(spec=spec, input_model=BaseModel, tools=()))


async def test_a_broken_log_setup_never_changes_how_a_tool_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo once logged through a factory whose loggers lacked ``.name``: every failed tool
    call then raised AttributeError from its except branch, and an http_503 became a retryable
    AttributeError (an unknown order, a permanent 404, was retried three times)."""
    import structlog
    from structlog.typing import EventDict

    from agentrun.activities import tools as tool_module

    def explode(_logger: object, _method: str, _event: EventDict) -> EventDict:
        raise AttributeError("'PrintLogger' object has no attribute 'name'")

    broken = structlog.wrap_logger(
        structlog.PrintLogger(), processors=[explode], wrapper_class=structlog.stdlib.BoundLogger
    )
    monkeypatch.setattr(tool_module, "log", broken)
    env = ActivityEnvironment()

    flaky = build_tool_activity(TOOLS["flaky_read"], tmp_path)
    with pytest.raises(ApplicationError) as unavailable:
        await env.run(flaky, _call("flaky_read", {"key": "k", "fail_times": 1}))
    detail = ToolErrorDetail.model_validate(unavailable.value.details[0])
    assert (unavailable.value.type, detail.error_class) == (ErrorType.TOOL_UNAVAILABLE, "http_503")

    strict = build_tool_activity(TOOLS["strict_read"], tmp_path)
    with pytest.raises(ApplicationError) as rejected:
        await env.run(strict, _call("strict_read", {"key": "k"}))
    assert rejected.value.type == ErrorType.TOOL_REJECTED
    assert rejected.value.non_retryable

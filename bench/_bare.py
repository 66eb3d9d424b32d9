"""The baseline: the refund task as a minimal hand-written Temporal agent with no platform.

It runs the same 11 activities as an agentrun run of the refund agent (6 model turns around 5 tool
calls), calls the very same tool functions with the same arguments on the same database and returns
the same tool results, so that whatever agentrun costs beyond it is the platform itself: the
lifecycle bookkeeping, the envelopes and the contract checks.
"""

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio import activity, workflow

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel

    from agentrun.activities.providers.scripted import render
    from agentrun.agents.refund import REFUND_SCRIPT
    from agentrun.agents.refund import tools as refund_tools
    from agentrun.agents.registry import ToolContext
    from agentrun.contracts.tools import RequestContext

BARE_WORKFLOW = "BareRefund"
BARE_TASK_QUEUE = "bench-bare"
MODEL_ACTIVITY = "bare.model"
TOOL_ORDER = (
    refund_tools.LOOKUP_ORDER,
    refund_tools.GET_SHIPPING_STATUS,
    refund_tools.ISSUE_REFUND,
    refund_tools.SEND_EMAIL,
    refund_tools.ADD_ORDER_NOTE,
)
ACTIVITY_TIMEOUT = timedelta(seconds=30)

_TOOL_FUNCTIONS: dict[str, tuple[Callable[[Any, ToolContext], Awaitable[BaseModel]], type[Any]]] = {
    refund_tools.LOOKUP_ORDER: (refund_tools.lookup_order, refund_tools.OrderRef),
    refund_tools.GET_SHIPPING_STATUS: (refund_tools.get_shipping_status, refund_tools.OrderRef),
    refund_tools.ISSUE_REFUND: (refund_tools.issue_refund, refund_tools.RefundParams),
    refund_tools.SEND_EMAIL: (refund_tools.send_email, refund_tools.EmailParams),
    refund_tools.ADD_ORDER_NOTE: (refund_tools.add_order_note, refund_tools.NoteParams),
}


def tool_activity_name(tool: str) -> str:
    return f"bare.{tool}"


@workflow.defn(name=BARE_WORKFLOW)
class BareRefund:
    """Model, tool, model, tool, ... model: the loop every agent framework reduces to."""

    @workflow.run
    async def run(self, run_input: dict[str, Any]) -> dict[str, Any]:
        turn: dict[str, Any] = {"step": 0, "input": run_input}
        for step, tool in enumerate(TOOL_ORDER):
            args: dict[str, Any] = await workflow.execute_activity(
                MODEL_ACTIVITY, turn, start_to_close_timeout=ACTIVITY_TIMEOUT
            )
            result: dict[str, Any] = await workflow.execute_activity(
                tool_activity_name(tool), args, start_to_close_timeout=ACTIVITY_TIMEOUT
            )
            turn = {"step": step + 1, "result": result}
        final: dict[str, Any] = await workflow.execute_activity(
            MODEL_ACTIVITY, turn, start_to_close_timeout=ACTIVITY_TIMEOUT
        )
        return final


class BareActivities:
    """The hand-written agent's side: a "model" that plays the refund script and the five tools.

    The model keeps what it has seen in process memory, as a hand-written agent would keep its
    conversation, so that only the previous tool's result travels through history, just as only
    new messages travel through history in agentrun.
    """

    def __init__(self, data_dir: Path) -> None:
        self._data_dir = data_dir
        self._seen: dict[str, dict[str, Any]] = {}

    @activity.defn(name=MODEL_ACTIVITY)
    async def model(self, turn: dict[str, Any]) -> dict[str, Any]:
        run_id = activity.info().workflow_id or ""
        step: int = turn["step"]
        if step == 0:
            self._seen[run_id] = {"input": turn["input"], "tools": {}}
        scope = self._seen[run_id]
        if step > 0:
            scope["tools"][TOOL_ORDER[step - 1]] = turn["result"]
        script_step = REFUND_SCRIPT[step]
        if script_step.final is not None:
            del self._seen[run_id]
            final: dict[str, Any] = render(script_step.final, scope)
            return final
        args: dict[str, Any] = render(script_step.args, scope)
        return args

    def tool_activities(self) -> list[Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]]:
        return [self._tool_activity(tool) for tool in TOOL_ORDER]

    def _tool_activity(self, tool: str) -> Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]:
        fn, params_model = _TOOL_FUNCTIONS[tool]

        @activity.defn(name=tool_activity_name(tool))
        async def run_tool(args: dict[str, Any]) -> dict[str, Any]:
            info = activity.info()
            run_id = info.workflow_id or ""
            context = RequestContext(
                user_id="anonymous",
                tenant_id="default",
                request_id=run_id,
                run_id=run_id,
                trace_id=info.workflow_run_id or "",
                timestamp=datetime.now(UTC),
            )
            step = TOOL_ORDER.index(tool) + 1
            key = f"{run_id}/{step}/0"
            ctx = ToolContext(context, key, info.attempt, self._data_dir)
            output = await fn(params_model.model_validate(args), ctx)
            return output.model_dump(mode="json")

        return run_tool

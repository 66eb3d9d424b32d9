"""Binds run id, tenant, agent and trace id to every log line an activity writes.

An interceptor rather than code in each activity: tools written by users get the same context
without doing anything.
"""

from collections import OrderedDict
from threading import Lock
from typing import Any

import structlog
from temporalio import activity
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

from agentrun.contracts.model import ModelCallInput
from agentrun.contracts.prepare import PrepareInput
from agentrun.contracts.tools import ToolInput

_RUN_FIELDS = ("agent", "tenant_id", "trace_id")
_MAX_RUNS = 10_000
_runs: OrderedDict[str, dict[str, str]] = OrderedDict()
_runs_lock = Lock()


def remember_run(run_id: str, fields: dict[str, str]) -> None:
    """Keep a run's ids so lines the SDK logs outside our scope can be completed."""
    known = {k: v for k, v in fields.items() if k in _RUN_FIELDS and v}
    if not known:
        return
    with _runs_lock:
        _runs[run_id] = {**_runs.pop(run_id, {}), **known}
        while len(_runs) > _MAX_RUNS:
            _runs.popitem(last=False)


def run_fields(run_id: str) -> dict[str, str]:
    with _runs_lock:
        return dict(_runs.get(run_id, {}))


def _context_of(arg: object) -> dict[str, str]:
    if isinstance(arg, ToolInput):
        ctx = arg.context
        return {
            "run_id": ctx.run_id,
            "tenant_id": ctx.tenant_id,
            "agent": ctx.agent,
            "trace_id": ctx.trace_id,
            "tool": arg.tool,
        }
    if isinstance(arg, ModelCallInput):
        return {"run_id": arg.run_id, "agent": arg.agent.name, "agent_version": arg.agent.version}
    if isinstance(arg, PrepareInput):
        return {"agent": arg.agent}
    return {}


class _Inbound(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:  # noqa: A002 -- SDK name
        info = activity.info()
        run_id = info.workflow_id or ""  # None only for activities started outside a workflow
        fields = {"run_id": run_id, "activity": info.activity_type}
        if input.args:
            fields |= _context_of(input.args[0])
        remember_run(run_id, fields)
        fields = {**run_fields(run_id), **fields}
        with structlog.contextvars.bound_contextvars(**fields, attempt=info.attempt):
            return await super().execute_activity(input)


class LogContextInterceptor(Interceptor):
    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:  # noqa: A002
        return _Inbound(next)

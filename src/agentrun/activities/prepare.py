"""PREPARING: resolve the agent version and validate the input against the agent's schema.

Runs as a local activity: one marker event in history holding the run plan (the policies the
workflow acts on); prompts, tool schemas and the model script stay on the worker.
"""

import asyncio
import json
from collections.abc import Callable, Collection
from datetime import UTC, datetime, timedelta

from pydantic import ValidationError
from sqlalchemy import func
from sqlmodel import Session, col, select
from temporalio import activity

from agentrun.activities.errors import first_problem
from agentrun.activities.record import RunRecorder
from agentrun.agents.registry import AgentRegistry, RegistryError
from agentrun.contracts.agents import split_model
from agentrun.contracts.names import ACTIVITY_PREPARE_RUN
from agentrun.contracts.prepare import InputProblem, PrepareInput, PrepareResult
from agentrun.contracts.runs import MAX_INPUT_BYTES
from agentrun.logic.policy import PolicyEngine
from agentrun.store.models import RunRow


class PrepareActivities:
    def __init__(
        self,
        registry: AgentRegistry,
        recorder: RunRecorder | None = None,
        sessions: Callable[[], Session] | None = None,
        grant_keys: dict[str, str] | None = None,
        providers: Collection[str] = ("scripted",),
    ) -> None:
        self._registry = registry
        self._recorder = recorder
        self._sessions = sessions
        self._grant_keys = grant_keys
        self._providers = providers

    @activity.defn(name=ACTIVITY_PREPARE_RUN)
    async def prepare_run(self, request: PrepareInput) -> PrepareResult:
        if self._recorder is not None and request.status is not None:
            # A bounded wait: with the store down the row stays queued and the run goes on
            # (Temporal is the source of truth), rather than failing PREPARING's deadline.
            await self._recorder.write_run(request.status)
        result = self._resolve(request)
        recording = self._recorder is not None
        update: dict[str, object] = {"record": recording, "record_in_worker": recording}
        if self._grant_keys is not None:
            update["grant_keys"] = self._grant_keys
        if result.plan is not None and result.plan.policies and request.status is not None:
            window = PolicyEngine.compile(result.plan.policies).rate_limit_window
            if window is not None:
                update["tenant_runs_in_window"] = await asyncio.to_thread(
                    self._tenant_runs, request.status.tenant_id, request.status.run_id, window
                )
        return result.model_copy(update=update)

    def _tenant_runs(self, tenant_id: str, run_id: str, window: timedelta) -> int | None:
        """Runs the tenant started in the window before this one; None without a store (the
        rate-limit rule then cannot be evaluated, and the engine denies: fail closed)."""
        if self._sessions is None:
            return None
        since = datetime.now(UTC) - window
        with self._sessions() as session:
            return session.exec(
                select(func.count())
                .select_from(RunRow)
                .where(col(RunRow.tenant_id) == tenant_id)
                .where(col(RunRow.started_at) >= since)
                .where(col(RunRow.run_id) != run_id)
            ).one()

    def _resolve(self, request: PrepareInput) -> PrepareResult:
        try:
            definition = self._registry.resolve(request.agent, request.version)
        except RegistryError as err:
            field = "agent" if request.agent not in self._registry.agent_names() else "version"
            return PrepareResult(problem=InputProblem(field=field, message=str(err)))
        size = len(json.dumps(request.input, default=str).encode())
        if size > MAX_INPUT_BYTES:
            return PrepareResult(
                problem=InputProblem(
                    field="input", message=f"input is {size} bytes; the limit is {MAX_INPUT_BYTES}"
                )
            )
        try:
            validated = definition.input_model.model_validate(request.input)
        except ValidationError as err:
            field, msg = first_problem(err, "input")
            return PrepareResult(problem=InputProblem(field=field, message=f"{field}: {msg}"))
        plan = definition.spec.plan()
        if request.model is not None:
            provider, model = split_model(request.model)
            plan = plan.model_copy(update={"provider": provider, "model": model})
        if plan.provider not in self._providers:
            served = ", ".join(sorted(self._providers))
            return PrepareResult(
                problem=InputProblem(
                    field="model",
                    message=f"model: provider {plan.provider!r} is not served by this worker "
                    f"(it serves {served}; a provider needs its API key, e.g. OPENAI_API_KEY)",
                )
            )
        return PrepareResult(plan=plan, input=validated.model_dump(mode="json"))

"""PREPARING: resolve the agent version and validate the input against the agent's schema.

Runs as a local activity: one marker event in history holding the run plan (the policies the
workflow acts on); prompts, tool schemas and the model script stay on the worker.
"""

import json

from pydantic import ValidationError
from temporalio import activity

from agentrun.activities.errors import first_problem
from agentrun.activities.record import RunRecorder
from agentrun.agents.registry import AgentRegistry, RegistryError
from agentrun.contracts.names import ACTIVITY_PREPARE_RUN
from agentrun.contracts.prepare import InputProblem, PrepareInput, PrepareResult
from agentrun.contracts.runs import MAX_INPUT_BYTES


class PrepareActivities:
    def __init__(self, registry: AgentRegistry, recorder: RunRecorder | None = None) -> None:
        self._registry = registry
        self._recorder = recorder

    @activity.defn(name=ACTIVITY_PREPARE_RUN)
    async def prepare_run(self, request: PrepareInput) -> PrepareResult:
        if self._recorder is not None and request.status is not None:
            await self._recorder.write_status(request.status)
        result = self._resolve(request)
        recording = self._recorder is not None
        return result.model_copy(update={"record": recording, "record_in_worker": recording})

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
        return PrepareResult(plan=definition.spec.plan(), input=validated.model_dump(mode="json"))

"""The agent catalog, as the workflow's update validator sees it.

A reviewer's ``edit`` replaces a gated tool's arguments or the run's final output. Checked only
when used, a bad edit was accepted and then failed the run later with a confusing error; the
update validator is where it must be refused, naming the field. The schemas that say what is
valid are pydantic models on the worker (the tool's params model, the agent's output model),
which the workflow sandbox does not hold, so the worker lends it this check as an extern
function, as it lends the record hand-over (``record_interceptor``). Validators never run on
replay, so the check cannot make a run nondeterministic.
"""

from typing import Any

from pydantic import BaseModel, ValidationError
from temporalio.worker import Interceptor, WorkflowInboundInterceptor, WorkflowInterceptorClassInput

from agentrun.agents.registry import AgentRegistry, RegistryError
from agentrun.contracts.names import EXTERN_CHECK_EDIT
from agentrun.contracts.review import GateKind


class CatalogInterceptor(Interceptor):
    def __init__(self, registry: AgentRegistry) -> None:
        self._registry = registry

    def workflow_interceptor_class(
        self, class_input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor] | None:
        class_input.unsafe_extern_functions[EXTERN_CHECK_EDIT] = self.check_edit
        return None

    def check_edit(
        self, agent: str, version: str, kind: str, tool: str | None, output: dict[str, Any]
    ) -> str | None:
        """Why this edit cannot replace what it replaces, or None when it can (or when nothing
        says what it must be: an agent without an output model, a budget or policy gate)."""
        try:
            definition = self._registry.resolve(agent, version)
        except RegistryError:
            return None  # this worker cannot judge; a tool still validates its params when called
        model: type[BaseModel] | None = None
        what = ""
        if kind == GateKind.TOOL_APPROVAL and tool is not None:
            match = next((t for t in definition.tools if t.contract.name == tool), None)
            model, what = (match.params_model, f"the arguments of {tool}") if match else (None, "")
        elif kind == GateKind.FINAL:
            model, what = definition.output_model, f"the output of {definition.spec.ref}"
        if model is None:
            return None
        try:
            model.model_validate(output)
        except ValidationError as err:
            problem = err.errors(include_url=False)[0]
            path = ".".join(str(part) for part in problem["loc"])
            where = f"output.{path}" if path else "output"
            return f"{where}: {problem['msg']} (the edit replaces {what})"
        return None

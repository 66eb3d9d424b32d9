"""PREPARING: resolve the agent version, validate the input against the agent's schema and label
what it brings in (private data, outside content).

Runs as a local activity: one marker event in history holding the run plan (the policies the
workflow acts on); prompts, tool schemas and the model script stay on the worker.

A run id runs once. A client that allows duplicate workflow ids can start a second execution
under a finished run's id, and copy that run's grants out of its history: such an execution is
refused here, before it writes a row or calls a tool. The store says which execution owns the
id; while the store cannot be read, Temporal's visibility does.
"""

import asyncio
import json
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from pydantic import ValidationError
from sqlalchemy import func
from sqlmodel import Session, col, select
from temporalio import activity
from temporalio.client import Client
from temporalio.service import RPCError

from agentrun.activities.errors import first_problem
from agentrun.activities.record import RunRecorder
from agentrun.activities.routing import Router
from agentrun.agents.registry import AgentRegistry, RegistryError
from agentrun.contracts.agents import RunPlan
from agentrun.contracts.model_ref import split_model
from agentrun.contracts.names import ACTIVITY_PREPARE_RUN
from agentrun.contracts.policy import ArgConstraintRule, PolicyDocument, ToolAllowlistRule
from agentrun.contracts.prepare import GUARD_VERSION, InputProblem, PrepareInput, PrepareResult
from agentrun.contracts.rollout import Routed
from agentrun.contracts.runs import MAX_INPUT_BYTES
from agentrun.contracts.states import TERMINAL_STATES, FailureCategory
from agentrun.logic.input_trust import label_input
from agentrun.logic.policy import PolicyEngine
from agentrun.store.health import unreadable
from agentrun.store.models import RunRow

_FINISHED = frozenset(state.value for state in TERMINAL_STATES)
# A locked store makes a read wait for its busy timeout: PREPARING asks Temporal instead, well
# inside its deadline (the read goes on in its thread and is dropped).
OWNER_READ_S = 2.0


class PrepareActivities:
    def __init__(
        self,
        registry: AgentRegistry,
        recorder: RunRecorder | None = None,
        sessions: Callable[[], Session] | None = None,
        *,
        grant_keys: dict[str, str] | None = None,
        providers: Collection[str] = ("scripted",),
        client: Client | None = None,
        router: Router | None = None,
        continue_as_new_after_events: int | None = None,
    ) -> None:
        self._registry = registry
        self._continue_after = continue_as_new_after_events
        self._recorder = recorder
        self._sessions = sessions
        self._grant_keys = grant_keys
        self._providers = providers
        self._client = client
        self._router = router
        # Its own threads: reads stuck on a locked store must not hold the shared pool that
        # tools' blocking calls use.
        self._reads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="prepare-owner")

    @activity.defn(name=ACTIVITY_PREPARE_RUN)
    async def prepare_run(self, request: PrepareInput) -> PrepareResult:
        if request.status is not None and request.execution_id is not None:
            owner = await self.owner(request.status.run_id, request.execution_id)
            if owner is not None:
                # Nothing of this execution is recorded: the record is the first execution's.
                activity.logger.warning("second execution of run refused: %s", owner)
                return PrepareResult(
                    problem=InputProblem(
                        field="run_id", message=owner, category=FailureCategory.POLICY_DENIED
                    )
                )
        if self._recorder is not None and request.status is not None:
            # A bounded wait: with the store down the row stays queued and the run goes on
            # (Temporal is the source of truth), rather than failing PREPARING's deadline.
            await self._recorder.write_run(request.status)
        request, routed = await self._routed(request)
        result = self._resolve(request)
        recording = self._recorder is not None
        update: dict[str, object] = {
            "record": recording,
            "record_in_worker": recording,
            "version_reason": routed.reason,
            "shadow": routed.shadow if result.plan is not None else None,
            "continue_as_new": True,
            "continue_as_new_after_events": self._continue_after,
        }
        if self._grant_keys is not None:
            update["grant_keys"] = self._grant_keys
        if result.plan is not None and result.plan.policies and request.status is not None:
            window = PolicyEngine.compile(result.plan.policies).rate_limit_window
            if window is not None:
                update["tenant_runs_in_window"] = await asyncio.to_thread(
                    self._tenant_runs, request.status.tenant_id, request.status.run_id, window
                )
        return result.model_copy(update=update)

    async def _routed(self, request: PrepareInput) -> tuple[PrepareInput, Routed]:
        """The version an unpinned run gets from a rollout in progress, and why it got it."""
        if request.version is not None:
            return request, Routed(version=request.version, reason="pinned")
        routed = None
        if self._router is not None and request.status is not None:
            routed = await self._router.route(request.agent, request.status.request_id)
        if routed is None:
            return request, Routed(reason="default")
        return request.model_copy(update={"version": routed.version}), routed

    async def owner(self, run_id: str, execution_id: str) -> str | None:
        """Why another execution owns ``run_id``, or None when this one may run."""
        if self._sessions is not None:
            try:
                read = asyncio.get_running_loop().run_in_executor(
                    self._reads, self._stored_owner, run_id, execution_id
                )
                return await asyncio.wait_for(read, OWNER_READ_S)
            except Exception as err:
                if not (isinstance(err, TimeoutError) or unreadable(err)):
                    raise
                # The store is down or locked: Temporal still knows the executions it kept.
                activity.logger.info("run store unreadable, asking Temporal: %r", err)
        if self._client is None:
            return None
        try:
            return await self._visible_owner(self._client, run_id, execution_id)
        except RPCError as err:
            activity.logger.warning("cannot check %s for earlier executions: %s", run_id, err)
            return None

    def _stored_owner(self, run_id: str, execution_id: str) -> str | None:
        assert self._sessions is not None  # noqa: S101 -- checked by the caller
        with self._sessions() as session:
            row = session.get(RunRow, run_id)
        if row is None or row.execution_id == execution_id:
            return None
        if row.execution_id is None and row.state not in _FINISHED:
            return None  # recorded before executions were: this very run, still going
        return _refusal(run_id, row.execution_id, row.state)

    @staticmethod
    async def _visible_owner(client: Client, run_id: str, execution_id: str) -> str | None:
        query = f"WorkflowId = {_quoted(run_id)} AND RunId != {_quoted(execution_id)}"
        async for other in client.list_workflows(query, limit=1):
            return _refusal(run_id, other.run_id, other.status.name if other.status else None)
        return None

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
        if request.parent is not None:
            try:
                parent = self._registry.resolve(request.parent.agent, request.parent.version)
            except RegistryError as err:
                return PrepareResult(problem=InputProblem(field="parent", message=str(err)))
            plan = plan.model_copy(
                update={
                    "policies": plan.policies
                    + inherited(parent.spec.policies, parent.spec.name, plan)
                }
            )
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
        return PrepareResult(
            plan=plan,
            input=validated.model_dump(mode="json"),
            input_trust=label_input(validated),
            guard_version=GUARD_VERSION,
        )


def inherited(
    documents: tuple[PolicyDocument, ...], parent: str, plan: RunPlan
) -> tuple[PolicyDocument, ...]:
    """The parent's policies as they bind a child: each document that bound the parent, now
    for the child, with every rule except those naming the parent's own tools (an allow-list of
    them governs whether the parent may call the child at all; an argument constraint on a tool
    the child lacks has nothing to constrain). A document the child has too is its own already."""
    own = {document.policy_id for document in plan.policies}
    tools = {tool.name for tool in plan.tools}
    kept = []
    for document in documents:
        agents = document.applies_to.agents
        if document.policy_id in own or (agents and parent not in agents):
            continue
        rules = tuple(
            rule
            for rule in document.rules
            if not isinstance(rule, ToolAllowlistRule)
            and not (isinstance(rule, ArgConstraintRule) and rule.tool not in tools)
        )
        scope = document.applies_to.model_copy(update={"agents": ()})
        kept.append(document.model_copy(update={"rules": rules, "applies_to": scope}))
    return tuple(kept)


def _refusal(run_id: str, owner: str | None, state: str | None) -> str:
    held = f"execution {owner}" if owner else "an earlier execution"
    return (
        f"run id {run_id!r} already ran ({held}, {state or 'unknown state'}); a run id runs "
        "once, and its grants with it: start a new run"
    )


def _quoted(value: str) -> str:
    """A visibility-query string literal: Temporal's list filter escapes with a backslash."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"

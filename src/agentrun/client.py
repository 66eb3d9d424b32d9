"""The typed client for services: start runs, read status and results, review, cancel, list.

Every error a caller can cause (unknown run, refused review, bad filter) is an
:class:`AgentRunError` with a one-line message; Temporal's exception types stay inside.
"""

import contextlib
import uuid
from collections.abc import Sequence

from opentelemetry.trace import Tracer
from pydantic_core import PydanticSerializationError, to_json
from temporalio.client import (
    Client,
    Interceptor,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.converter import DataConverter
from temporalio.exceptions import (
    ApplicationError,
    CancelledError,
    FailureError,
    WorkflowAlreadyStartedError,
)
from temporalio.runtime import Runtime
from temporalio.service import RPCError, RPCStatusCode

from agentrun.contracts.names import (
    AGENT_RUN_WORKFLOW,
    QUERY_STATUS,
    SA_AGENT_NAME,
    SA_AGENT_STATE,
    SA_AGENT_VERSION,
    SA_TENANT_ID,
    SIGNAL_REVIEW,
    TASK_QUEUE,
    UPDATE_SUBMIT_REVIEW,
)
from agentrun.contracts.review import MAX_EDIT_BYTES, ReviewAck, ReviewDecision
from agentrun.contracts.runs import (
    MAX_INPUT_BYTES,
    Failure,
    RunRequest,
    RunResult,
    RunStatus,
    RunSummary,
)
from agentrun.contracts.states import FailureCategory, RunState
from agentrun.converter import DATA_CONVERTER
from agentrun.errors import UserError
from agentrun.observability.tracing import invoke_agent_span


class AgentRunError(UserError):
    """A caller-facing error: the message is one line that says what is wrong."""


async def connect(
    address: str,
    namespace: str = "default",
    *,
    interceptors: Sequence[Interceptor] = (),
    runtime: Runtime | None = None,
    data_converter: DataConverter = DATA_CONVERTER,
) -> Client:
    """A client on our converter; workers add tracing interceptors and a metrics runtime.

    Pass ``agentrun.converter.data_converter(settings)`` where payloads may be encrypted.
    """
    try:
        return await Client.connect(
            address,
            namespace=namespace,
            data_converter=data_converter,
            interceptors=interceptors,
            runtime=runtime,
        )
    except RuntimeError as err:
        raise AgentRunError(f"cannot reach Temporal at {address}: {err}") from None


def _one_line(err: BaseException) -> str:
    text = err.message if isinstance(err, FailureError) else str(err)
    return " ".join(text.split()) or type(err).__name__


class AgentRunClient:
    def __init__(self, client: Client, task_queue: str = TASK_QUEUE) -> None:
        self.temporal = client
        self._task_queue = task_queue

    @classmethod
    async def connect(
        cls,
        address: str,
        namespace: str = "default",
        task_queue: str = TASK_QUEUE,
        *,
        interceptors: Sequence[Interceptor] = (),
        data_converter: DataConverter = DATA_CONVERTER,
    ) -> "AgentRunClient":
        """With a TracingInterceptor, the runs it starts are traced from the caller's span."""
        temporal = await connect(
            address, namespace, interceptors=interceptors, data_converter=data_converter
        )
        return cls(temporal, task_queue)

    async def start(self, request: RunRequest) -> str:
        """Start a run and return its id; the same ``request_id`` never starts a second run."""
        request_id = request.request_id or f"run-{uuid.uuid4().hex}"
        request = request.model_copy(update={"request_id": request_id})
        tracer = self._tracer()
        span = (
            invoke_agent_span(tracer, agent=request.agent, run_id=request_id)
            if tracer is not None
            else contextlib.nullcontext()
        )
        try:
            with span:
                await self._start(request, request_id)
        except WorkflowAlreadyStartedError:
            pass  # the same request_id already ran: idempotent start, same run
        except PydanticSerializationError as err:
            where = _unencodable_field(request)
            raise AgentRunError(f"cannot start run: {where}: not JSON ({_one_line(err)})") from None
        except RPCError as err:
            raise AgentRunError(f"cannot start run: {_one_line(err)}{_oversize(request)}") from None
        return request_id

    def _tracer(self) -> Tracer | None:
        """The tracer of this client's TracingInterceptor: no interceptor, no agent span."""
        for interceptor in self.temporal.config()["interceptors"]:
            if isinstance(interceptor, TracingInterceptor):
                return interceptor.tracer
        return None

    async def _start(self, request: RunRequest, request_id: str) -> None:
        await self.temporal.start_workflow(
            AGENT_RUN_WORKFLOW,
            request,
            id=request_id,
            task_queue=self._task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(SA_AGENT_STATE, RunState.INIT.value),
                    SearchAttributePair(SA_AGENT_NAME, request.agent),
                    SearchAttributePair(SA_TENANT_ID, request.tenant_id),
                ]
            ),
            static_summary=f"{request.agent} run for tenant {request.tenant_id}",
        )

    def _handle(self, run_id: str) -> WorkflowHandle[object, RunResult]:
        return self.temporal.get_workflow_handle(run_id, result_type=RunResult)

    async def status(self, run_id: str) -> RunStatus:
        try:
            status: RunStatus = await self._handle(run_id).query(
                QUERY_STATUS, result_type=RunStatus
            )
        except RPCError as err:
            raise AgentRunError(self._rpc_message(run_id, err)) from None
        return status

    async def result(self, run_id: str) -> RunResult:
        """Wait for the run to end; FAILED and CANCELLED runs are results too, not exceptions."""
        try:
            return await self._handle(run_id).result()
        except WorkflowFailureError as err:
            cause = err.cause
            if isinstance(cause, ApplicationError) and cause.details:
                try:
                    return RunResult.model_validate(cause.details[0])
                except ValueError:
                    pass
            if isinstance(cause, CancelledError):
                return RunResult(
                    run_id=run_id,
                    state=RunState.CANCELLED,
                    failure=Failure(category=FailureCategory.CANCELLED, message="cancelled"),
                )
            return RunResult(
                run_id=run_id,
                state=RunState.FAILED,
                failure=Failure(category=FailureCategory.INTERNAL, message=_one_line(cause or err)),
            )
        except RPCError as err:
            raise AgentRunError(self._rpc_message(run_id, err)) from None

    async def review(self, run_id: str, decision: ReviewDecision) -> ReviewAck:
        """Send a decision as a validated update; a refused decision raises AgentRunError."""
        _check_edit(decision)
        try:
            ack: ReviewAck = await self._handle(run_id).execute_update(
                UPDATE_SUBMIT_REVIEW, decision, result_type=ReviewAck
            )
        except WorkflowUpdateFailedError as err:
            raise AgentRunError(f"review refused: {_one_line(err.cause or err)}") from None
        except RPCError as err:
            raise AgentRunError(self._rpc_message(run_id, err)) from None
        return ack

    async def signal_review(self, run_id: str, decision: ReviewDecision) -> None:
        """Fire-and-forget variant; refusals are recorded in the run's status, not returned."""
        _check_edit(decision)
        try:
            await self._handle(run_id).signal(SIGNAL_REVIEW, decision)
        except RPCError as err:
            raise AgentRunError(self._rpc_message(run_id, err)) from None

    async def cancel(self, run_id: str) -> None:
        try:
            await self._handle(run_id).cancel()
        except RPCError as err:
            raise AgentRunError(self._rpc_message(run_id, err)) from None

    async def list_runs(
        self,
        *,
        states: Sequence[RunState] = (),
        agent: str | None = None,
        tenant_id: str | None = None,
        limit: int = 50,
    ) -> list[RunSummary]:
        query = runs_query(states=states, agent=agent, tenant_id=tenant_id)
        rows: list[RunSummary] = []
        try:
            async for execution in self.temporal.list_workflows(query, limit=limit):
                attrs = execution.typed_search_attributes
                rows.append(
                    RunSummary(
                        run_id=execution.id,
                        agent=attrs.get(SA_AGENT_NAME),
                        version=attrs.get(SA_AGENT_VERSION),
                        state=attrs.get(SA_AGENT_STATE),
                        tenant_id=attrs.get(SA_TENANT_ID),
                        execution_status=(execution.status or WorkflowExecutionStatus.RUNNING).name,
                        started_at=execution.start_time,
                        closed_at=execution.close_time,
                    )
                )
        except RPCError as err:
            raise AgentRunError(f"cannot list runs: {_one_line(err)}") from None
        return rows

    @staticmethod
    def _rpc_message(run_id: str, err: RPCError) -> str:
        if err.status == RPCStatusCode.NOT_FOUND:
            return f"no run with id {run_id!r}"
        return f"run {run_id}: {_one_line(err)}"


def _unencodable_field(request: RunRequest) -> str:
    """The first field (``input.<key>`` inside the input) that JSON cannot carry: a lone
    surrogate, an object that is not data, nesting too deep. ``request`` when none alone is."""
    for name, value in request:
        parts = value.items() if name == "input" else [(None, value)]
        for key, part in parts:
            try:
                to_json(part)
            except PydanticSerializationError:
                return name if key is None else f"{name}.{key}"
    return "request"


def _check_edit(decision: ReviewDecision) -> None:
    """The run refuses these too; checked here first because an update within a few KB of
    Temporal's 2 MB limit cannot even be refused cleanly (the refusal quotes it)."""
    if decision.output is None:
        return
    try:
        size = len(to_json(decision.output))
    except PydanticSerializationError as err:
        raise AgentRunError(f"review refused: output: not JSON ({_one_line(err)})") from None
    if size > MAX_EDIT_BYTES:
        raise AgentRunError(
            f"review refused: output is {size} bytes as JSON; the limit is {MAX_EDIT_BYTES}"
        )


def _oversize(request: RunRequest) -> str:
    """On a refused start, whether the input alone is over agentrun's own limit: Temporal's
    refusal of a too-large payload does not say which field made it so."""
    size = len(to_json(request.input))
    return (
        f" (input is {size} bytes; the limit is {MAX_INPUT_BYTES})"
        if size > MAX_INPUT_BYTES
        else ""
    )


def _quote(value: str) -> str:
    if "'" in value or "\\" in value:
        raise AgentRunError(f"invalid filter value {value!r}")
    return f"'{value}'"


def runs_query(
    *, states: Sequence[RunState] = (), agent: str | None = None, tenant_id: str | None = None
) -> str:
    """A visibility query over our search attributes; values are validated, never spliced raw."""
    parts = [f"WorkflowType = {_quote(AGENT_RUN_WORKFLOW)}"]
    if states:
        parts.append(
            f"{SA_AGENT_STATE.name} IN ({', '.join(_quote(RunState(s).value) for s in states)})"
        )
    if agent:
        parts.append(f"{SA_AGENT_NAME.name} = {_quote(agent)}")
    if tenant_id:
        parts.append(f"{SA_TENANT_ID.name} = {_quote(tenant_id)}")
    return " AND ".join(parts)

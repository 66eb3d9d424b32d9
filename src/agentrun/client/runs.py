"""``AgentRunClient``: a run's life as a service sees it, over Temporal's client.

Starting is idempotent on the request id and refuses its reuse for another request (the memo,
``client.metadata``); every Temporal error becomes a one-line ``AgentRunError``
(``client.errors``).
"""

import contextlib
import uuid
from collections.abc import AsyncIterator, Sequence

from opentelemetry.trace import Tracer
from pydantic_core import PydanticSerializationError
from temporalio.client import (
    Client,
    Interceptor,
    RPCTimeoutOrCancelledError,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowQueryFailedError,
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
from temporalio.exceptions import TemporalError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from agentrun.client import watch as watching
from agentrun.client.connection import connect
from agentrun.client.errors import (
    AgentRunError,
    IdempotencyConflict,
    RunClosed,
    RunNotFound,
    check_edit,
    closed_message,
    oversize,
    result_of_failure,
    shorten,
    unencodable_field,
)
from agentrun.client.errors import one_line as _one_line
from agentrun.client.metadata import differing_fields, request_memo, runs_query, static_details
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
from agentrun.contracts.review import ReviewAck, ReviewDecision
from agentrun.contracts.runs import (
    RUN_TASK_TIMEOUT,
    RunRequest,
    RunResult,
    RunStatus,
    RunSummary,
)
from agentrun.contracts.states import RunState
from agentrun.converter import DATA_CONVERTER
from agentrun.observability.tracing import invoke_agent_span


def _check_run_id(run_id: str) -> None:
    if not run_id.strip():
        raise AgentRunError("run_id: must not be empty")


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
        """Start a run and return its id; the same ``request_id`` never starts a second run.

        A ``request_id`` already used for a different request raises IdempotencyConflict.
        """
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
            await self._same_request(request, request_id)
        except PydanticSerializationError as err:
            where = unencodable_field(request)
            raise AgentRunError(f"cannot start run: {where}: not JSON ({_one_line(err)})") from None
        except RPCError as err:
            reason = self._rpc_reason(err)
            raise AgentRunError(f"cannot start run: {reason}{oversize(request)}") from None
        except TemporalError as err:
            raise AgentRunError(f"cannot start run: {_one_line(err)}") from None
        return request_id

    def _tracer(self) -> Tracer | None:
        """The tracer of this client's TracingInterceptor: no interceptor, no agent span."""
        for interceptor in self.temporal.config()["interceptors"]:
            if isinstance(interceptor, TracingInterceptor):
                return interceptor.tracer
        return None

    async def _start(self, request: RunRequest, request_id: str) -> None:
        # FAIL, not USE_EXISTING: a duplicate must reach _same_request whether the first run
        # is still running or has ended, so a reused request_id is always checked.
        await self.temporal.start_workflow(
            AGENT_RUN_WORKFLOW,
            request,
            id=request_id,
            task_queue=self._task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            task_timeout=RUN_TASK_TIMEOUT,
            memo=request_memo(request),
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(SA_AGENT_STATE, RunState.INIT.value),
                    SearchAttributePair(SA_AGENT_NAME, request.agent),
                    SearchAttributePair(SA_TENANT_ID, request.tenant_id),
                ]
            ),
            static_summary=f"{request.agent} run for tenant {request.tenant_id}",
            static_details=static_details(request, request_id),
        )

    async def _same_request(self, request: RunRequest, request_id: str) -> None:
        """The run already started with this request_id: the same run only if it was started
        for the same request. A run without our memo (another client started it) counts as the
        same: there is nothing to compare."""
        described = await self._describe(request_id)
        if described.workflow_type != AGENT_RUN_WORKFLOW:
            raise IdempotencyConflict(
                f"request_id {request_id!r} is already the id of a "
                f"{described.workflow_type} workflow; use a new request_id"
            )
        differ = differing_fields(await described.memo(), request)
        if differ:
            verb = "differs" if len(differ) == 1 else "differ"
            raise IdempotencyConflict(
                f"request_id {request_id!r} was already used for a different request "
                f"({'/'.join(differ)} {verb}); use a new request_id"
            )

    def _handle(self, run_id: str) -> WorkflowHandle[object, RunResult]:
        return self.temporal.get_workflow_handle(run_id, result_type=RunResult)

    async def _describe(self, run_id: str) -> WorkflowExecutionDescription:
        try:
            return await self._handle(run_id).describe()
        except RPCError as err:
            raise self._rpc_error(run_id, err) from None

    async def status(self, run_id: str) -> RunStatus:
        _check_run_id(run_id)
        try:
            status: RunStatus = await self._handle(run_id).query(
                QUERY_STATUS, result_type=RunStatus
            )
        except RPCError as err:
            raise self._rpc_error(run_id, err) from None
        except WorkflowQueryFailedError as err:
            # Its status query is the one every AgentRun answers: failing, the id is likely
            # another kind of workflow (the retention purge) or a worker without AgentRun.
            described = await self._describe(run_id)
            if described.workflow_type != AGENT_RUN_WORKFLOW:
                raise AgentRunError(
                    f"{run_id!r} is not an agent run (it is a {described.workflow_type} workflow)"
                ) from None
            raise AgentRunError(f"run {run_id}: status query failed: {_one_line(err)}") from None
        except TemporalError as err:
            raise AgentRunError(f"run {run_id}: status query failed: {_one_line(err)}") from None
        return status

    async def result(self, run_id: str) -> RunResult:
        """Wait for the run to end; FAILED and CANCELLED runs are results too, not exceptions."""
        _check_run_id(run_id)
        try:
            return await self._handle(run_id).result()
        except WorkflowFailureError as err:
            return result_of_failure(run_id, err)
        except RPCError as err:
            raise self._rpc_error(run_id, err) from None
        except TemporalError as err:
            raise AgentRunError(f"run {run_id}: no result: {_one_line(err)}") from None

    def watch(
        self,
        run_id: str,
        *,
        fastest_s: float = watching.FASTEST_POLL_S,
        slowest_s: float = watching.SLOWEST_POLL_S,
        query_timeout_s: float = watching.QUERY_TIMEOUT_S,
        patience_s: float = watching.PATIENCE_S,
    ) -> AsyncIterator[RunStatus]:
        """``async for status in client.watch(run_id)``: the status now, then each change, the
        last one terminal; polls the status query with backoff (``agentrun.client.watch``)."""
        _check_run_id(run_id)
        return watching.watch_run(
            self,
            run_id,
            task_queue=self._task_queue,
            fastest_s=fastest_s,
            slowest_s=slowest_s,
            query_timeout_s=query_timeout_s,
            patience_s=patience_s,
        )

    async def review(self, run_id: str, decision: ReviewDecision) -> ReviewAck:
        """Send a decision as a validated update; a refused decision raises AgentRunError, and
        a run that has ended RunClosed (saying how and when it ended)."""
        _check_run_id(run_id)
        check_edit(decision)
        try:
            ack: ReviewAck = await self._handle(run_id).execute_update(
                UPDATE_SUBMIT_REVIEW, decision, result_type=ReviewAck
            )
        except WorkflowUpdateFailedError as err:
            raise AgentRunError(f"review refused: {_one_line(err.cause or err)}") from None
        except RPCError as err:
            raise await self._not_there(run_id, err, "review") from None
        except RPCTimeoutOrCancelledError:
            # The server keeps an update it could not deliver: a worker started later applies it.
            raise AgentRunError(
                f"run {run_id} did not answer the review: is a worker running on task queue "
                f"{self._task_queue!r}? (a worker that starts later may still apply it)"
            ) from None
        except TemporalError as err:
            raise AgentRunError(f"run {run_id}: review not sent: {_one_line(err)}") from None
        return ack

    async def signal_review(self, run_id: str, decision: ReviewDecision) -> None:
        """Fire-and-forget variant; refusals are recorded in the run's status, not returned."""
        _check_run_id(run_id)
        check_edit(decision)
        try:
            await self._handle(run_id).signal(SIGNAL_REVIEW, decision)
        except RPCError as err:
            raise await self._not_there(run_id, err, "review") from None
        except TemporalError as err:
            raise AgentRunError(f"run {run_id}: review not sent: {_one_line(err)}") from None

    async def cancel(self, run_id: str) -> None:
        """Temporal accepts a cancel of an ended run and does nothing; say that it has ended."""
        _check_run_id(run_id)
        described = await self._describe(run_id)
        if described.workflow_type != AGENT_RUN_WORKFLOW:
            raise AgentRunError(
                f"{run_id!r} is not an agent run (it is a {described.workflow_type} workflow)"
            )
        if described.status not in (None, WorkflowExecutionStatus.RUNNING):
            raise await self._closed(run_id, described, "cancel")
        try:
            await self._handle(run_id).cancel()
        except RPCError as err:
            raise await self._not_there(run_id, err, "cancel") from None
        except TemporalError as err:
            raise AgentRunError(f"run {run_id}: not cancelled: {_one_line(err)}") from None

    async def _not_there(self, run_id: str, err: RPCError, action: str) -> AgentRunError:
        """An update or signal to an ended run fails NOT_FOUND as if there were no run: tell
        the two apart by describing it."""
        if err.status != RPCStatusCode.NOT_FOUND:
            return self._rpc_error(run_id, err)
        try:
            described = await self._describe(run_id)
        except AgentRunError as why:
            return why
        if described.status in (None, WorkflowExecutionStatus.RUNNING):
            return self._rpc_error(run_id, err)
        return await self._closed(run_id, described, action)

    async def _closed(
        self, run_id: str, described: WorkflowExecutionDescription, action: str
    ) -> RunClosed:
        category = None
        if described.status == WorkflowExecutionStatus.FAILED:
            with contextlib.suppress(AgentRunError):  # how it ended is a detail, not required
                failure = (await self.result(run_id)).failure
                category = failure.category.value if failure is not None else None
        return RunClosed(
            closed_message(
                run_id,
                status=described.status,
                agent_state=described.typed_search_attributes.get(SA_AGENT_STATE),
                closed_at=described.close_time,
                category=category,
                action=action,
            )
        )

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
            raise AgentRunError(f"cannot list runs: {self._rpc_reason(err)}") from None
        except TemporalError as err:
            raise AgentRunError(f"cannot list runs: {_one_line(err)}") from None
        return rows

    def _rpc_reason(self, err: RPCError) -> str:
        if _namespace_missing(err):
            return f"namespace {self.temporal.namespace!r} not found"
        if err.status == RPCStatusCode.FAILED_PRECONDITION and "no poller" in err.message:
            return f"no worker is polling task queue {self._task_queue!r}"
        return shorten(_one_line(err))

    def _rpc_error(self, run_id: str, err: RPCError) -> AgentRunError:
        if _namespace_missing(err):
            return AgentRunError(self._rpc_reason(err))
        if err.status == RPCStatusCode.NOT_FOUND:
            return RunNotFound(f"no run with id {shorten(repr(run_id), 80)}")
        return AgentRunError(f"run {run_id}: {self._rpc_reason(err)}")


def _namespace_missing(err: RPCError) -> bool:
    """NOT_FOUND names a missing run and a missing namespace alike; only the text differs."""
    return err.status == RPCStatusCode.NOT_FOUND and err.message.startswith("Namespace ")

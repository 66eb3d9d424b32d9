"""The model activity: append new messages, call the provider, store and return its decision."""

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Mapping
from datetime import timedelta

import structlog
from opentelemetry.trace import Tracer
from pydantic import ValidationError
from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from agentrun.activities.compaction import Answered, Call, Compactor
from agentrun.activities.conversation import ConversationGap, ConversationStore
from agentrun.activities.errors import first_problem
from agentrun.activities.providers.base import ModelProvider, ModelProviderError, token_usage
from agentrun.activities.record import RunRecorder
from agentrun.agents.registry import (
    AgentDefinition,
    AgentRegistry,
    RegistryError,
    ToolDefinition,
)
from agentrun.contracts.model import (
    Message,
    ModelCallInput,
    ModelCallResult,
    ModelDecision,
    TokenUsage,
    ToolCallRequest,
)
from agentrun.contracts.names import ACTIVITY_MODEL_CALL, ErrorType
from agentrun.contracts.pricing import PriceTable
from agentrun.observability.metrics import ModelInstruments, PerWorker
from agentrun.observability.tracing import activity_tracer, chat_span, record_chat_response

log = structlog.get_logger(__name__)

# A model call waits for its conversation while the run store is down (the writer retries it),
# up to its attempt's start-to-close less this margin; then it fails with STORE_UNAVAILABLE,
# retryably and before Temporal would time it out, and the next attempt waits again: the run
# waits out the outage (MODEL_RETRY has no attempt limit; the EXECUTING deadline bounds it).
STORE_WAIT_MARGIN_S = 15.0
# A provider's retryable failure is final from this attempt on (attempts that waited for the
# store count too), so only the store's outages are waited out to the deadline.
PROVIDER_ATTEMPTS = 5

# A quarter of the activity's heartbeat timeout (workflows.options.MODEL_HEARTBEAT_TIMEOUT, 2 s),
# as for tools (activities.tools.HEARTBEAT_EVERY_S).
HEARTBEAT_EVERY_S = 0.5


class ModelActivities:
    def __init__(
        self,
        registry: AgentRegistry,
        store: ConversationStore,
        providers: Mapping[str, ModelProvider],
        prices: PriceTable,
        *,
        tracer: Tracer | None = None,
        recorder: RunRecorder | None = None,
    ) -> None:
        self._recorder = recorder
        self._registry = registry
        self._store = store
        self._providers = dict(providers)
        self._prices = prices
        self._tracer = activity_tracer(tracer)
        self._metrics = PerWorker(ModelInstruments.create)
        self._compactor = Compactor()

    async def _record(
        self,
        call: ModelCallInput,
        *,
        provider: str,
        model: str,
        usage: TokenUsage,
        cost: float | None,
        started: float,
    ) -> None:
        if self._recorder is None:
            return
        self._recorder.model_call(
            run_id=call.run_id,
            turn=call.turn,
            attempt=activity.info().attempt,
            provider=provider,
            model=model,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cost_usd=cost or 0.0,
            duration_ms=(time.perf_counter() - started) * 1000,
        )

    async def _conversation(self, call: ModelCallInput, started: float) -> list[Message]:
        try:
            async with store_wait(started):
                return await self._store.append_and_load(
                    call.run_id, call.start_index, call.new_messages
                )
        except ConversationGap as err:
            raise ApplicationError(
                str(err), type=ErrorType.CONVERSATION_MISSING, non_retryable=True
            ) from None

    @activity.defn(name=ACTIVITY_MODEL_CALL)
    async def model_call(self, call: ModelCallInput) -> ModelCallResult:
        # The whole attempt heartbeats, its conversation reads and writes too: with a timeout of
        # a few seconds, a slow store commit must not pass for a dead worker (and a paid retry).
        async with heartbeating():
            try:
                return await self._model_call(call)
            except ApplicationError:
                raise
            except Exception as err:
                # An unexpected error (a provider bug, a broken agent definition) is retried
                # like a provider's retryable one, and as boundedly: MODEL_RETRY itself has no
                # attempt limit, so that store outages are waited out.
                if activity.info().attempt < PROVIDER_ATTEMPTS:
                    raise
                raise ApplicationError(
                    f"{type(err).__name__}: {err}", type=ErrorType.MODEL_ERROR, non_retryable=True
                ) from err

    async def _model_call(self, call: ModelCallInput) -> ModelCallResult:
        started = time.perf_counter()
        try:
            definition = self._registry.resolve(call.agent.name, call.agent.version)
        except RegistryError as err:
            raise ApplicationError(
                str(err), type=ErrorType.UNKNOWN_AGENT, non_retryable=True
            ) from None
        spec = definition.spec
        provider_name = call.provider or spec.model.provider
        model = call.model or spec.model.model
        provider = self._providers.get(provider_name)
        if provider is None:
            raise ApplicationError(
                f"model provider {provider_name!r} is not configured on this worker",
                type=ErrorType.MODEL_ERROR,
                non_retryable=True,
            )
        # The chat span is the activity's span (observability.tracing_interceptor), so it covers
        # loading the conversation too: a run whose conversation is gone shows it in its trace.
        try:
            with chat_span(
                self._tracer, provider=provider.name, model=model, agent=spec.name
            ) as span:
                messages = await self._conversation(call, started)
                # What is sent may leave old turns out (the agent's model.context); the stored
                # conversation keeps them all.
                answered = await self._compactor.complete(
                    provider, Call(call.run_id, call.turn, spec, model, messages)
                )
                response = answered.response
                record_chat_response(span, response.model, response.usage)
        except ModelProviderError as err:
            log.warning("model call failed", run_id=call.run_id, error=str(err))
            raise provider_failure(err, activity.info().attempt) from err
        reply = Message(
            role="assistant", content=response.content, tool_calls=response.decision.tool_calls
        )
        async with store_wait(started):
            await self._store.put(call.run_id, len(messages), [reply])
        usage, cost = self._spent(answered)
        self._metrics.get().record(spec.name, response.model, usage, cost)
        await self._record(
            call, provider=provider_name, model=response.model, usage=usage, cost=cost,
            started=started,
        )  # fmt: skip
        _check_answer(definition, response.decision)
        return ModelCallResult(
            decision=checked_calls(definition, response.decision),
            usage=usage,
            model=response.model,
            conversation_length=len(messages) + 1,
            cost_usd=cost or 0.0,
            compaction=answered.compaction,
        )

    def _spent(self, answered: Answered) -> tuple[TokenUsage, float | None]:
        """The call's usage and cost, its summary calls' (compaction) included: the run's
        budget counts what was paid for, not only the answer."""
        usage, cost = answered.response.usage, None
        for extra in answered.summaries:
            usage = token_usage(
                usage.input_tokens + extra.usage.input_tokens,
                usage.output_tokens + extra.usage.output_tokens,
                usage.cached_input_tokens + extra.usage.cached_input_tokens,
            )
        for response in (answered.response, *answered.summaries):
            used = response.usage
            price = self._prices.model_cost(
                response.model, used.input_tokens, used.output_tokens, used.cached_input_tokens
            )
            if price is None:
                log.warning("model has no price; cost counted as 0", model=response.model)
            else:
                cost = (cost or 0.0) + price
        return usage, cost


def provider_failure(err: ModelProviderError, attempt: int) -> ApplicationError:
    """How a provider's failure is retried: as the provider classified it, after the delay it
    asked for (``Retry-After``), never when the prompt no longer fits the context, and not from
    attempt ``PROVIDER_ATTEMPTS`` on."""
    return ApplicationError(
        str(err),
        type=ErrorType.CONTEXT_OVERFLOW if err.context_overflow else ErrorType.MODEL_ERROR,
        non_retryable=not err.retryable or attempt >= PROVIDER_ATTEMPTS,
        next_retry_delay=timedelta(seconds=err.retry_after) if err.retry_after else None,
    )


@contextlib.asynccontextmanager
async def store_wait(started: float) -> AsyncIterator[None]:
    """Bound a wait on the run store to the attempt's time left (``STORE_WAIT_MARGIN_S``).

    Giving up cancels the queued write (the writer drops it; the retry writes it again) and
    fails the attempt retryably, so a store outage makes the run wait, never fail.
    """
    limit = activity.info().start_to_close_timeout
    budget = (limit.total_seconds() if limit else 120.0) - STORE_WAIT_MARGIN_S
    left = max(1.0, started + budget - time.perf_counter())
    try:
        async with asyncio.timeout(left):
            yield
    except TimeoutError:
        raise ApplicationError(
            f"the run store did not take the conversation within {left:.0f} s (it is down or "
            "locked); retried",
            type=ErrorType.STORE_UNAVAILABLE,
            # Expected while the store is down, which the store's writer reports once: the SDK
            # logs these at DEBUG, not a traceback per waiting model call.
            category=ApplicationErrorCategory.BENIGN,
        ) from None


@contextlib.asynccontextmanager
async def heartbeating() -> AsyncIterator[None]:
    """Heartbeat while a model call runs: a worker that dies mid-call is noticed within the
    activity's heartbeat timeout, not at the end of its two-minute start-to-close timeout.

    The first beat waits an interval, so a call that ends sooner (the scripted model's) costs no
    heartbeat RPC; the server counts the timeout from the attempt's start until the first beat."""

    async def beat() -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_EVERY_S)
            activity.heartbeat()

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def checked_calls(definition: AgentDefinition, decision: ModelDecision) -> ModelDecision:
    """The model's tool calls, each with the reason its arguments cannot be used, if any.

    Arguments are checked against the tool's params model here, where the model is: a call that
    does not fit goes back to the model as a tool error it can correct (each correction a step
    of the run's budget), and never reaches the tool. A tool the agent does not have is left to
    the run's policy, which denies it."""
    if not decision.tool_calls:
        return decision
    tools = {tool.contract.name: tool for tool in definition.tools}
    calls = tuple(_checked(call, tools.get(call.tool)) for call in decision.tool_calls)
    return decision.model_copy(update={"tool_calls": calls})


def _checked(call: ToolCallRequest, tool: ToolDefinition | None) -> ToolCallRequest:
    if call.error is not None or tool is None:
        return call
    try:
        tool.params_model.model_validate(call.args)
    except ValidationError as err:
        field, message = first_problem(err, "arguments")
        return call.model_copy(
            update={"error": f"{field}: {message} (call {call.tool} again, fixed)"}
        )
    return call


def _check_answer(definition: AgentDefinition, decision: ModelDecision) -> None:
    """A final answer must fit the agent's output model when it declares one: an answer that
    does not is a contract violation (the call itself is paid for and recorded), never an
    output that reaches the caller or a reviewer unvalidated."""
    final, model = decision.final, definition.output_model
    if final is None or model is None:
        return
    try:
        model.model_validate(final.output)
    except ValidationError as err:
        field, message = first_problem(err, "output")
        raise ApplicationError(
            f"the model's answer breaks {definition.spec.ref}'s output schema at {field}: "
            f"{message}",
            type=ErrorType.CONTRACT_VIOLATION,
            non_retryable=True,
        ) from None

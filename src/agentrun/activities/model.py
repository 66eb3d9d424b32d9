"""The model activity: append new messages, call the provider, store and return its decision."""

import time
from collections.abc import Mapping

import structlog
from opentelemetry.trace import Tracer
from pydantic import ValidationError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from agentrun.activities.conversation import ConversationGap, ConversationStore
from agentrun.activities.errors import first_problem
from agentrun.activities.providers.base import ModelProvider, ModelProviderError, ModelRequest
from agentrun.activities.record import RunRecorder
from agentrun.agents.registry import AgentDefinition, AgentRegistry, RegistryError
from agentrun.contracts.model import (
    Message,
    ModelCallInput,
    ModelCallResult,
    ModelDecision,
    TokenUsage,
)
from agentrun.contracts.names import ACTIVITY_MODEL_CALL, ErrorType
from agentrun.contracts.pricing import PriceTable
from agentrun.observability.metrics import ModelInstruments, PerWorker
from agentrun.observability.tracing import activity_tracer, chat_span, record_chat_response

log = structlog.get_logger(__name__)


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

    async def _conversation(self, call: ModelCallInput) -> list[Message]:
        try:
            return await self._store.append_and_load(
                call.run_id, call.start_index, call.new_messages
            )
        except ConversationGap as err:
            raise ApplicationError(
                str(err), type=ErrorType.CONVERSATION_MISSING, non_retryable=True
            ) from None

    @activity.defn(name=ACTIVITY_MODEL_CALL)
    async def model_call(self, call: ModelCallInput) -> ModelCallResult:
        started = time.perf_counter()
        try:
            definition = self._registry.resolve(call.agent.name, call.agent.version)
        except RegistryError as err:
            raise ApplicationError(
                str(err), type=ErrorType.UNKNOWN_AGENT, non_retryable=True
            ) from None
        spec = definition.spec
        provider = self._providers.get(spec.model.provider)
        if provider is None:
            raise ApplicationError(
                f"model provider {spec.model.provider!r} is not configured on this worker",
                type=ErrorType.MODEL_ERROR,
                non_retryable=True,
            )
        # The chat span is the activity's span (observability.tracing_interceptor), so it covers
        # loading the conversation too: a run whose conversation is gone shows it in its trace.
        try:
            with chat_span(
                self._tracer, provider=provider.name, model=spec.model.model, agent=spec.name
            ) as span:
                messages = await self._conversation(call)
                response = await provider.complete(
                    ModelRequest(spec=spec, messages=messages, turn=call.turn)
                )
                record_chat_response(span, response.model, response.usage)
        except ModelProviderError as err:
            log.warning("model call failed", run_id=call.run_id, error=str(err))
            raise ApplicationError(
                str(err), type=ErrorType.MODEL_ERROR, non_retryable=not err.retryable
            ) from err
        reply = Message(
            role="assistant", content=response.content, tool_calls=response.decision.tool_calls
        )
        await self._store.put(call.run_id, len(messages), [reply])
        usage = response.usage
        cost = self._prices.model_cost(response.model, usage.input_tokens, usage.output_tokens)
        if cost is None:
            log.warning("model has no price; cost counted as 0", model=response.model)
        self._metrics.get().record(spec.name, response.model, usage, cost)
        await self._record(
            call,
            provider=spec.model.provider,
            model=response.model,
            usage=usage,
            cost=cost,
            started=started,
        )
        _check_answer(definition, response.decision)
        return ModelCallResult(
            decision=response.decision,
            usage=response.usage,
            model=response.model,
            conversation_length=len(messages) + 1,
            cost_usd=cost or 0.0,
        )


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

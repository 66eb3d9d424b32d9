"""The model activity while the run store is down: it waits for the conversation through most
of its attempt, then fails ``StoreUnavailable``, retryably, so the run waits rather than fails;
the write it gave up on is dropped, and the retry once the store is back writes it again."""

import dataclasses
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory
from temporalio.testing import ActivityEnvironment

from agentrun.activities.conversation import ConversationStore
from agentrun.activities.model import PROVIDER_ATTEMPTS, STORE_WAIT_MARGIN_S, ModelActivities
from agentrun.activities.providers.base import ModelRequest, ModelResponse
from agentrun.activities.providers.scripted import ScriptedProvider
from agentrun.agents.registry import AgentRegistry, load_agent_modules
from agentrun.contracts.agents import AgentRef
from agentrun.contracts.model import Message, ModelCallInput
from agentrun.contracts.names import ErrorType
from agentrun.contracts.pricing import DEFAULT_PRICES
from agentrun.store.writer import BackgroundWriter
from tests.store.test_writer import stored_messages
from tests.support.store_outage import SqliteStore, sqlite_outage, sqlite_store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    with sqlite_store(tmp_path / "store.db") as opened:
        yield opened


async def test_a_model_call_waits_for_the_store_then_fails_retryably(store: SqliteStore) -> None:
    registry = load_agent_modules(AgentRegistry(), ["tests.support.agents"])
    writer = BackgroundWriter(store.sessions, backoff=(0.1, 0.2))
    model = ModelActivities(
        registry, ConversationStore(writer), {"scripted": ScriptedProvider()}, DEFAULT_PRICES
    )
    call = ModelCallInput(
        run_id="run-m",
        agent=AgentRef(name="echo", version="1"),
        turn=1,
        start_index=0,
        new_messages=(Message(role="user", content='{"key": "k"}'),),
    )
    env = ActivityEnvironment()
    # An attempt 2 s longer than the margin: it waits 2 s for the store, not 105.
    attempt = timedelta(seconds=STORE_WAIT_MARGIN_S + 2)
    env.info = dataclasses.replace(env.info, start_to_close_timeout=attempt)
    try:
        with sqlite_outage(store.path):
            started = time.monotonic()
            with pytest.raises(ApplicationError) as caught:
                await env.run(model.model_call, call)
            waited = time.monotonic() - started
            assert 1.9 <= waited < 6, waited
            assert caught.value.type == ErrorType.STORE_UNAVAILABLE
            assert not caught.value.non_retryable
            assert caught.value.category is ApplicationErrorCategory.BENIGN
            assert "did not take the conversation within 2 s" in caught.value.message
            assert writer.store_down
        retried = await env.run(model.model_call, call)
        assert retried.conversation_length == 2
        assert writer.running
    finally:
        writer.close(30)
    assert [idx for idx, _ in stored_messages(store.engine, "run-m")] == [0, 1]


class BrokenProvider(ScriptedProvider):
    """A provider with a bug: every call raises what no provider classifies."""

    async def complete(self, request: ModelRequest) -> ModelResponse:  # noqa: ARG002
        raise KeyError("choices")


async def test_an_unexpected_model_error_is_retried_a_few_times_not_to_the_deadline(
    store: SqliteStore,
) -> None:
    """MODEL_RETRY has no attempt limit (store outages are waited out), so the activity bounds
    everything else itself: an error it does not know is retried like a provider's retryable
    one, and final from PROVIDER_ATTEMPTS on, rather than retried until EXECUTING's deadline."""
    registry = load_agent_modules(AgentRegistry(), ["tests.support.agents"])
    writer = BackgroundWriter(store.sessions)
    model = ModelActivities(
        registry, ConversationStore(writer), {"scripted": BrokenProvider()}, DEFAULT_PRICES
    )
    call = ModelCallInput(
        run_id="run-broken",
        agent=AgentRef(name="echo", version="1"),
        turn=1,
        start_index=0,
        new_messages=(Message(role="user", content='{"key": "k"}'),),
    )
    env = ActivityEnvironment()
    try:
        for attempt in range(1, PROVIDER_ATTEMPTS):
            env.info = dataclasses.replace(env.info, attempt=attempt)
            with pytest.raises(KeyError):  # retryable: Temporal retries what the activity raises
                await env.run(model.model_call, call)
        env.info = dataclasses.replace(env.info, attempt=PROVIDER_ATTEMPTS)
        with pytest.raises(ApplicationError) as caught:
            await env.run(model.model_call, call)
    finally:
        writer.close(30)
    assert caught.value.non_retryable
    assert caught.value.type == ErrorType.MODEL_ERROR
    assert caught.value.message == "KeyError: 'choices'"

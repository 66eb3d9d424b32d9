"""A run's conversation lives in the shared run store: a run that moves to another worker (host)
mid-conversation carries on, and with the store off a run still completes on one worker."""

import uuid
from pathlib import Path

from sqlmodel import col, select
from temporalio.testing import WorkflowEnvironment

from agentrun.client import AgentRunClient
from agentrun.contracts import Decision, ReviewDecision, RunRequest, RunState
from agentrun.contracts.model import Message
from agentrun.settings import Settings
from agentrun.store import migrate
from agentrun.store.db import make_engine
from agentrun.store.models import ConversationMessageRow
from agentrun.workers.worker import build_worker
from tests.conftest import TEST_AGENT_MODULES
from tests.support.store_fixtures import fresh_pg_url
from tests.support.waiting import wait_for_review


def _settings(
    data_dir: Path, queue: str, *, database_url: str | None = None, store_enabled: bool = True
) -> Settings:
    return Settings(
        data_dir=data_dir, agent_modules=TEST_AGENT_MODULES, task_queue=queue,
        database_url=database_url, store_enabled=store_enabled,
    )  # fmt: skip


def _conversation(url: str, run_id: str) -> list[Message]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(ConversationMessageRow.message)
                .where(ConversationMessageRow.run_id == run_id)
                .order_by(col(ConversationMessageRow.idx))
            ).scalars()
            return [Message.model_validate_json(text) for text in rows]
    finally:
        engine.dispose()


async def test_a_run_moves_to_another_host_mid_conversation(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    queue = f"hosts-{uuid.uuid4().hex[:8]}"
    runs = AgentRunClient(temporal_env.client, task_queue=queue)
    with fresh_pg_url() as url:
        migrate.upgrade(url)
        host_a = _settings(tmp_path / "host-a", queue, database_url=url)
        async with build_worker(temporal_env.client, host_a):
            # The first model call (on host A) asks for the gated tool; the run then waits.
            run_id = await runs.start(RunRequest(agent="gated", input={"key": "k"}))
            await wait_for_review(runs, run_id, kind="tool_approval")
        # Host A is gone; host B has its own data directory and shares only the database.
        host_b = _settings(tmp_path / "host-b", queue, database_url=url)
        async with build_worker(temporal_env.client, host_b):
            await runs.review(run_id, ReviewDecision(decision=Decision.APPROVE, reviewer="alice"))
            result = await runs.result(run_id)
        assert result.state is RunState.COMPLETED, result.failure
        assert result.output == {"answer": "done", "key": "k"}
        conversation = _conversation(url, run_id)
    # Host B's second model call loaded host A's two messages and appended the tool result
    # and its own reply.
    assert [m.role for m in conversation] == ["user", "assistant", "tool", "assistant"]
    assert conversation[1].tool_calls[0].tool == "gated_write"
    assert not (tmp_path / "host-a" / "conversations.db").exists()
    assert not (tmp_path / "host-b" / "conversations.db").exists()


async def test_with_the_store_off_a_run_completes_on_a_private_cache(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    queue = f"store-off-{uuid.uuid4().hex[:8]}"
    settings = _settings(tmp_path, queue, store_enabled=False)
    runs = AgentRunClient(temporal_env.client, task_queue=queue)
    async with build_worker(temporal_env.client, settings):
        run_id = await runs.start(RunRequest(agent="echo", input={"key": "off"}))
        result = await runs.result(run_id)
    assert result.state is RunState.COMPLETED, result.failure
    assert result.output == {"answer": "done", "key": "off"}
    assert not (tmp_path / "agentrun.db").exists()  # no record store was opened
    cache = f"sqlite:///{tmp_path / 'conversations.db'}"
    assert [m.role for m in _conversation(cache, run_id)] == [
        "user",
        "assistant",
        "tool",
        "assistant",
    ]

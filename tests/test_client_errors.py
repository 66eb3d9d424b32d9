"""The typed client's answers to what a caller gets wrong, against a real dev server and worker:
an ended run is said to have ended (not to be missing), a reused request_id for another request
is refused, and no Temporal exception type reaches the caller."""

import re
import uuid

import pytest
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from agentrun.client import (
    AgentRunClient,
    AgentRunError,
    IdempotencyConflict,
    RunClosed,
    RunNotFound,
)
from agentrun.contracts.names import AGENT_RUN_WORKFLOW, RETENTION_PURGE_WORKFLOW
from agentrun.contracts.retention import PurgeRequest, PurgeResult
from agentrun.contracts.review import Decision, ReviewDecision
from agentrun.contracts.runs import RunRequest
from agentrun.contracts.states import RunState
from agentrun.settings import Settings
from tests.support.waiting import wait_for_review

APPROVE = ReviewDecision(decision=Decision.APPROVE, reviewer="alice")
REJECT = ReviewDecision(decision=Decision.REJECT, reviewer="alice")
CLOCK = r"\d\d:\d\d:\d\d UTC"


def _request(key: str, **fields: str) -> RunRequest:
    return RunRequest.model_validate(
        {"agent": "reviewed", "input": {"key": key}, "request_id": f"req-{uuid.uuid4().hex}"}
        | fields
    )


async def test_review_signal_and_cancel_of_a_failed_run_say_how_it_ended(
    runs: AgentRunClient,
) -> None:
    run_id = await runs.start(_request("ended"))
    await wait_for_review(runs, run_id)
    await runs.review(run_id, REJECT)
    assert (await runs.result(run_id)).state is RunState.FAILED

    expected = rf"^run {run_id} is FAILED \(review_rejected at {CLOCK}\): nothing to"
    with pytest.raises(RunClosed, match=expected + " review$"):
        await runs.review(run_id, APPROVE)
    with pytest.raises(RunClosed, match=expected + " review$"):
        await runs.signal_review(run_id, APPROVE)
    with pytest.raises(RunClosed, match=expected + " cancel$"):
        await runs.cancel(run_id)


async def test_review_of_a_completed_or_cancelled_run_says_so(runs: AgentRunClient) -> None:
    done = await runs.start(RunRequest(agent="echo", input={"key": "done"}))
    assert (await runs.result(done)).state is RunState.COMPLETED
    cancelled = await runs.start(_request("cancelled"))
    await wait_for_review(runs, cancelled)
    await runs.cancel(cancelled)
    assert (await runs.result(cancelled)).state is RunState.CANCELLED

    with pytest.raises(RunClosed, match=rf"^run {done} is COMPLETED at {CLOCK}: nothing to review"):
        await runs.review(done, APPROVE)
    with pytest.raises(RunClosed, match=rf"^run {cancelled} is CANCELLED at {CLOCK}: nothing to"):
        await runs.signal_review(cancelled, APPROVE)


async def test_a_run_that_never_existed_is_still_not_found(runs: AgentRunClient) -> None:
    for call in (
        runs.review("no-such-run", APPROVE),
        runs.signal_review("no-such-run", APPROVE),
        runs.cancel("no-such-run"),
        runs.status("no-such-run"),
    ):
        with pytest.raises(RunNotFound, match=r"^no run with id 'no-such-run'$"):
            await call


async def test_an_id_too_long_to_exist_is_not_echoed_whole(runs: AgentRunClient) -> None:
    with pytest.raises(RunNotFound) as missing:
        await runs.status("x" * 5000)

    assert len(str(missing.value)) < 120
    assert str(missing.value).startswith("no run with id 'xxxx")


@pytest.mark.parametrize("run_id", ["", "  "])
async def test_an_empty_run_id_is_refused_by_every_method(
    runs: AgentRunClient, run_id: str
) -> None:
    for call in (
        runs.status(run_id),
        runs.result(run_id),
        runs.review(run_id, APPROVE),
        runs.signal_review(run_id, APPROVE),
        runs.cancel(run_id),
    ):
        with pytest.raises(AgentRunError, match=r"^run_id: must not be empty$"):
            await call


async def test_status_of_a_workflow_that_is_not_a_run_names_what_it_is(
    runs: AgentRunClient, temporal_env: WorkflowEnvironment, worker: Worker, settings: Settings
) -> None:
    workflow_id = f"not-a-run-{uuid.uuid4().hex[:8]}"
    await temporal_env.client.execute_workflow(
        RETENTION_PURGE_WORKFLOW,
        PurgeRequest(dry_run=True),
        id=workflow_id,
        task_queue=settings.task_queue,
        result_type=PurgeResult,
    )

    # Its status query fails (WorkflowQueryFailedError inside): the caller learns why.
    with pytest.raises(AgentRunError, match=r"is not an agent run .*RetentionPurge"):
        await runs.status(workflow_id)
    with pytest.raises(AgentRunError, match=r"is not an agent run .*RetentionPurge"):
        await runs.cancel(workflow_id)


async def test_the_same_request_id_is_the_same_run_only_for_the_same_request(
    runs: AgentRunClient,
) -> None:
    request = _request("idem", user_id="alice")
    run_id = await runs.start(request)
    await wait_for_review(runs, run_id)

    # While it runs: a retry is the same run; another input or user is refused.
    assert await runs.start(request) == run_id
    assert await runs.start(request.model_copy(update={"grant": "re-signed"})) == run_id
    other_input = request.model_copy(update={"input": {"key": "other"}})
    with pytest.raises(IdempotencyConflict) as conflict:
        await runs.start(other_input)
    assert str(conflict.value) == (
        f"request_id {run_id!r} was already used for a different request (input differs); "
        "use a new request_id"
    )

    # Once it has ended: the same.
    await runs.review(run_id, APPROVE)
    await runs.result(run_id)
    assert await runs.start(request) == run_id
    other_user = request.model_copy(update={"user_id": "bob", "tenant_id": "globex"})
    with pytest.raises(IdempotencyConflict, match=r"\(tenant/user differ\); use a new request_id"):
        await runs.start(other_user)


async def test_a_run_started_without_the_memo_counts_as_the_same_request(
    runs: AgentRunClient, temporal_env: WorkflowEnvironment, settings: Settings
) -> None:
    """A run started by another client (or before the memo existed) has nothing to compare."""
    request = RunRequest(agent="echo", input={"key": "plain"}, request_id=uuid.uuid4().hex)
    handle: WorkflowHandle[object, object] = await temporal_env.client.start_workflow(
        AGENT_RUN_WORKFLOW, request, id=str(request.request_id), task_queue=settings.task_queue
    )
    other = request.model_copy(update={"input": {"key": "different"}})

    assert await runs.start(other) == handle.id


async def test_a_request_id_of_another_kind_of_workflow_is_refused(
    runs: AgentRunClient, temporal_env: WorkflowEnvironment, worker: Worker, settings: Settings
) -> None:
    workflow_id = f"purge-{uuid.uuid4().hex[:8]}"
    await temporal_env.client.execute_workflow(
        RETENTION_PURGE_WORKFLOW,
        PurgeRequest(dry_run=True),
        id=workflow_id,
        task_queue=settings.task_queue,
        result_type=PurgeResult,
    )

    with pytest.raises(IdempotencyConflict, match="already the id of a RetentionPurge workflow"):
        await runs.start(RunRequest(agent="echo", request_id=workflow_id))


async def test_a_started_run_has_static_details_for_the_web_ui(runs: AgentRunClient) -> None:
    request = _request("details", tenant_id="acme", user_id="ann_b")
    run_id = await runs.start(request)
    versioned = await runs.start(_request("v", version="1"))

    details = await runs.temporal.get_workflow_handle(run_id).describe()
    text = await details.static_details()
    other = await runs.temporal.get_workflow_handle(versioned).describe()
    versioned_text = await other.static_details()

    assert text is not None
    assert versioned_text is not None
    assert await details.static_summary() == "reviewed run for tenant acme"
    assert "**agent**: reviewed (default version)" in text
    assert "**tenant**: acme" in text
    assert r"**user**: ann\_b" in text  # Markdown-escaped: shown as typed, not as emphasis
    assert re.search(r"\*\*request id\*\*: req\\-[0-9a-f]{32}", text)
    assert "**agent**: reviewed (version 1)" in versioned_text
    for started in (run_id, versioned):
        await wait_for_review(runs, started)
        await runs.cancel(started)

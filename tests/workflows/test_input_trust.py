"""Private data and instructions that arrive in the run's input count, from PREPARING on
(issue 17, item 1): whatever a screen says, a run that holds private data and has seen
untrusted content never reaches a tool that sends data out without a person's approval."""

import uuid

import pytest

from agentrun.client import AgentRunClient
from agentrun.contracts import Decision, ReviewDecision, RunRequest, RunState
from agentrun.contracts.states import FailureCategory
from tests.support.trust_agents import ATTACKER, MAILED, SOFT_ASK
from tests.support.waiting import wait_for_approval

CARD = "4111 1111 1111 1111"


def _ticket(**extra: str) -> dict[str, str]:
    return {"key": uuid.uuid4().hex, "card": CARD, "email": "ana@example.com", **extra}


async def _held_then_rejected(runs: AgentRunClient, run_id: str, key: str) -> str:
    """The send waits for a person, who rejects it; the tool never ran. Returns the reason."""
    waiting = await wait_for_approval(runs, run_id, "send_mail")
    pending = waiting.pending_review
    assert pending is not None
    assert pending.tool_args is not None
    assert pending.tool_args["to"] == ATTACKER
    assert MAILED.get(key) is None
    assert (waiting.private_data_seen, waiting.untrusted_seen) == (True, True)
    await runs.review(
        run_id,
        ReviewDecision(
            decision=Decision.REJECT, reviewer="alice", review_id=pending.review_id, comment="no"
        ),
    )
    result = await runs.result(run_id)
    assert result.state is RunState.FAILED
    assert result.failure is not None
    assert result.failure.category is FailureCategory.REVIEW_REJECTED
    assert MAILED.get(key) is None
    return pending.reason


async def test_input_borne_private_data_and_a_tool_borne_instruction_need_a_person(
    runs: AgentRunClient,
) -> None:
    ticket = _ticket()
    run_id = await runs.start(RunRequest(agent="ticket-tool-borne", input=ticket))
    reason = await _held_then_rejected(runs, run_id, ticket["key"])
    assert "lethal-trifecta" in reason


async def test_an_instruction_in_the_input_itself_is_untrusted_content(
    runs: AgentRunClient,
) -> None:
    ticket = _ticket(body=SOFT_ASK)
    run_id = await runs.start(RunRequest(agent="ticket-input-borne", input=ticket))
    await _held_then_rejected(runs, run_id, ticket["key"])
    status = await runs.status(run_id)
    [labels] = [e for e in status.governance if e.kind == "input_labels"]
    assert labels.reason == "input labels: private: card, email, body; untrusted: body"


async def test_tool_borne_private_data_and_an_unlabelled_input_need_a_person(
    runs: AgentRunClient,
) -> None:
    key = uuid.uuid4().hex
    run_id = await runs.start(
        RunRequest(agent="crm-untrusted-input", input={"key": key, "text": SOFT_ASK})
    )
    await _held_then_rejected(runs, run_id, key)


async def test_an_empty_untrusted_field_brings_nothing_in(runs: AgentRunClient) -> None:
    """``body`` is untrusted, but this ticket leaves it empty and reads no untrusted tool: the
    run holds private data and nothing from outside, so the send needs no person."""
    ticket = _ticket()
    result = await runs.result(
        await runs.start(RunRequest(agent="ticket-input-borne", input=ticket))
    )
    assert result.state is RunState.COMPLETED
    assert MAILED[ticket["key"]] == [ATTACKER]


@pytest.mark.parametrize("body", ["", SOFT_ASK])
async def test_fields_labelled_public_and_trusted_leave_the_send_alone(
    runs: AgentRunClient, body: str
) -> None:
    """The control: the same run with every field labelled public and trusted sends at once,
    so the holds above come from the labels, not from the agent."""
    ticket = _ticket(body=body)
    result = await runs.result(
        await runs.start(RunRequest(agent="ticket-labelled-safe", input=ticket))
    )
    assert result.state is RunState.COMPLETED
    assert MAILED[ticket["key"]] == [ATTACKER]
    status = await runs.status(result.run_id)
    assert (status.private_data_seen, status.untrusted_seen) == (False, False)

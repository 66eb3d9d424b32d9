"""Hostile input against a real server and worker, as properties.

Whatever a caller, a reviewer or a tool sends, either it is refused with a message that names the
field, or the run ends (never stuck: every wait here is bounded) in the one outcome that input
calls for. A refused review leaves the run waiting, and a valid decision still ends it.
"""

import asyncio
import json
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticSerializationError, to_json
from temporalio.api.common.v1 import Payload
from temporalio.client import WorkflowUpdateFailedError
from temporalio.common import RawValue
from temporalio.testing import WorkflowEnvironment

from agentrun.activities.tools import MAX_OUTPUT_BYTES, PartialResult
from agentrun.client import AgentRunClient, AgentRunError
from agentrun.contracts import Decision, ReviewDecision, RunRequest, RunState
from agentrun.contracts.identity import ApiKeyInfo, Role
from agentrun.contracts.names import SIGNAL_REVIEW, UPDATE_SUBMIT_REVIEW
from agentrun.contracts.review import MAX_EDIT_BYTES, ReviewAck
from agentrun.contracts.runs import MAX_INPUT_BYTES, RunResult
from agentrun.contracts.states import FailureCategory
from agentrun.converter import DATA_CONVERTER
from agentrun.logic.grants import decision_digest
from agentrun.logic.redaction import redact_value
from agentrun.signing import (
    SigningKey,
    mint_review_grant,
)
from agentrun.workers.worker import build_worker
from agentrun.workflows.review import review_id_for
from tests.support.agents import ProbeInput
from tests.support.hostile_agents import AGENT, OUTPUTS, TOOL, Report
from tests.support.signed import TTL, signed_setup, start_signed
from tests.support.waiting import eventually, wait_for_review

HOSTILE = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Generous for a run of a few steps on a loaded machine, short enough that a stuck run fails.
ENDS_WITHIN = 30.0
REVIEWERS = ("alice", "bob")  # the probe agents' reviewer group
# Raw payloads are sent only below this: Temporal's refusal of an update quotes it, and a refusal
# over 2 MB fails the workflow task until the server gives the update up (docs/security.md).
RAW_LIMIT = 1_950_000


async def _ended(runs: AgentRunClient, run_id: str) -> RunResult:
    result = await asyncio.wait_for(runs.result(run_id), ENDS_WITHIN)
    assert result.state.terminal, result
    return result


def _names_a_field(err: ValidationError, sent: object) -> None:
    """A client-side refusal points at what was wrong: a field sent, or the payload's shape."""
    first = err.errors()[0]
    if first["loc"]:
        assert isinstance(sent, dict)
        assert first["loc"][0] in sent or first["type"] == "missing", first
    else:  # the payload as a whole: not a mapping, or a rule across fields that names them
        assert not isinstance(sent, dict) or any(f in first["msg"] for f in ("output", "comment"))


def _encodes(value: object) -> bool:
    try:
        to_json(value)
    except PydanticSerializationError:
        return False
    return True


def _sent_as(value: object) -> bytes:
    """The JSON a raw Temporal client sends: its data converter writes inf and NaN as null
    (pydantic's own ``to_json`` writes ``Infinity`` and ``NaN``)."""
    return DATA_CONVERTER.payload_converter.to_payloads([value])[0].data


def _sized(char: str, json_bytes: int) -> str:
    """A string of ``char`` whose JSON text is about ``json_bytes`` long."""
    return char * max(1, json_bytes // (len(json.dumps(char)) - 2))


# ----------------------------------------------------------------------------- values

SURROGATES = st.text(st.characters(categories=["Cs"]), min_size=1, max_size=3)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
# Not JSON at all: the client must say which field, not raise a serializer's exception.
not_json = SURROGATES | st.builds(object) | st.just(b"\xff\xfe")
CHARS = st.sampled_from(["x", "\u00e9", '"', "\x01", "\U0001f600"])
near_input_limit = st.builds(
    lambda char, delta: _sized(char, MAX_INPUT_BYTES + delta), CHARS, st.integers(-64, 64)
)


# ----------------------------------------------------------------------------- run requests


input_values = st.text(max_size=40) | json_values | near_input_limit | not_json
inputs = st.one_of(
    st.dictionaries(st.sampled_from(["key", "key", "extra"]), input_values, max_size=2),
    st.dictionaries(st.just("key"), st.text(max_size=40), max_size=1),  # mostly fine
    st.dictionaries(st.text(max_size=6), input_values, max_size=2),
    json_values,  # often not a mapping at all
)
# One hostile value per field; a request gets the input and up to two of the others.
HOSTILE_FIELDS = {
    "agent": st.sampled_from(["Echo", "", "a" * 65, "no such", "echo\n"])
    | st.from_regex(r"nope-[a-z0-9_-]{0,8}", fullmatch=True),
    "version": st.sampled_from([None, "", "1", "2", "\x00", "v" * 65]) | st.text(max_size=10),
    "tenant_id": st.text(max_size=130) | SURROGATES,
    "user_id": st.text(max_size=130),
    "budget": st.sampled_from([None, {"max_steps": "many"}, {"bogus": 1}, 7]),
    "grant": st.none() | st.text(max_size=60),
    "priority": st.integers(),  # not a field at all
}


@st.composite
def run_requests(draw: st.DrawFn) -> dict[str, Any]:
    fields: dict[str, Any] = {"agent": "echo", "input": draw(inputs)}
    for name in draw(st.lists(st.sampled_from(sorted(HOSTILE_FIELDS)), max_size=2, unique=True)):
        fields[name] = draw(HOSTILE_FIELDS[name])
    # Unique per example: a repeated request_id is the same run, by design.
    fields["request_id"] = f"{draw(st.text(max_size=40))}-{uuid.uuid4().hex}"
    return fields


def _expected_failure(request: RunRequest) -> str | None:
    """The field an ``invalid_input`` failure must name, or None for a run that completes.

    The order is PREPARING's: the agent and version first, then the input's size (its JSON text,
    escapes included, as the run's first message carries it), then the agent's input schema.
    """
    if request.agent != "echo":
        return "agent"
    if request.version not in (None, "", "1"):  # "" picks the default version, like None
        return "version"
    received = json.loads(to_json(request.input))  # what the worker decodes
    if len(json.dumps(received).encode()) > MAX_INPUT_BYTES:
        return "input"
    try:
        ProbeInput.model_validate(received)
    except ValidationError as err:
        path = ".".join(str(part) for part in err.errors()[0]["loc"])
        return f"input.{path}" if path else "input"  # a key "" has no dotted name
    return None


def _unencodable_key(request: RunRequest) -> str | None:
    return next((key for key, value in request.input.items() if not _encodes(value)), None)


@HOSTILE
@given(fields=run_requests())
async def test_any_run_request_is_refused_by_name_or_ends_invalid_input_or_completed(
    runs: AgentRunClient, fields: dict[str, Any]
) -> None:
    try:
        request = RunRequest.model_validate(fields)
    except ValidationError as err:
        _names_a_field(err, fields)
        event("refused by RunRequest")
        return
    bad_key = _unencodable_key(request)
    if bad_key is not None:
        with pytest.raises(AgentRunError, match="not JSON") as refused:
            await runs.start(request)
        assert f"input.{bad_key}" in str(refused.value)
        event("refused by the client: not JSON")
        return
    result = await _ended(runs, await runs.start(request))
    field = _expected_failure(request)
    event(f"run ended: {field or 'completed'}".split(".")[0])
    if field is None:
        assert result.state is RunState.COMPLETED, result.failure
        return
    assert result.state is RunState.FAILED
    assert result.failure is not None
    assert (result.failure.category, result.failure.field) == (FailureCategory.INVALID_INPUT, field)
    assert field.split(".")[0] in result.failure.message


async def test_an_input_too_big_for_temporal_is_refused_at_start_naming_the_input(
    runs: AgentRunClient,
) -> None:
    request = RunRequest(agent="echo", input={"key": "x" * (3 * 1024 * 1024)})
    with pytest.raises(AgentRunError, match="cannot start run") as refused:
        await runs.start(request)
    assert f"the limit is {MAX_INPUT_BYTES}" in str(refused.value)
    assert "input is" in str(refused.value)


async def test_templates_in_the_input_are_data_never_expanded(runs: AgentRunClient) -> None:
    key = "{{input.key}} {{feedback}} {{tools.echo.value}} {{nothing}}"
    result = await _ended(runs, await runs.start(RunRequest(agent="echo", input={"key": key})))
    assert result.state is RunState.COMPLETED, result.failure
    assert result.output == {"answer": "done", "key": key}


# ----------------------------------------------------------------------------- reviews

review_ids = st.none() | st.sampled_from(["final-1", "final-2", "FINAL-1", "final-1 ", ""])
# Near the edit limit, and far over it (yet within what Temporal carries and can refuse).
big_edits = st.builds(
    lambda char, delta: {"text": _sized(char, MAX_EDIT_BYTES + delta)}, CHARS, st.integers(-64, 64)
) | st.just({"text": "x" * 1_900_000})
edit_outputs = (
    st.dictionaries(st.text(max_size=8), json_values, max_size=3)
    | big_edits
    | st.builds(lambda: {"o": object()})
)


@st.composite
def decisions(draw: st.DrawFn) -> dict[str, Any]:
    """Well-formed decisions, from the right or the wrong person, for this review or another."""
    verdict = draw(st.sampled_from(list(Decision)))
    payload: dict[str, Any] = {
        "decision": verdict.value,
        "reviewer": draw(st.sampled_from([*REVIEWERS, "mallory", "Alice", "bob "])),
    }
    if verdict is Decision.REQUEST_CHANGES or draw(st.booleans()):
        payload["comment"] = draw(st.text(min_size=1, max_size=40))
    if verdict is Decision.EDIT:
        payload["output"] = draw(edit_outputs)
    if draw(st.booleans()):
        payload["review_id"] = draw(st.sampled_from(["final-1", "final-2", "FINAL-1", ""]))
    if draw(st.booleans()):
        payload["token"] = draw(st.text(min_size=1, max_size=40))  # unchecked without auth
    return payload


malformed = st.fixed_dictionaries(
    {
        "decision": st.sampled_from([d.value for d in Decision])
        | st.sampled_from(["APPROVE", "yes", ""])
        | st.integers(),
        "reviewer": st.sampled_from([*REVIEWERS, "", "x" * 201]) | st.text(max_size=20),
    },
    optional={
        "comment": st.text(max_size=40) | st.just("c" * 10_001) | st.integers(),
        "output": edit_outputs | json_values,
        "review_id": st.text(max_size=12) | st.just("r" * 1_900_000),
        "token": st.text(max_size=40) | st.just("t" * 5000),
        "approved": st.booleans(),
    },
)
review_payloads = st.one_of(decisions(), decisions(), malformed, st.none() | json_values)
channels = st.sampled_from(["update", "signal"])


async def _send_raw(runs: AgentRunClient, run_id: str, payload: object, channel: str) -> None:
    """As a caller without our client would: no validation before the worker sees it."""
    handle = runs.temporal.get_workflow_handle(run_id)
    if channel == "signal":
        await handle.signal(SIGNAL_REVIEW, payload)
        return
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update(UPDATE_SUBMIT_REVIEW, payload, result_type=ReviewAck)


@dataclass
class Gate:
    """The review a run waits at, and what the test has seen refused there so far.

    Review ids carry a tag of the execution (``final-1-<16 hex>``): the strategies draw the
    plain names (``final-1``), which :meth:`named` turns into this execution's ids, so a drawn
    decision names the pending review, a later one, or (``FINAL-1``, ``""``) none at all.
    """

    runs: AgentRunClient
    run_id: str
    execution_id: str
    number: int = 1
    refused_signals: int = 0

    @classmethod
    async def at(cls, runs: AgentRunClient, run_id: str) -> "Gate":
        status = await wait_for_review(runs, run_id)
        assert status.execution_id is not None
        return cls(runs, run_id, status.execution_id)

    @property
    def review_id(self) -> str:
        return review_id_for("final", self.number, self.execution_id)

    def named(self, decision: ReviewDecision) -> ReviewDecision:
        plain = re.fullmatch(r"final-(\d+)", decision.review_id or "")
        if plain is None:
            return decision
        tagged = review_id_for("final", int(plain.group(1)), self.execution_id)
        return decision.model_copy(update={"review_id": tagged})

    async def signal_refused(self, why: str) -> None:
        """A refused signal is on the run's record, with its reason."""
        self.refused_signals += 1
        status = await eventually(
            lambda: self.runs.status(self.run_id),
            lambda s: len(s.rejected_reviews) == self.refused_signals,
        )
        assert why in status.rejected_reviews[-1].reason

    async def refused(self, decision: ReviewDecision | None, channel: str, why: str) -> None:
        if channel == "update":
            assert why in await self._refusal_of_update(decision)
        else:
            if decision is None:
                await _send_raw(self.runs, self.run_id, None, "signal")
            else:
                await self.runs.signal_review(self.run_id, decision)
            await self.signal_refused(why)
        status = await self.runs.status(self.run_id)
        assert status.state is RunState.REVIEWING
        assert status.pending_review is not None
        assert status.pending_review.review_id == self.review_id

    async def _refusal_of_update(self, decision: ReviewDecision | None) -> str:
        if decision is not None:
            with pytest.raises(AgentRunError, match="review refused") as refusal:
                await self.runs.review(self.run_id, decision)
            return str(refusal.value)
        handle = self.runs.temporal.get_workflow_handle(self.run_id)  # JSON null, as sent raw
        with pytest.raises(WorkflowUpdateFailedError) as failed:
            await handle.execute_update(UPDATE_SUBMIT_REVIEW, None, result_type=ReviewAck)
        return str(failed.value.cause)

    async def accepted(self, decision: ReviewDecision, channel: str) -> RunResult | None:
        """Send a decision that must count; the run's result when it ended, else None."""
        if channel == "update":
            ack = await self.runs.review(self.run_id, decision)
            assert (ack.review_id, ack.decision) == (self.review_id, decision.decision)
        else:
            await self.runs.signal_review(self.run_id, decision)
        if decision.decision is Decision.REQUEST_CHANGES:
            self.number += 1
            await eventually(
                lambda: self.runs.status(self.run_id),
                lambda s: (
                    s.pending_review is not None and s.pending_review.review_id == self.review_id
                ),
            )
            return None
        result = await _ended(self.runs, self.run_id)
        record = (await self.runs.status(self.run_id)).reviews[-1]
        assert (record.decision, record.reviewer) == (decision.decision, decision.reviewer)
        if decision.decision is Decision.REJECT:
            assert result.failure is not None
            assert result.failure.category is FailureCategory.REVIEW_REJECTED
        else:
            assert result.state is RunState.COMPLETED
            assert result.human_override is (decision.decision is Decision.EDIT)
        return result


def _client_refusal(decision: ReviewDecision) -> str | None:
    """An edit the typed client will not send: not JSON, or bigger than a run's input."""
    if decision.output is None:
        return None
    if not _encodes(decision.output):
        return "output: not JSON"
    if len(to_json(decision.output)) > MAX_EDIT_BYTES:
        return f"the limit is {MAX_EDIT_BYTES}"
    return None


def _refusal_reason(decision: ReviewDecision, review_id: str) -> str | None:
    """Without signed decisions: only a named reviewer, at the review it names (if any)."""
    if decision.review_id is not None and decision.review_id != review_id:
        return "does not match"
    if decision.reviewer not in REVIEWERS:
        return "not authorised"
    return None


@HOSTILE
@given(attempts=st.lists(st.tuples(review_payloads, channels), min_size=1, max_size=4))
@example(attempts=[(float("inf"), "signal"), (float("nan"), "signal")])  # sent as null
async def test_hostile_review_payloads_are_refused_and_the_run_still_ends(
    runs: AgentRunClient, attempts: list[tuple[object, str]]
) -> None:
    run_id = await runs.start(RunRequest(agent="reviewed", input={"key": "h"}))
    await wait_for_review(runs, run_id)
    gate = await Gate.at(runs, run_id)
    for payload, channel in attempts:
        if payload is None:  # JSON null: what a bare `temporal workflow signal` sends
            event("refused by the run: no decision")
            await gate.refused(None, channel, "no decision")
            continue
        try:
            decision = gate.named(ReviewDecision.model_validate(payload))
        except ValidationError as err:
            _names_a_field(err, payload)
            event("malformed: refused by the client, and raw by the worker")
            if _encodes(payload) and len(to_json(payload)) < RAW_LIMIT:
                await _send_raw(runs, run_id, payload, channel)
                if channel == "signal":  # not dropped: refused on the record, like any other
                    # A bare inf or NaN goes out as JSON null, which is no decision at all.
                    null = _sent_as(payload) == b"null"
                    await gate.signal_refused("no decision" if null else "invalid ReviewDecision")
            continue
        why = _client_refusal(decision)
        if why is not None:  # never leaves the client
            event(f"refused by the client: {why}")
            send = runs.review if channel == "update" else runs.signal_review
            with pytest.raises(AgentRunError, match="review refused") as refused:
                await send(run_id, decision)
            assert why in str(refused.value)
            continue
        why = _refusal_reason(decision, gate.review_id)
        event(f"refused by the run: {why}" if why else f"accepted: {decision.decision.value}")
        if why is not None:
            await gate.refused(decision, channel, why)
        elif await gate.accepted(decision, channel) is not None:
            return
    status = await runs.status(run_id)
    assert status.state is RunState.REVIEWING
    assert len(status.reviews) == gate.number - 1  # one per request_changes
    final = ReviewDecision(decision=Decision.APPROVE, reviewer="bob", review_id=gate.review_id)
    assert await gate.accepted(final, "update") is not None


async def test_an_edit_over_the_limit_is_refused_by_the_run_as_well_as_the_client(
    runs: AgentRunClient,
) -> None:
    run_id = await runs.start(RunRequest(agent="reviewed", input={"key": "e"}))
    await wait_for_review(runs, run_id)
    gate = await Gate.at(runs, run_id)
    near_temporal_limit = {"text": "x" * (2 * 1024 * 1024 - 400)}  # its refusal would not fit
    with pytest.raises(AgentRunError, match=f"the limit is {MAX_EDIT_BYTES}"):
        await runs.review(
            run_id,
            ReviewDecision(decision=Decision.EDIT, reviewer="alice", output=near_temporal_limit),
        )
    big = {"decision": "edit", "reviewer": "alice", "output": {"text": "x" * 600_000}}
    handle = runs.temporal.get_workflow_handle(run_id)  # raw, past the client's check
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(UPDATE_SUBMIT_REVIEW, big, result_type=ReviewAck)
    assert f"the limit is {MAX_EDIT_BYTES}" in str(refused.value.cause)
    await handle.signal(SIGNAL_REVIEW, big)
    status = await eventually(lambda: runs.status(run_id), lambda s: len(s.rejected_reviews) == 1)
    assert f"the limit is {MAX_EDIT_BYTES}" in status.rejected_reviews[0].reason
    edit = ReviewDecision(decision=Decision.EDIT, reviewer="alice", output={"text": "fine"})
    result = await gate.accepted(edit, "update")
    assert result is not None
    assert result.output == {"text": "fine"}


# ----------------------------------------------------------------------------- signed reviews


@dataclass
class Signed:
    runs: AgentRunClient
    key: SigningKey
    alice: ApiKeyInfo
    runner: ApiKeyInfo


@pytest.fixture
async def signed(temporal_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Signed]:
    """A worker that requires signed grants, with alice (reviewer) and a runner of tenant acme."""
    setup = signed_setup(
        tmp_path,
        "hostile-signed",
        [("alice", "alice", Role.REVIEWER, "acme"), ("runner", "ci-bot", Role.RUNNER, "acme")],
    )
    runs = AgentRunClient(temporal_env.client, task_queue=setup.settings.task_queue)
    async with build_worker(temporal_env.client, setup.settings):
        yield Signed(runs, setup.key, setup.holders["alice"], setup.holders["runner"])


async def _start_reviewed(signed: Signed, key: str) -> str:
    """A run of the reviewed agent, started with the runner's grant, now waiting for review."""
    request = RunRequest(
        agent="reviewed", tenant_id="acme", input={"key": key}, request_id=uuid.uuid4().hex
    )
    run_id = await start_signed(signed.runs, signed.key, signed.runner, request)
    await wait_for_review(signed.runs, run_id)
    return run_id


TOKEN_KINDS = ["valid", "valid", "none", "random", "truncated", "tampered", "other review"]
TOKEN_KINDS += ["other decision", "other run"]


@st.composite
def signed_attempts(draw: st.DrawFn) -> tuple[ReviewDecision, str, str]:
    verdict = draw(st.sampled_from(list(Decision)))
    decision = ReviewDecision(
        decision=verdict,
        reviewer=draw(st.sampled_from(["alice", "alice", "bob"])),
        comment=draw(st.text(min_size=1, max_size=20))
        if verdict is Decision.REQUEST_CHANGES
        else draw(st.none() | st.text(max_size=20)),
        output=draw(st.dictionaries(st.text(max_size=5), json_values, max_size=2))
        if verdict is Decision.EDIT
        else None,
        review_id=draw(st.none() | st.just("final-1")),
    )
    kind = draw(st.sampled_from(TOKEN_KINDS))
    # Where to cut or change a token, and random text to stand in for one.
    return decision, kind, draw(st.text(min_size=1, max_size=60))


def _token(
    signed: Signed, run_id: str, review_id: str, decision: ReviewDecision, *, kind: str, noise: str
) -> str | None:
    def mint(**changes: Any) -> str:
        claims: dict[str, Any] = {
            "run_id": run_id,
            "review_id": review_id,
            "decision": decision.decision,
            "comment": decision.comment,
            "output": decision.output,
            **changes,
        }
        return mint_review_grant(signed.key, signed.alice, now=datetime.now(UTC), ttl=TTL, **claims)

    if kind == "none":
        return None
    if kind == "random":  # also what an edit no grant can be minted for (NaN, infinity) gets
        return noise
    others = [d for d in Decision if d is not decision.decision]
    at = sum(map(ord, noise))  # a position derived from the example, so it shrinks with it
    valid = mint()
    tokens = {
        "valid": valid,
        "none": None,
        "random": noise,
        "truncated": valid[: at % (len(valid) - 1) + 1],
        "tampered": valid[: at % len(valid)]
        + ("A" if valid[at % len(valid)] != "A" else "B")
        + valid[at % len(valid) + 1 :],
        "other review": mint(review_id="final-9"),
        "other decision": mint(decision=others[at % len(others)]),
        "other run": mint(run_id=f"{run_id}-other"),
    }
    return tokens[kind]


def _signable(decision: ReviewDecision) -> bool:
    """NaN and infinity have no canonical JSON: no grant can be minted for such an edit."""
    try:
        decision_digest(decision.comment, decision.output)
    except ValueError:
        return False
    return True


@settings(HOSTILE, max_examples=12)
@given(attempts=st.lists(st.tuples(signed_attempts(), channels), min_size=1, max_size=3))
async def test_only_a_valid_grant_decides_a_signed_review(
    signed: Signed, attempts: list[tuple[tuple[ReviewDecision, str, str], str]]
) -> None:
    run_id = await _start_reviewed(signed, "s")
    gate = await Gate.at(signed.runs, run_id)
    for (drawn, given_kind, noise), channel in attempts:
        decision = gate.named(drawn)
        kind = given_kind if _signable(decision) or given_kind == "none" else "random"
        token = _token(signed, run_id, gate.review_id, decision, kind=kind, noise=noise)
        sent = decision.model_copy(update={"token": token})
        why = _refusal_reason(decision, gate.review_id)
        if why is None and (kind != "valid" or decision.reviewer != "alice"):  # alice's grants
            why = "signed decisions required" if token is None else "grant refused"
        event(f"refused by the run: {why}" if why else f"accepted: {decision.decision.value}")
        if why is not None:
            await gate.refused(sent, channel, why)
        elif await gate.accepted(sent, channel) is not None:
            return
    approve = ReviewDecision(decision=Decision.APPROVE, reviewer="alice")
    token = _token(signed, run_id, gate.review_id, approve, kind="valid", noise="-")
    assert await gate.accepted(approve.model_copy(update={"token": token}), "update") is not None


async def test_a_raw_decision_with_nan_is_refused_not_fatal(signed: Signed) -> None:
    """NaN is valid input to Temporal's JSON decoder but has no canonical JSON: checking a grant
    against it raised inside the signal handler, and the run failed every workflow task."""
    run_id = await _start_reviewed(signed, "n")
    raw = RawValue(
        Payload(
            metadata={"encoding": b"json/plain"},
            data=b'{"decision":"edit","reviewer":"alice","output":{"a":NaN},"token":"x"}',
        )
    )
    handle = signed.runs.temporal.get_workflow_handle(run_id)
    await handle.signal(SIGNAL_REVIEW, raw)
    status = await eventually(
        lambda: signed.runs.status(run_id), lambda s: len(s.rejected_reviews) == 1
    )
    assert "no canonical JSON" in status.rejected_reviews[0].reason
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(UPDATE_SUBMIT_REVIEW, raw, result_type=ReviewAck)
    assert "no canonical JSON" in str(refused.value.cause)
    gate = await Gate.at(signed.runs, run_id)
    approve = ReviewDecision(decision=Decision.APPROVE, reviewer="alice")
    token = _token(signed, run_id, gate.review_id, approve, kind="valid", noise="-")
    assert await gate.accepted(approve.model_copy(update={"token": token}), "update") is not None


# ----------------------------------------------------------------------------- tool output


class _Other(BaseModel):
    value: int


class _Unserialisable(BaseModel):
    value: object


anything = st.recursive(
    json_values
    | not_json
    | st.binary(max_size=6)
    | st.datetimes()
    | st.decimals()
    | st.sets(st.integers(), max_size=3),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=6), inner, max_size=3)
        | st.tuples(inner, inner)
    ),
    max_leaves=6,
)
near_output_limit = st.builds(
    lambda char, delta: _sized(char, MAX_OUTPUT_BYTES + delta), CHARS, st.integers(-80, 80)
)
report_like = st.fixed_dictionaries(
    {
        "value": st.text(max_size=30) | near_output_limit | anything,
        "count": st.integers(min_value=-2, max_value=10**20) | anything,
    },
    optional={
        "tags": st.lists(st.text(max_size=8), max_size=3) | anything,
        "debug": anything,
    },
)
tool_outputs = (
    report_like
    | anything
    | st.builds(Report, value=st.text(max_size=20), count=st.integers(0, 9))
    | st.builds(_Other, value=st.integers())
    | st.builds(_Unserialisable, value=st.builds(object))
    | st.builds(PartialResult, report_like | anything)
)


def _valid_report(output: object) -> Report | None:
    """What the contract accepts: the declared model, as JSON, within the size limit."""
    raw = output.data if isinstance(output, PartialResult) else output
    try:
        report = Report.model_validate(
            raw.model_dump(mode="json") if isinstance(raw, BaseModel) else raw
        )
        size = len(to_json(report.model_dump(mode="json")))
    except (ValidationError, PydanticSerializationError):
        return None
    return report if size <= MAX_OUTPUT_BYTES else None


@HOSTILE
@given(output=tool_outputs)
async def test_garbage_tool_output_is_a_contract_violation_never_a_retry_or_a_stuck_run(
    runs: AgentRunClient, output: object
) -> None:
    key = uuid.uuid4().hex
    OUTPUTS[key] = output
    try:
        result = await _ended(runs, await runs.start(RunRequest(agent=AGENT, input={"key": key})))
    finally:
        del OUTPUTS[key]
    [call] = (await runs.status(result.run_id)).tool_calls
    report = _valid_report(output)
    event("completed" if report is not None else "contract_violation")
    if report is not None:
        assert result.state is RunState.COMPLETED, result.failure
        assert result.output == redact_value(report.model_dump(mode="json"))
        assert (call.status, call.attempts) in (("success", 1), ("partial", 1))
        return
    assert result.failure is not None
    assert (result.failure.category, result.failure.field) == (
        FailureCategory.CONTRACT_VIOLATION,
        f"tools.{TOOL}",
    )
    assert "output breaks contract" in result.failure.message
    # Refused on the first attempt: retrying cannot make broken output valid.
    assert (call.status, call.attempts, call.error_class) == ("error", 1, "contract_violation")

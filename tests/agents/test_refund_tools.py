"""The refund agent's tools called directly, without Temporal: behaviour, failures and dedup."""

import asyncio
import base64
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from agentrun.activities.errors import classify
from agentrun.agents.errors import ToolError
from agentrun.agents.refund import (
    REFUND_AGENT_NAME,
    REFUND_SAMPLE_INPUT,
    RefundRequest,
    build_refund_agent,
    build_refund_agent_v1,
    count_refunds,
    db,
    register,
)
from agentrun.agents.refund.tools import (
    EmailParams,
    NoteParams,
    OrderRef,
    RefundParams,
    add_order_note,
    get_shipping_status,
    get_shipping_status_cached,
    issue_refund,
    lookup_order,
    send_email,
)
from agentrun.agents.registry import AgentRegistry, ToolContext
from agentrun.contracts.agents import ReviewMode, ReviewPolicy
from agentrun.contracts.prepare import PrepareResult
from agentrun.contracts.tools import RequestContext, SideEffect, ToolPolicy


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    db.setup(tmp_path)
    return tmp_path


def make_ctx(data_dir: Path, key: str = "key-1", attempt: int = 1) -> ToolContext:
    request = RequestContext(
        user_id="u1",
        tenant_id="t1",
        request_id="req-1",
        run_id="run-1",
        trace_id="trace-1",
        timestamp=datetime(2025, 1, 1, tzinfo=UTC),
    )
    return ToolContext(request=request, idempotency_key=key, attempt=attempt, data_dir=data_dir)


def refund(order_id: str = "1001", amount: float = 250.0) -> RefundParams:
    return RefundParams(order_id=order_id, amount=amount, reason="arrived broken")


def test_setup_is_idempotent(data_dir: Path) -> None:
    db.setup(data_dir)
    order = db.get_order(data_dir, "1001")
    assert order is not None
    assert order.customer_email == "alice.buyer@example.com"
    assert order.total == 320.0


async def test_lookup_order_found(data_dir: Path) -> None:
    out = await lookup_order(OrderRef(order_id="1001"), make_ctx(data_dir))
    assert out.customer_email == "alice.buyer@example.com"
    assert (out.total, out.currency, out.status) == (320.0, "EUR", "delivered")


async def test_lookup_unknown_order_is_permanent_404(data_dir: Path) -> None:
    with pytest.raises(ToolError, match="order 9999 not found") as info:
        await lookup_order(OrderRef(order_id="9999"), make_ctx(data_dir))
    assert info.value.status_code == 404
    assert not classify(info.value).retryable


async def test_shipping_live_for_healthy_carrier(data_dir: Path) -> None:
    out = await get_shipping_status(OrderRef(order_id="1004"), make_ctx(data_dir))
    assert (out.status, out.source) == ("in_transit", "live")


async def test_shipping_flaky_carrier_fails_first_attempt_only(data_dir: Path) -> None:
    with pytest.raises(ToolError) as info:
        await get_shipping_status(OrderRef(order_id="1002"), make_ctx(data_dir, attempt=1))
    assert info.value.status_code == 503
    assert classify(info.value).retryable
    out = await get_shipping_status(OrderRef(order_id="1002"), make_ctx(data_dir, attempt=2))
    assert (out.status, out.source) == ("delivered", "live")


@pytest.mark.parametrize("attempt", [1, 2, 3])
async def test_shipping_down_carrier_always_503(data_dir: Path, attempt: int) -> None:
    with pytest.raises(ToolError, match="carrier API unavailable") as info:
        await get_shipping_status(OrderRef(order_id="1003"), make_ctx(data_dir, attempt=attempt))
    assert info.value.status_code == 503


async def test_cached_fallback_serves_down_carrier(data_dir: Path) -> None:
    out = await get_shipping_status_cached(OrderRef(order_id="1003"), make_ctx(data_dir))
    assert (out.order_id, out.status, out.source) == ("1003", "delivered", "cache")


async def test_issue_refund_same_key_refunds_once(data_dir: Path) -> None:
    first = await issue_refund(refund(), make_ctx(data_dir, key="k", attempt=1))
    again = await issue_refund(refund(), make_ctx(data_dir, key="k", attempt=2))
    assert first == again
    assert first.status == "issued"
    assert first.refund_id.startswith("rf_")
    assert count_refunds(data_dir) == 1
    assert count_refunds(data_dir, "1001") == 1


async def test_issue_refund_racing_attempts_refund_once(data_dir: Path) -> None:
    receipts = await asyncio.gather(
        *(issue_refund(refund(), make_ctx(data_dir, key="race")) for _ in range(8))
    )
    assert len({r.refund_id for r in receipts}) == 1
    assert count_refunds(data_dir) == 1


async def test_issue_refund_different_keys_are_different_refunds(data_dir: Path) -> None:
    a = await issue_refund(refund(amount=100), make_ctx(data_dir, key="a"))
    b = await issue_refund(refund(amount=100), make_ctx(data_dir, key="b"))
    assert a.refund_id != b.refund_id
    assert count_refunds(data_dir, "1001") == 2
    assert count_refunds(data_dir, "1002") == 0


async def test_issue_refund_above_total_is_permanent_422(data_dir: Path) -> None:
    with pytest.raises(ToolError, match="exceeds order 1004 total") as info:
        await issue_refund(refund(order_id="1004", amount=50.0), make_ctx(data_dir))
    assert info.value.status_code == 422
    assert not classify(info.value).retryable
    assert count_refunds(data_dir) == 0


async def test_issue_refund_unknown_order_404(data_dir: Path) -> None:
    with pytest.raises(ToolError) as info:
        await issue_refund(refund(order_id="9999", amount=10), make_ctx(data_dir))
    assert info.value.status_code == 404
    assert count_refunds(data_dir) == 0


async def test_send_email_dedupes_on_key(data_dir: Path) -> None:
    params = EmailParams(to="alice.buyer@example.com", subject="Your refund", body="Done.")
    first = await send_email(params, make_ctx(data_dir, key="mail"))
    again = await send_email(params, make_ctx(data_dir, key="mail", attempt=2))
    other = await send_email(params, make_ctx(data_dir, key="mail-2"))
    assert first == again
    assert first.queued
    assert other.email_id != first.email_id
    assert db.count_emails(data_dir) == 2


async def test_add_order_note_dedupes_on_key(data_dir: Path) -> None:
    params = NoteParams(order_id="1001", note="refund issued")
    first = await add_order_note(params, make_ctx(data_dir, key="note"))
    again = await add_order_note(params, make_ctx(data_dir, key="note", attempt=2))
    assert first == again
    assert first.order_id == "1001"
    assert db.count_notes(data_dir, "1001") == 1


def test_params_reject_bad_values() -> None:
    with pytest.raises(ValidationError):
        EmailParams(to="not-an-email", subject="s", body="b")
    with pytest.raises(ValidationError):
        RefundParams(order_id="1001", amount=0, reason="x")
    with pytest.raises(ValidationError):
        OrderRef.model_validate({"order_id": "1001", "extra": 1})


def test_refund_request_accepts_sample_input() -> None:
    request = RefundRequest.model_validate(REFUND_SAMPLE_INPUT)
    assert request.model_dump() == {"order_id": "1001", "reason": "arrived broken", "amount": 250.0}


def test_refund_request_rejects_bad_order_id_naming_the_field() -> None:
    with pytest.raises(ValidationError) as info:
        RefundRequest.model_validate({"order_id": "abc", "reason": "broken", "amount": 10})
    errors = info.value.errors()
    assert [e["loc"] for e in errors] == [("order_id",)]


def test_register_and_bench_variant_share_tools() -> None:
    registry = AgentRegistry()
    never = ReviewPolicy(mode=ReviewMode.NEVER, sample_rate=0)
    registry.register(build_refund_agent("bench", review=never, email_approval=False))
    register(registry)
    assert registry.versions(REFUND_AGENT_NAME) == ["1", "2", "bench"]
    default = registry.resolve(REFUND_AGENT_NAME)
    assert default.spec.version == "2"
    assert default.spec.reviewers == ("alice", "bob")
    bench = registry.resolve(REFUND_AGENT_NAME, "bench")
    assert bench.spec.review.mode is ReviewMode.NEVER
    email = default.spec.tool("send_email")
    assert email is not None
    assert email.requires_approval
    unattended = bench.spec.tool("send_email")
    assert unattended is not None
    assert unattended.policy() == email.policy().model_copy(update={"requires_approval": False})


def test_the_sample_gates_each_side_effect_before_it_happens() -> None:
    """Nothing irreversible is left for a review after the fact: the answer is not reviewed,
    because every step a person must approve waits for them before it runs."""
    spec = build_refund_agent().spec
    assert spec.review.mode is ReviewMode.NEVER
    assert spec.review.sample_rate == 0
    gated = {t.name for t in spec.tools if t.requires_approval or t.approval_above}
    assert gated == {"issue_refund", "send_email"}
    irreversible = {t.name for t in spec.tools if t.side_effect is not SideEffect.NONE}
    assert irreversible - gated == {"add_order_note"}  # internal and idempotent
    script = spec.model.scripted.script
    assert [s.tool for s in script if s.tool] == [
        "lookup_order",
        "get_shipping_status",
        "issue_refund",
        "send_email",
        "add_order_note",
    ]
    assert script[-1].final is not None
    assert script[-1].confidence == 0.92
    assert all(spec.tool(s.tool) is not None for s in script if s.tool)


def test_version_1_is_still_the_snapshot_its_runs_in_flight_began_with() -> None:
    """Upgrading a worker must not change how a version's runs in flight go on: refund@1's gates
    and review are those its recorded run holds in its PREPARING marker. (That run predates
    the trust labels and policies added to version 1 before versions were pinned.)"""
    history = json.loads(
        (
            Path(__file__).resolve().parents[1] / "histories" / "refund_gate_and_review.json"
        ).read_text()
    )
    marker = next(e for e in history["events"] if "markerRecordedEventAttributes" in e)
    [payload] = marker["markerRecordedEventAttributes"]["details"]["result"]["payloads"]
    recorded = PrepareResult.model_validate_json(base64.b64decode(payload["data"]))
    assert recorded.plan is not None
    plan = build_refund_agent_v1().spec.plan()

    def gates(tools: tuple[ToolPolicy, ...]) -> dict[str, tuple[object, ...]]:
        return {
            t.name: (t.side_effect, t.requires_approval, t.approval_above, t.fallback, t.retry)
            for t in tools
        }

    assert gates(plan.tools) == gates(recorded.plan.tools)
    assert (plan.review, plan.reviewers) == (recorded.plan.review, recorded.plan.reviewers)
    registry = AgentRegistry()
    register(registry)
    assert registry.versions(REFUND_AGENT_NAME) == ["1", "2"]
    assert registry.resolve(REFUND_AGENT_NAME).spec.version == "2"

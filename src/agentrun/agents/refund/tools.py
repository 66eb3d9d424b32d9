"""The refund agent's tools, each declared once with the contract the platform enforces.

Failures are deterministic (driven by the order's carrier, never by chance) so that tests and
benchmarks can rely on exactly which calls retry and which fall back. Writers derive their ids
from the idempotency key, so a retried attempt returns the very same record.
"""

import asyncio
import hashlib
from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from agentrun.agents.errors import ToolError
from agentrun.agents.refund import db
from agentrun.agents.registry import ToolContext, ToolDefinition, define_tool
from agentrun.contracts.tools import RetentionClass, RetrySpec, RiskLevel, SideEffect

LOOKUP_ORDER = "lookup_order"
GET_SHIPPING_STATUS = "get_shipping_status"
GET_SHIPPING_STATUS_CACHED = "get_shipping_status_cached"
ISSUE_REFUND = "issue_refund"
SEND_EMAIL = "send_email"
ADD_ORDER_NOTE = "add_order_note"

ORDER_ID_PATTERN = r"^\d{4,10}$"
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
MAX_REFUND = 10_000.0
APPROVAL_ABOVE_AMOUNT = 100.0

# Simulated carrier APIs: one that fails its first attempt, one that is down for good.
FLAKY_CARRIER = "flaky-express"
DOWN_CARRIER = "down-logistics"


class OrderRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_id: str = Field(pattern=ORDER_ID_PATTERN)


class OrderInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_id: str
    customer_email: str
    customer_name: str
    total: float
    currency: str
    status: str


class ShippingStatus(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_id: str
    status: str
    source: Literal["live", "cache"]


class RefundParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_id: str = Field(pattern=ORDER_ID_PATTERN)
    amount: float = Field(gt=0, le=MAX_REFUND)
    reason: str = Field(min_length=1, max_length=500)


class RefundReceipt(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refund_id: str
    order_id: str
    amount: float
    status: Literal["issued"] = "issued"


class EmailParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: str = Field(pattern=EMAIL_PATTERN, max_length=254)
    subject: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=5000)


class EmailReceipt(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email_id: str
    # True once the email is in the outbox, including when an earlier attempt put it there.
    queued: bool


class NoteParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_id: str = Field(pattern=ORDER_ID_PATTERN)
    note: str = Field(min_length=1, max_length=2000)


class NoteReceipt(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note_id: str
    order_id: str


def record_id(prefix: str, idempotency_key: str) -> str:
    """Same key, same id: what makes a repeated write recognisable as the same write."""
    return prefix + hashlib.sha256(idempotency_key.encode()).hexdigest()[:12]


async def _order(ctx: ToolContext, order_id: str) -> db.Order:
    order = await asyncio.to_thread(db.get_order, ctx.data_dir, order_id)
    if order is None:
        raise ToolError(f"order {order_id} not found", status_code=404)
    return order


async def lookup_order(params: OrderRef, ctx: ToolContext) -> OrderInfo:
    order = await _order(ctx, params.order_id)
    return OrderInfo(
        order_id=order.order_id,
        customer_email=order.customer_email,
        customer_name=order.customer_name,
        total=order.total,
        currency=order.currency,
        status=order.status,
    )


async def _cached_status(ctx: ToolContext, order_id: str) -> str:
    status = await asyncio.to_thread(db.get_cached_shipping_status, ctx.data_dir, order_id)
    if status is None:
        raise ToolError(f"no shipping status for order {order_id}", status_code=404)
    return status


async def get_shipping_status(params: OrderRef, ctx: ToolContext) -> ShippingStatus:
    order = await _order(ctx, params.order_id)
    if order.carrier == DOWN_CARRIER:
        raise ToolError("carrier API unavailable", status_code=503)
    if order.carrier == FLAKY_CARRIER and ctx.attempt == 1:
        raise ToolError("carrier API busy, try again", status_code=503)
    status = await _cached_status(ctx, order.order_id)
    return ShippingStatus(order_id=order.order_id, status=status, source="live")


async def get_shipping_status_cached(params: OrderRef, ctx: ToolContext) -> ShippingStatus:
    status = await _cached_status(ctx, params.order_id)
    return ShippingStatus(order_id=params.order_id, status=status, source="cache")


async def _refundable(ctx: ToolContext, params: RefundParams) -> db.Order:
    """The order, when it exists and covers the amount: what a refund, real or dry, checks."""
    order = await _order(ctx, params.order_id)
    if params.amount > order.total:
        raise ToolError(
            f"refund {params.amount:.2f} exceeds order {order.order_id} total "
            f"{order.total:.2f} {order.currency}",
            status_code=422,
        )
    return order


async def issue_refund(params: RefundParams, ctx: ToolContext) -> RefundReceipt:
    key = ctx.idempotency_key
    done = await asyncio.to_thread(db.find_refund, ctx.data_dir, key)
    if done is None:
        order = await _refundable(ctx, params)
        done = await asyncio.to_thread(
            db.insert_refund,
            ctx.data_dir,
            refund_id=record_id("rf_", key),
            key=key,
            order_id=order.order_id,
            amount=params.amount,
            reason=params.reason,
        )
    return RefundReceipt(refund_id=done.refund_id, order_id=done.order_id, amount=done.amount)


async def issue_refund_dry(params: RefundParams, ctx: ToolContext) -> RefundReceipt:
    """An evaluation's refund: the same checks as a real one, and no money moves."""
    order = await _refundable(ctx, params)
    return RefundReceipt(
        refund_id=record_id("dry_rf_", ctx.idempotency_key),
        order_id=order.order_id,
        amount=params.amount,
    )


async def send_email(params: EmailParams, ctx: ToolContext) -> EmailReceipt:
    email_id = await asyncio.to_thread(
        db.queue_email,
        ctx.data_dir,
        email_id=record_id("em_", ctx.idempotency_key),
        key=ctx.idempotency_key,
        to_addr=params.to,
        subject=params.subject,
        body=params.body,
    )
    return EmailReceipt(email_id=email_id, queued=True)


async def send_email_dry(params: EmailParams, ctx: ToolContext) -> EmailReceipt:  # noqa: ARG001
    """An evaluation's email: nothing is queued, and the receipt says so."""
    return EmailReceipt(email_id=record_id("dry_em_", ctx.idempotency_key), queued=False)


async def add_order_note(params: NoteParams, ctx: ToolContext) -> NoteReceipt:
    order = await _order(ctx, params.order_id)
    note_id = await asyncio.to_thread(
        db.add_note,
        ctx.data_dir,
        note_id=record_id("nt_", ctx.idempotency_key),
        key=ctx.idempotency_key,
        order_id=order.order_id,
        note=params.note,
    )
    return NoteReceipt(note_id=note_id, order_id=order.order_id)


LOOKUP_ORDER_TOOL = define_tool(
    lookup_order,
    name=LOOKUP_ORDER,
    description="Fetch an order with its customer's contact details, total and status.",
    params=OrderRef,
    output=OrderInfo,
    private_data=True,  # the customer's name and address
)
GET_SHIPPING_STATUS_TOOL = define_tool(
    get_shipping_status,
    name=GET_SHIPPING_STATUS,
    description="Ask the order's carrier for its current shipping status.",
    params=OrderRef,
    output=ShippingStatus,
    timeout=timedelta(seconds=5),
    retry=RetrySpec(
        max_attempts=3,
        initial_interval=timedelta(milliseconds=200),
        max_interval=timedelta(seconds=1),
    ),
    fallback=GET_SHIPPING_STATUS_CACHED,
)
GET_SHIPPING_STATUS_CACHED_TOOL = define_tool(
    get_shipping_status_cached,
    name=GET_SHIPPING_STATUS_CACHED,
    description="Last known shipping status from our cache; may lag the carrier.",
    params=OrderRef,
    output=ShippingStatus,
)


async def add_order_note_dry(params: NoteParams, ctx: ToolContext) -> NoteReceipt:
    order = await _order(ctx, params.order_id)
    return NoteReceipt(note_id=record_id("dry_nt_", ctx.idempotency_key), order_id=order.order_id)


ISSUE_REFUND_TOOL = define_tool(
    issue_refund,
    name=ISSUE_REFUND,
    description="Refund part or all of an order's total to the customer's original payment.",
    params=RefundParams,
    output=RefundReceipt,
    side_effect=SideEffect.NON_IDEMPOTENT,
    accepts_idempotency_key=True,
    timeout=timedelta(seconds=10),
    retry=RetrySpec(max_attempts=3, initial_interval=timedelta(milliseconds=500)),
    approval_above={"amount": APPROVAL_ABOVE_AMOUNT},
    risk=RiskLevel.HIGH,
    retention=RetentionClass.LEGAL_7Y,
    dry_run=issue_refund_dry,
)


def _send_email_tool(*, approval: bool) -> ToolDefinition:
    return define_tool(
        send_email,
        name=SEND_EMAIL,
        description="Queue an email to a customer"
        + ("; a person approves its text before it goes out." if approval else "."),
        params=EmailParams,
        output=EmailReceipt,
        side_effect=SideEffect.IDEMPOTENT,
        accepts_idempotency_key=True,
        exfiltration=True,  # it sends text to an outside address
        # What the customer is told cannot be taken back: a person reads it first (the review
        # gates the side effect, rather than checking the run's answer after the email went out).
        requires_approval=approval,
        dry_run=send_email_dry,
    )


SEND_EMAIL_TOOL = _send_email_tool(approval=True)
ADD_ORDER_NOTE_TOOL = define_tool(
    add_order_note,
    name=ADD_ORDER_NOTE,
    description="Attach an internal note to an order for the support team.",
    params=NoteParams,
    output=NoteReceipt,
    side_effect=SideEffect.IDEMPOTENT,
    accepts_idempotency_key=True,
    dry_run=add_order_note_dry,
)

# Module-level so every agent version shares the same tool functions (the registry requires it).
REFUND_TOOLS = (
    LOOKUP_ORDER_TOOL,
    GET_SHIPPING_STATUS_TOOL,
    GET_SHIPPING_STATUS_CACHED_TOOL,
    ISSUE_REFUND_TOOL,
    SEND_EMAIL_TOOL,
    ADD_ORDER_NOTE_TOOL,
)
# The same tools with emails sent unattended: for benchmarks, which run without a person.
UNATTENDED_REFUND_TOOLS = tuple(
    _send_email_tool(approval=False) if tool is SEND_EMAIL_TOOL else tool for tool in REFUND_TOOLS
)

"""The refund agent: a customer-support agent that refunds an order and tells the customer.

It exercises the platform end to end: a permanent error (unknown order), a retried read
(flaky carrier), a fallback (carrier down), an approval-gated non-idempotent write (refunds above
100), an email a person approves before it goes out, and an idempotent internal note. It shows
how review gates side effects: each irreversible step waits for its person *before* it happens,
so nothing is left for a review of the answer to undo.

Importing this module registers nothing; ``register`` does, so a benchmark can register its own
variant through ``build_refund_agent`` instead.
"""

from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from agentrun.agents.refund import db
from agentrun.agents.refund.db import count_refunds
from agentrun.agents.refund.tools import (
    ADD_ORDER_NOTE,
    GET_SHIPPING_STATUS,
    ISSUE_REFUND,
    LOOKUP_ORDER,
    MAX_REFUND,
    ORDER_ID_PATTERN,
    REFUND_TOOLS,
    SEND_EMAIL,
    UNATTENDED_REFUND_TOOLS,
)
from agentrun.agents.registry import AgentDefinition, AgentRegistry
from agentrun.contracts.agents import (
    AgentSpec,
    EscalationPolicy,
    ModelSettings,
    ReviewMode,
    ReviewPolicy,
    ScriptedOptions,
    ScriptStep,
    StateDeadlines,
)
from agentrun.contracts.trust import Public, Trusted, Untrusted
from agentrun.logic.policy import load_policy_file

__all__ = [
    "REFUND_AGENT_NAME",
    "REFUND_AGENT_VERSION",
    "REFUND_REVIEWERS",
    "REFUND_SAMPLE_INPUT",
    "REFUND_SCRIPT",
    "REFUND_SYSTEM_PROMPT",
    "RefundRequest",
    "build_refund_agent",
    "count_refunds",
    "register",
]

REFUND_AGENT_NAME = "refund"
# 2: the customer email is behind its own approval, and no review follows the side effects
# (version 1 reviewed the answer after the refund and the email had already happened).
REFUND_AGENT_VERSION = "2"
REFUND_REVIEWERS = ("alice", "bob")
REFUND_MAX_STEPS = 12
REFUND_SAMPLE_INPUT: dict[str, Any] = {
    "order_id": "1001",
    "reason": "arrived broken",
    "amount": 250,
}


class RefundRequest(BaseModel):
    """What a support ticket must carry before the agent may act on it.

    Trust labels (docs/governance.md): the order id and amount are checked shapes that carry no
    instructions and no one's personal data; the reason is what the customer wrote, so it counts
    as private and untrusted, and with it the lethal-trifecta rule puts every email (a tool that
    sends data out) in front of a person, whatever the injection screen says.
    """

    model_config = ConfigDict(extra="forbid")

    order_id: Annotated[str, Public, Trusted] = Field(pattern=ORDER_ID_PATTERN)
    reason: Annotated[str, Untrusted] = Field(min_length=1, max_length=500)
    amount: Annotated[float, Public, Trusted] = Field(gt=0, le=MAX_REFUND)


class UnattendedRefundRequest(RefundRequest):
    """For benchmarks, which send emails with no person and write every reason themselves: the
    reason is trusted there, or the trifecta rule would stop each run for a reviewer."""

    reason: Annotated[str, Trusted] = Field(min_length=1, max_length=500)


REFUND_SYSTEM_PROMPT = """\
You are a customer-support agent for an online shop, handling refund requests.

For every request:
1. Look up the order with lookup_order. If it does not exist, stop and say so.
2. Check where the parcel is with get_shipping_status; a cached status is acceptable when the
   carrier cannot be reached.
3. Issue the refund with issue_refund, for the requested amount only. Never refund more than the
   order total and never issue a second refund for the same request.
4. Email the customer at the address on the order with send_email: confirm the amount, the refund
   reference and when to expect the money. Be brief, polite and factual; promise nothing else.
5. Record what you did on the order with add_order_note, so colleagues can see it.

Finish with a JSON answer holding refund_id, order_id, amount, shipping_status, customer_notified
and a one-sentence summary. Refunds above 100 need a human approval, and a person approves every
email before it is sent: if they ask for changes, rewrite the email as they say. If anything is
unclear, say so in the summary rather than guessing.
"""

# Version 1's prompt, kept for its runs in flight (see ``register``).
REFUND_SYSTEM_PROMPT_V1 = REFUND_SYSTEM_PROMPT.replace(
    "Refunds above 100 need a human approval, and a person approves every\nemail before it is "
    "sent: if they ask for changes, rewrite the email as they say. If anything is\nunclear, say "
    "so in the summary rather than guessing.\n",
    "Refunds above 100 need a human approval; a reviewer checks your\nanswer before it is "
    "released. If anything is unclear, say so in the summary rather than guessing.\n",
)

_ORDER_ID = "{{input.order_id}}"

REFUND_SCRIPT: tuple[ScriptStep, ...] = (
    ScriptStep(tool=LOOKUP_ORDER, args={"order_id": _ORDER_ID}),
    ScriptStep(tool=GET_SHIPPING_STATUS, args={"order_id": _ORDER_ID}),
    ScriptStep(
        tool=ISSUE_REFUND,
        args={"order_id": _ORDER_ID, "amount": "{{input.amount}}", "reason": "{{input.reason}}"},
    ),
    ScriptStep(
        tool=SEND_EMAIL,
        args={
            "to": "{{tools.lookup_order.customer_email}}",
            "subject": "Your refund for order {{input.order_id}}",
            "body": (
                "Hello {{tools.lookup_order.customer_name}},\n\n"
                "We have refunded {{input.amount}} {{tools.lookup_order.currency}} for order "
                "{{input.order_id}} ({{input.reason}}) to your original payment method. "
                "Your refund reference is {{tools.issue_refund.refund_id}}; the money usually "
                "shows on your statement within 5 to 10 business days.\n\n"
                "Kind regards,\nCustomer Support"
            ),
        },
    ),
    ScriptStep(
        tool=ADD_ORDER_NOTE,
        args={
            "order_id": _ORDER_ID,
            "note": "refund {{tools.issue_refund.refund_id}} issued: {{input.reason}}",
        },
    ),
    ScriptStep(
        final={
            "refund_id": "{{tools.issue_refund.refund_id}}",
            "order_id": _ORDER_ID,
            "amount": "{{input.amount}}",
            "shipping_status": "{{tools.get_shipping_status.status}}",
            "customer_notified": True,
            "summary": (
                "Refunded {{input.amount}} {{tools.lookup_order.currency}} on order "
                "{{input.order_id}} ({{input.reason}}) and emailed the customer at "
                "{{tools.lookup_order.customer_email}}."
            ),
        },
        confidence=0.92,
    ),
)


# Read when the agent is built (a worker starts): an invalid file stops it, naming the rule.
REFUND_POLICY_FILE = Path(__file__).with_name("policy.yaml")


def build_refund_agent(
    version: str = REFUND_AGENT_VERSION,
    review: ReviewPolicy | None = None,
    deadlines: StateDeadlines | None = None,
    escalation: EscalationPolicy | None = None,
    *,
    email_approval: bool = True,
    system_prompt: str = REFUND_SYSTEM_PROMPT,
    description: str = "Refunds an order after checking it, then notifies the customer.",
) -> AgentDefinition:
    """Build the refund agent, or a variant of it under another version (e.g. for a benchmark).

    All variants share the same tool functions, so several versions can live in one registry.
    ``email_approval=False`` sends emails without a person (benchmarks run unattended).
    """
    tools = REFUND_TOOLS if email_approval else UNATTENDED_REFUND_TOOLS
    spec = AgentSpec(
        name=REFUND_AGENT_NAME,
        version=version,
        description=description,
        system_prompt=system_prompt,
        model=ModelSettings(
            provider="scripted", model="scripted-1", scripted=ScriptedOptions(script=REFUND_SCRIPT)
        ),
        tools=tuple(t.contract for t in tools),
        max_steps=REFUND_MAX_STEPS,
        # Every side effect that needs a person has its own gate before it happens (refunds above
        # 100, every email): a review of the answer afterwards could only audit, not prevent.
        review=review or ReviewPolicy(mode=ReviewMode.NEVER, sample_rate=0.0),
        deadlines=deadlines or StateDeadlines(),
        escalation=escalation or EscalationPolicy(),
        reviewers=REFUND_REVIEWERS,
        policies=(load_policy_file(REFUND_POLICY_FILE),),
    )
    return AgentDefinition(
        spec=spec,
        input_model=RefundRequest if email_approval else UnattendedRefundRequest,
        tools=tools,
        setup=db.setup,
        example_input=REFUND_SAMPLE_INPUT,
    )


def build_refund_agent_v1() -> AgentDefinition:
    """Version 1 as it was: the email unattended, the answer reviewed after everything happened.

    Not an example to follow (see the module docstring); registered only so that its runs in
    flight when a worker is upgraded still find their version and finish as they began.
    """
    return build_refund_agent(
        "1",
        review=ReviewPolicy(mode=ReviewMode.ALWAYS),
        email_approval=False,
        system_prompt=REFUND_SYSTEM_PROMPT_V1,
        description="Kept for its runs in flight: reviews the answer after the refund and email.",
    )


def register(registry: AgentRegistry) -> None:
    # default=True keeps the current version the default whatever else is registered first.
    registry.register(build_refund_agent(), default=True)
    registry.register(build_refund_agent_v1())

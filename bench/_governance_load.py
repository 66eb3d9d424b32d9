"""What the governance benchmark decides on: policies of 1 and 100 rules, a call, a 4 KB text.

The 100-rule policy is a realistic mix of kinds (allow-list, budget, loop, lethal trifecta and
argument constraints of every operator), and every one of its rules applies to the pending call
at before_tool: the engine's per-tool index cannot skip any, so the row measures 100 evaluated
rules, not 100 written ones. A second policy spreads the same number of rules over a catalogue
of tools, as a real agent's would be, to show what the index saves.
"""

from datetime import UTC, datetime
from typing import Any

from agentrun.contracts.policy import Checkpoint, PolicyDecision, PolicyDocument
from agentrun.contracts.tools import RetentionClass, ToolPolicy
from agentrun.logic.policy import RunFacts, parse_policy
from agentrun.store.audit import GENESIS_HASH, AuditKind

TOOL = "issue_refund"
CATALOGUE = (
    TOOL,
    "lookup_order",
    "get_shipping_status",
    "send_email",
    "add_order_note",
    "search_kb",
    "create_ticket",
    "update_address",
)
ARGS: dict[str, Any] = {
    "order_id": "1001",
    "amount": 250.0,
    "currency": "EUR",
    "reason": "arrived broken",
    "channel": "email",
    "customer": {"id": "c-42", "tier": "gold", "address": {"country": "FR", "zip": "75001"}},
    "items": [{"sku": "A-100", "qty": 1, "price": 200.0}, {"sku": "B-7", "qty": 2, "price": 25.0}],
    **{f"field_{n}": n * 10 for n in range(20)},
    **{f"note_{n}": f"free text number {n}" for n in range(10)},
}

# (path, constraint) pairs that all hold for ARGS: each is one rule, cycled to fill the policy.
_CONSTRAINTS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("amount", {"max": 500}),
    ("amount", {"min": 0.01}),
    ("currency", {"one_of": ["EUR", "USD", "GBP"]}),
    ("order_id", {"pattern": r"\d{4,10}"}),
    ("reason", {"max_length": 500}),
    ("reason", {"not_one_of": ["test", "admin"]}),
    ("channel", {"one_of": ["email", "chat", "phone"]}),
    ("customer.tier", {"not_one_of": ["blocked"]}),
    ("customer.address.country", {"pattern": "[A-Z]{2}"}),
    ("items.0.price", {"max": 1000}),
    ("items.1.qty", {"min": 1, "max": 10}),
    ("items", {"max_length": 50}),
)


def _common_rules() -> list[dict[str, Any]]:
    return [
        {"id": "tools", "kind": "tool_allowlist", "tools": list(CATALOGUE)},
        {
            "id": "budget",
            "kind": "budget",
            "max_steps": 50,
            "max_tokens": 200_000,
            "max_cost_usd": 5.0,
        },
        {"id": "loops", "kind": "loop", "max_identical_calls": 3},
        {"id": "trifecta", "kind": "lethal_trifecta"},
    ]


def _constraint_rules(count: int, tools: tuple[str, ...]) -> list[dict[str, Any]]:
    rules = []
    for n in range(count):
        path, constraint = _CONSTRAINTS[n % len(_CONSTRAINTS)]
        if n >= len(_CONSTRAINTS):
            field = n % 30
            path, constraint = (
                (f"field_{field}", {"min": 0, "max": 10_000})
                if field < 20
                else (f"note_{field - 20}", {"max_length": 200})
            )
        rules.append(
            {
                "id": f"arg-{n}",
                "kind": "arg_constraint",
                "tool": tools[n % len(tools)],
                "path": path,
                **constraint,
            }
        )
    return rules


def _document(policy_id: str, rules: list[dict[str, Any]]) -> PolicyDocument:
    return parse_policy({"policy_id": policy_id, "version": "1", "rules": rules}, source=policy_id)


def one_rule() -> PolicyDocument:
    return _document(
        "bench-1",
        [
            {
                "id": "refund-cap",
                "kind": "arg_constraint",
                "tool": TOOL,
                "path": "amount",
                "max": 500,
            }
        ],
    )


def hundred_rules() -> PolicyDocument:
    """100 rules, all evaluated for the pending call."""
    common = _common_rules()
    return _document("bench-100", common + _constraint_rules(100 - len(common), (TOOL,)))


def hundred_rules_catalogue() -> PolicyDocument:
    """100 rules over 8 tools (plus injection, rate limit and redaction at other checkpoints)."""
    others: list[dict[str, Any]] = [
        {"id": "rate", "kind": "rate_limit", "max_runs": 1000, "window": "1h"},
        {"id": "inj", "kind": "injection"},
        {"id": "redact", "kind": "redact_output"},
    ]
    common = _common_rules() + others
    return _document(
        "bench-100-catalogue", common + _constraint_rules(100 - len(common), CATALOGUE)
    )


def call(amount: float = 250.0) -> RunFacts:
    return RunFacts(
        checkpoint=Checkpoint.BEFORE_TOOL,
        agent="refund",
        tenant_id="acme",
        known_tools=frozenset(CATALOGUE),
        step=4,
        tokens=5_200,
        cost_usd=0.031,
        tool=ToolPolicy(name=TOOL),
        tool_name=TOOL,
        tool_args={**ARGS, "amount": amount},
        repeat_count=0,
        private_data_seen=True,
        untrusted_seen=False,
    )


_EMAIL_THREAD = """\
From: Jane Doe <jane.doe@example.com>
Subject: Re: Order 1001 arrived broken

Hello,

My order 1001 arrived on Tuesday and the glass vase inside was cracked along one side. The box
was left at the door in the rain, so the cardboard was soaked through and the padding had
collapsed. I have kept everything, packaging included, and attached four photos: the outside of
the box, the label, the padding and the vase itself. I would like a refund of 250 EUR rather
than a replacement, since the vase was a gift for a date that has now passed.

You can refund the card I paid with (4111 1111 1111 1111) or, if that is easier for you, my
account FR76 3000 6000 0112 3456 7890 189. Please call me on +33 6 12 34 56 78 if anything is
unclear; I am at home most afternoons this week.

Thank you for your help,
Jane

On Monday, Support <support@shop.example> wrote:
> Thank you for contacting us about order 1001. We are sorry to hear that your parcel arrived
> damaged. To process a claim we need a short description of the damage, photos of the item and
> of the packaging, and whether you would prefer a refund or a replacement. Claims are usually
> settled within three working days of receiving the photos; refunds reach the original payment
> method within five to ten working days depending on your bank. If the carrier needs to collect
> the parcel, they will contact you to arrange a time. Please keep the packaging until the claim
> is closed, as the carrier may ask to inspect it.
>
> Our delivery partners leave parcels in a safe place only when the delivery instructions allow
> it. We have passed your feedback on to the carrier so that they can review what happened on
> the day. In the meantime, you can follow the status of your claim from your account page under
> Orders, then Claims. We will write again as soon as the claim has been reviewed.
>
> Kind regards,
> The customer care team
"""


def support_text(size: int = 4096) -> str:
    """A ~4 KB support email thread with six PII items (email x2, card, IBAN, phone, name)."""
    filler = "\n> (earlier messages in this thread were trimmed for length)" * 40
    return (_EMAIL_THREAD + filler)[:size]


_DENSE = (
    "Hello, this is Jane Doe (jane.doe@example.com, +33 6 12 34 56 78). Please refund order 1001 "
    "to my card 4111 1111 1111 1111 or to my account FR76 3000 6000 0112 3456 7890 189. "
    "The parcel was left at the door in the rain and the glass inside had cracked. "
)


def dense_text(size: int = 4096) -> str:
    """~4 KB with PII every ~250 characters: the redaction engine's heavy case."""
    return (_DENSE * (size // len(_DENSE) + 1))[:size]


AUDIT_AT = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def audit_event(decision: PolicyDecision, seq: int) -> dict[str, Any]:
    """The audit row the record would write for this decision (every hashed column)."""
    return {
        "seq": seq,
        "at": AUDIT_AT,
        "kind": AuditKind.POLICY.value,
        "run_id": "run-2f7c9a",
        "tenant_id": "acme",
        "actor": "policy-engine",
        "action": f"policy.{decision.verdict.value}",
        "detail": decision.model_dump(mode="json"),
        "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
        "retention_class": RetentionClass.BUSINESS_90D.value,
        "prev_hash": GENESIS_HASH,
    }

"""Which input fields are private or untrusted: labels, defaults, nesting, empty fields."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict

from agentrun.agents import Message, Private, Public, Trusted, Untrusted
from agentrun.agents.refund import REFUND_SAMPLE_INPUT, RefundRequest, build_refund_agent
from agentrun.agents.registry import unguarded_senders
from agentrun.contracts.trust import InputTrust
from agentrun.logic.input_trust import label_input


class Address(BaseModel):
    street: str
    country: Annotated[str, Public, Trusted] = "PT"


class Item(BaseModel):
    sku: Annotated[str, Public, Trusted]
    note: str = ""


class Order(BaseModel):
    model_config = ConfigDict(extra="allow")

    order_id: Annotated[str, Public, Trusted]
    email: Annotated[str, Private, Trusted]
    complaint: Annotated[str, Untrusted, Public] = ""
    shipping: Address | None = None
    billing: Annotated[Address | None, Private, Trusted] = None
    items: list[Item] = []
    tags: list[str] = []


def _labels(value: BaseModel) -> tuple[tuple[str, ...], tuple[str, ...]]:
    trust = label_input(value)
    return trust.private_fields, trust.untrusted_fields


def test_an_unlabelled_field_is_private_and_untrusted() -> None:
    assert _labels(Message(message="hello")) == (("message",), ("message",))


def test_labels_set_each_axis_and_unfilled_fields_count_for_nothing() -> None:
    order = Order(order_id="o-1", email="ana@example.com")
    assert _labels(order) == (("email",), ())
    order = Order(order_id="o-1", email="ana@example.com", complaint="it broke")
    assert _labels(order) == (("email",), ("complaint",))


def test_a_nested_model_uses_its_own_labels_unless_its_field_has_some() -> None:
    order = Order(
        order_id="o-1",
        email="e@example.com",
        shipping=Address(street="Rua 1"),
        billing=Address(street="Rua 2"),
    )
    private, untrusted = _labels(order)
    # shipping has no labels of its own: its street is both, its country neither.
    assert "shipping.street" in private
    assert "shipping.street" in untrusted
    assert "shipping.country" not in private + untrusted
    # billing is labelled private and trusted as a whole: one field, country included.
    assert "billing" in private
    assert not [path for path in private if path.startswith("billing.")]
    assert not [path for path in untrusted if path.startswith("billing")]


def test_lists_of_models_are_walked_and_lists_of_values_are_one_field() -> None:
    order = Order(
        order_id="o-1",
        email="e@example.com",
        items=[Item(sku="a"), Item(sku="b", note="leave at the back door")],
        tags=["x", "y"],
    )
    private, untrusted = _labels(order)
    assert "items[1].note" in untrusted
    assert "items[0].note" not in untrusted  # empty
    assert not [path for path in private + untrusted if path.endswith("sku")]
    assert private.count("tags") == 1


def test_extra_fields_nobody_declared_count_as_both() -> None:
    order = Order.model_validate({"order_id": "o-1", "email": "e@example.com", "memo": "hi"})
    private, untrusted = _labels(order)
    assert "memo" in private
    assert "memo" in untrusted


def test_the_refund_agent_labels_its_ticket() -> None:
    trust = label_input(RefundRequest.model_validate(REFUND_SAMPLE_INPUT))
    assert trust == InputTrust(private_fields=("reason",), untrusted_fields=("reason",))
    assert trust.describe() == "input labels: private: reason; untrusted: reason"


def test_markers_read_as_their_names() -> None:
    assert [repr(m) for m in (Private, Public, Trusted, Untrusted)] == [
        "Private",
        "Public",
        "Trusted",
        "Untrusted",
    ]


def test_an_agent_that_sends_data_out_without_a_trifecta_rule_is_named() -> None:
    guarded = build_refund_agent().spec
    assert unguarded_senders(guarded) == []
    bare = guarded.model_copy(update={"policies": ()})
    assert unguarded_senders(bare) == ["send_email"]

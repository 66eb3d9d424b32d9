"""Trust labels on a run's input: which fields hold private data, which hold outside content.

The lethal-trifecta rule (docs/governance.md) stops a run that has read private data and seen
untrusted content from sending data out without a person. Tools say what they read in their
contracts; the input says it here, on the fields of the agent's input model::

    class Ticket(BaseModel):
        order_id: Annotated[str, Public, Trusted]   # our own id: neither private nor outside
        email: Annotated[str, Private, Trusted]     # from our CRM: private, not an attacker's
        body: Annotated[str, Untrusted]             # what the customer wrote: both (default)

A field nobody labelled counts as **private and untrusted**: agentrun cannot tell a customer's
card number or an attacker's instructions from an order id, so it assumes the worst and the
author relaxes field by field. Labels on a field cover everything inside it; a nested model's own
labels apply when its field carries none. A field counts only when the run's input fills it
(``None``, ``""``, ``[]`` and ``{}`` do not).
"""

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict


@dataclass(frozen=True, slots=True)
class TrustLabel:
    """One marker for ``Annotated[...]``; ``None`` leaves that axis to other markers."""

    private: bool | None = None
    untrusted: bool | None = None

    def __repr__(self) -> str:
        return next(name for name, label in _NAMES.items() if label == self)


Private = TrustLabel(private=True)
Public = TrustLabel(private=False)
Untrusted = TrustLabel(untrusted=True)
Trusted = TrustLabel(untrusted=False)
_NAMES = {"Private": Private, "Public": Public, "Untrusted": Untrusted, "Trusted": Trusted}


class InputTrust(BaseModel):
    """What the run's input brought in, by field path (``ticket.body``, ``items[0].note``).

    Computed on the worker in PREPARING and kept in the run's history with the plan, so a replay
    labels the run exactly as it was labelled.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    private_fields: tuple[str, ...] = ()
    untrusted_fields: tuple[str, ...] = ()

    @property
    def private(self) -> bool:
        return bool(self.private_fields)

    @property
    def untrusted(self) -> bool:
        return bool(self.untrusted_fields)

    def describe(self) -> str:
        """``input labels: private: email, body; untrusted: body``, for the audit trail."""

        def names(fields: tuple[str, ...]) -> str:
            return ", ".join(fields) if fields else "none"

        return (
            f"input labels: private: {names(self.private_fields)}; "
            f"untrusted: {names(self.untrusted_fields)}"
        )

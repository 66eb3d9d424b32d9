"""PII and secret redaction: the output layer of the guardrail sandwich (docs/governance.md).

Applied to a run's final output and to everything written to logs, the run store, span
attributes and audit events, so it has to be cheap: pure, synchronous, no I/O, on the order of
100 us for a 4 KB text with a few entities (``python -m bench.redaction``). Findings are replaced by
``[REDACTED:<type>]``; redacting redacted text changes nothing.

Detected: emails (RFC 5322 local parts, quoted ones, accented Latin, Greek and Cyrillic);
phone numbers (validated with ``phonenumbers``); payment cards (Luhn and the networks' IIN
ranges); IBANs (country length and mod 97); US SSNs; provider API keys, AWS secrets and private
key blocks; JWTs; bearer and basic credentials; values named as secrets (``password=``,
``"pwd": ...``, ``DB_PASSWORD=``, "the password is ...", ``https://user:pw@host``); and random
tokens a few words from a secret word in prose (an entropy test, see ``entropy``).

Types when more than one could apply: a value shaped like a provider key is an ``api_key``
whatever it is called ("password: sk_live_..."); a JWT is a ``jwt`` even as a bearer token; any
other named value is a ``password``; an unnamed random token is a ``password`` after a password
word and an ``api_key`` otherwise.

Known limits: national phone numbers outside North America are reported only after a phone
keyword on the same line; cards only grouped by spaces or dashes; ``= / ? | { }`` and backticks
end an email's local part although RFC 5322 allows them; a lone random token of 20-24
characters is missed a few times in 100 (it cannot be told from an id that short).
"""

from agentrun.logic.redaction.engine import (
    contains_sensitive,
    find_entities,
    redact_text,
    redact_value,
)
from agentrun.logic.redaction.model import PLACEHOLDERS, EntityType, Finding, Redacted
from agentrun.logic.redaction.structlog import redact_event_dict

__all__ = [
    "PLACEHOLDERS",
    "EntityType",
    "Finding",
    "Redacted",
    "contains_sensitive",
    "find_entities",
    "redact_event_dict",
    "redact_text",
    "redact_value",
]

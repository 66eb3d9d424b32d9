"""PII and secret redaction: the output layer of the guardrail sandwich (docs/governance.md).

Applied to a run's final output and to everything written to logs, the run store, span
attributes and audit events, so it has to be cheap: pure, synchronous, no I/O, about 90 us for a
4 KB text with a few entities (``python -m bench.redaction``). Findings are replaced by
``[REDACTED:<type>]``; redacting redacted text changes nothing.

Detected: emails; phone numbers (validated with ``phonenumbers``); payment cards (Luhn and the
networks' IIN ranges); IBANs (country length and mod 97); US SSNs; provider API keys, AWS
secrets and private key blocks; JWTs; bearer and basic credentials; ``password=``-style values.
Known limits: national phone numbers outside North America are reported only after a phone
keyword on the same line; cards only grouped by spaces or dashes; emails only in ASCII.
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

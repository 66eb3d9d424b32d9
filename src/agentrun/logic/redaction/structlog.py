"""A structlog processor that redacts PII and secrets from every string in a log event.

Key-based redaction (``workers/logging.py``) drops whole values under secret-looking keys; this
one reads the values themselves, so a card number in a message or an API key in an exception
string does not reach the log either. Put it last before the renderer: after the processors
that add fields, and after ``format_exc_info`` so that tracebacks are redacted too. Values that
are not strings, dicts, lists or tuples (a ``LogRecord``, an exception object) pass unchanged.
"""

from collections.abc import MutableMapping
from typing import Any

from agentrun.logic.redaction.engine import redact_value


def redact_event_dict(
    logger: Any,  # noqa: ARG001 -- structlog's processor signature
    method_name: str,  # noqa: ARG001 -- structlog's processor signature
    event_dict: MutableMapping[str, Any],
) -> MutableMapping[str, Any]:
    for key, value in event_dict.items():
        if isinstance(value, str | dict | list | tuple):
            event_dict[key] = redact_value(value)
    return event_dict

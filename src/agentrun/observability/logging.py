"""Logging: one JSON line per event, from structlog and from stdlib loggers (Temporal's own).

Every line carries the run id, tenant, agent and trace ids when they are known: activities get
them bound by :class:`LogContextInterceptor`, workflow lines from the extras Temporal's
``workflow.logger`` attaches (it is replay-safe: it stays silent while a workflow replays).
Values under secret-looking keys are redacted before anything is rendered.
"""

import logging
import re
import sys
from typing import Any, TextIO

import structlog
import temporalio.activity
import temporalio.workflow
from structlog.typing import EventDict, Processor

from agentrun.logic.redaction import redact_event_dict
from agentrun.observability.log_context import run_fields

try:  # imported here, never lazily: log calls from workflow code run inside the sandbox
    from opentelemetry import trace as otel_trace
except ImportError:  # pragma: no cover - opentelemetry is a dependency, but keep logs working
    otel_trace = None  # type: ignore[assignment]

REDACTED = "[redacted]"
# Keys whose values are never logged: raw run input, tool params and outputs, credentials.
SECRET_KEYS = re.compile(
    r"^(input|params|output|data|body|password|passwd|secret|token|api_?key|authorization|"
    r"cookie|credentials?)$|(^|_)(password|passwd|secret|token|api_?key)$",
    re.IGNORECASE,
)
_TEMPORAL_EXTRAS = ("temporal_workflow", "temporal_activity")


def redact_secrets(_: Any, __: str, event: EventDict) -> EventDict:
    for key in list(event):
        if key != "event" and SECRET_KEYS.search(key):
            event[key] = REDACTED
    return event


def add_temporal_context(_: Any, __: str, event: EventDict) -> EventDict:
    """Flatten the extras Temporal's loggers attach into our field names."""
    record = event.get("_record")
    for extra in _TEMPORAL_EXTRAS:
        info = getattr(record, extra, None) if record is not None else event.pop(extra, None)
        if isinstance(info, dict):
            event.setdefault("run_id", info.get("workflow_id"))
            if "activity_type" in info:
                event.setdefault("activity", info.get("activity_type"))
                event.setdefault("attempt", info.get("attempt"))
        event.pop(extra, None)
    for key in ("agent", "tenant_id", "trace_id", "state"):
        value = getattr(record, key, None) if record is not None else None
        if value is not None:
            event.setdefault(key, value)
    return event


def add_run_fields(_: Any, __: str, event: EventDict) -> EventDict:
    """Agent, tenant and trace id for lines that only know the run id."""
    run_id = event.get("run_id")
    if isinstance(run_id, str):
        for key, value in run_fields(run_id).items():
            event.setdefault(key, value)
    return event


def add_otel_ids(_: Any, __: str, event: EventDict) -> EventDict:
    """The current OpenTelemetry trace/span ids, when tracing is on and a span is active."""
    if otel_trace is None:
        return event
    context = otel_trace.get_current_span().get_span_context()
    if context.is_valid:
        event.setdefault("trace_id", format(context.trace_id, "032x"))
        event["span_id"] = format(context.span_id, "016x")
    return event


# Third-party loggers whose INFO lines are chatter to a worker's operator (alembic prints one line
# per migration step and per connection it inspects).
QUIET_LOGGERS = ("alembic",)


def configure_logging(level: str = "INFO", fmt: str = "json", stream: TextIO | None = None) -> None:
    """Route structlog and every stdlib logger through one redacting formatter to ``stream``
    (stderr by default; the demo passes its log file). The one way logging is set up: the demo,
    the worker and the codec server log alike, so what a test sees here is what they write."""
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        add_temporal_context,
        add_run_fields,
        add_otel_ids,
        redact_secrets,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Processor = (
        structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            # Last before rendering, so messages, fields and tracebacks alike: PII and secrets
            # (emails, phones, cards, IBANs, SSNs, keys, tokens, passwords) never reach a log.
            redact_event_dict,
            renderer,
        ],
    )
    # Ids travel as fields; Temporal's default of appending them to the message text would
    # repeat them in every line.
    temporalio.workflow.logger.workflow_info_on_message = False
    temporalio.activity.logger.activity_info_on_message = False
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    # The SDK's DEBUG lines dump whole activity payloads (run input, tool params): never below
    # INFO, whatever our own level.
    logging.getLogger("temporalio").setLevel(max(logging.INFO, logging.getLevelName(level)))
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(level)))

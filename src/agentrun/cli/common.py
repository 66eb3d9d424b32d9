"""What every CLI command shares: options, the one Settings, error reporting, JSON output.

Errors live here rather than in ``cli.py`` so helpers can raise them even when ``cli.py`` runs as
``__main__`` (``python -m``), where importing it again would create a second, different class.
"""

import asyncio
import functools
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, ParamSpec

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from temporalio.service import RPCError

from agentrun.client import AgentRunClient, AgentRunError
from agentrun.client.watch import QUERY_TIMEOUT_S, status_within
from agentrun.contracts.model_ref import split_model
from agentrun.contracts.review import Decision, ReviewDecision
from agentrun.contracts.runs import Failure, RunStatus
from agentrun.converter import data_converter
from agentrun.errors import UserError
from agentrun.observability import telemetry
from agentrun.settings import Settings

if TYPE_CHECKING:
    from agentrun.agents.registry import AgentRegistry

P = ParamSpec("P")

# Piped output is read by people in logs and wide editors: don't fold tables to 80 columns.
_PIPED_WIDTH = 160
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else _PIPED_WIDTH)
err_console = Console(stderr=True, soft_wrap=True, width=None if sys.stderr.isatty() else 1000)


class CliError(UserError):
    """A user-facing failure: printed as one ``error:`` line, exit code 1."""


AgentArg = Annotated[str, typer.Argument(help="The agent's name.", show_default=False)]
ByOpt = Annotated[
    str | None,
    typer.Option("--by", help="Who acts, for the audit trail (default: your login name)."),
]
ReasonOpt = Annotated[str | None, typer.Option("--reason", help="Why, for the audit trail.")]

AddressOpt = Annotated[
    str | None,
    typer.Option(
        "--address",
        envvar="TEMPORAL_ADDRESS",
        help="Temporal frontend host:port (default: localhost:7233).",
        show_default=False,
    ),
]
NamespaceOpt = Annotated[
    str | None,
    typer.Option(
        "--namespace",
        envvar="TEMPORAL_NAMESPACE",
        help="Temporal namespace (default: default).",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]
ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model",
        help="Another model for this run, as provider:model (openai:gpt-4o-mini, "
        "anthropic:claude-sonnet-4-5, scripted:scripted-1); the worker needs that provider's "
        "API key (OPENAI_API_KEY, ANTHROPIC_API_KEY; *_BASE_URL for a compatible server).",
        show_default=False,
    ),
]
PortOpt = Annotated[int, typer.Option("--port", help="gRPC port of the dev server.")]
UiPortOpt = Annotated[int, typer.Option("--ui-port", help="Web UI port of the dev server.")]
DbFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--db-file",
        help="SQLite file of the dev server (default: temporal.db in AGENTRUN_DATA_DIR).",
        dir_okay=False,
    ),
]


def checked_model(model: str | None, option: str = "--model") -> str | None:
    """``--model`` (or another ``option``) as provider:model, refused in one line before
    anything starts."""
    if model is None:
        return None
    try:
        split_model(model)
    except ValueError as err:
        raise CliError(f"{option}: {err}") from None
    return model


def local_registry() -> "AgentRegistry":
    """The agents this installation registers (AGENTRUN_AGENT_MODULES), as a worker here would
    load them; imported only by the commands that ask (the agent API is slow to import)."""
    from agentrun.agents.registry import AgentRegistry, load_agent_modules  # noqa: PLC0415

    return load_agent_modules(AgentRegistry(), build_settings().agent_modules)


def build_settings(address: str | None = None, namespace: str | None = None) -> Settings:
    """The one Settings of this invocation: environment, then the command's options."""
    try:
        settings = Settings()
    except ValidationError as err:
        raise CliError(f"invalid settings: {validation_message(err)}") from None
    update: dict[str, Any] = {}
    if address:
        update["temporal_address"] = address
    if namespace:
        update["temporal_namespace"] = namespace
    return settings.model_copy(update=update)


def validation_message(err: ValidationError, options: dict[str, str] | None = None) -> str:
    """The first problem, named by the option the user typed rather than the model field."""
    options = options or {}
    first = err.errors(include_url=False)[0]
    loc = [str(part) for part in first["loc"]]
    message = str(first["msg"]).removeprefix("Value error, ")
    if not loc:
        # Model-level validators put the field name at the start of their message.
        name, _, rest = message.partition(": ")
        if rest and name in options:
            return f"{options[name]}: {rest}"
        return message
    path = ".".join([options.get(loc[0], loc[0]), *loc[1:]])
    return f"{path}: {message}"


_JSON_TYPES = {list: "an array", str: "a string", int: "a number", float: "a number"}

# More than Temporal carries in one payload: read no further than this from a file or stdin.
MAX_READ_BYTES = 2 * 1024 * 1024


def parse_json_object(text: str, option: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise CliError(
            f"{option} is not valid JSON: {err.msg} at line {err.lineno}, column {err.colno}"
        ) from None
    if not isinstance(value, dict):
        kind = "null" if value is None else _JSON_TYPES.get(type(value), "true/false")
        raise CliError(f"{option} must be a JSON object, got {kind}")
    return value


def read_json_object(value: str, option: str) -> dict[str, Any]:
    """``value`` itself, or with ``@path`` a file's content, or with ``-`` standard input: an
    input too long to type (or to quote in a shell) comes from where it already is."""
    if value == "-":
        where = f"{option} - (stdin)"
        data = sys.stdin.buffer.read(MAX_READ_BYTES + 1)
        if not data.strip():
            raise CliError(f"{where}: stdin is empty")
    elif value.startswith("@"):
        where = f"{option} {value}"
        data = _read_file(value[1:], where)
    else:
        return parse_json_object(value, option)
    if len(data) > MAX_READ_BYTES:
        raise CliError(f"{where}: more than {MAX_READ_BYTES} bytes; too big for a run's input")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise CliError(f"{where}: not UTF-8 text (byte {err.start})") from None
    return parse_json_object(text, where)


def _read_file(name: str, where: str) -> bytes:
    if not name:
        raise CliError(f"{where}: name a file after @ (e.g. @input.json)")
    path = Path(name).expanduser()
    try:
        with path.open("rb") as file:
            return file.read(MAX_READ_BYTES + 1)
    except FileNotFoundError:
        raise CliError(f"{where}: no such file") from None
    except IsADirectoryError:
        raise CliError(f"{where}: is a directory, not a file") from None
    except PermissionError:
        raise CliError(f"{where}: permission denied") from None
    except OSError as err:
        raise CliError(f"{where}: cannot read it ({err.strerror or err})") from None


def require_run_id(run_id: str) -> str:
    """An empty id reaches Temporal as "no id at all", which it reports in its own words."""
    if not run_id.strip():
        raise CliError("RUN_ID: must not be empty")
    return run_id


# ReviewDecision field -> the option a user typed, so validation errors name what to fix.
REVIEW_OPTIONS = {
    "decision": "--decision",
    "reviewer": "--reviewer",
    "comment": "--comment",
    "output": "--output",
    "review_id": "--review-id",
}


def decision_from_options(
    decision: Decision,
    reviewer: str | None,
    comment: str | None,
    output: str | None,
    review_id: str | None,
) -> ReviewDecision:
    """The decision the options describe; ``reviewer`` None stands in for an API key's holder,
    who replaces it once the key is authenticated."""
    fields: dict[str, Any] = {
        "decision": decision,
        "reviewer": reviewer or "?",
        "comment": comment,
        "output": parse_json_object(output, "--output") if output is not None else None,
        "review_id": review_id,
    }
    try:
        return ReviewDecision.model_validate(fields)
    except ValidationError as err:
        raise CliError(validation_message(err, REVIEW_OPTIONS)) from None


def one_line(text: str) -> str:
    return " ".join(text.split())


def fail(message: str) -> NoReturn:
    err_console.print(f"error: {one_line(message)}", markup=False, highlight=False)
    raise typer.Exit(1)


def failure_line(run_id: str, state: str, failure: Failure | None) -> str:
    if failure is None:
        return f"run {run_id} {state}"
    named = failure.field is None or failure.message.startswith(failure.field)
    field = "" if named else f" (field {failure.field})"
    return f"run {run_id} {state}: {failure.category.value}: {failure.message}{field}"


def emit_json(value: object) -> None:
    """One JSON document on stdout; models go through pydantic so datetimes stay ISO strings."""
    if isinstance(value, BaseModel):
        text = value.model_dump_json(indent=2)
    else:
        text = json.dumps(value, indent=2, default=str)
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def guarded(fn: Callable[P, None]) -> Callable[P, None]:
    """Turn every expected failure into one stderr line and exit 1, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            fn(*args, **kwargs)
        except typer.Exit:
            raise
        except UserError as err:  # every expected condition: its message says what to fix
            fail(str(err))
        except ValidationError as err:
            fail(validation_message(err))
        except RPCError as err:
            fail(f"temporal: {err}")
        except TimeoutError as err:
            fail(str(err) or "timed out")
        except KeyboardInterrupt:
            err_console.print("interrupted", highlight=False)
            raise typer.Exit(130) from None
        except OSError as err:
            fail(f"{type(err).__name__}: {err}")
        except Exception as err:  # the last line of defence against tracebacks
            if os.environ.get("AGENTRUN_DEBUG"):
                raise
            fail(f"unexpected {type(err).__name__}: {err} (AGENTRUN_DEBUG=1 shows a traceback)")

    return wrapper


def connection_options(settings: Settings) -> list[str]:
    """The options a printed command needs to reach the same server as this one."""
    defaults = Settings.model_fields
    options: list[str] = []
    if settings.temporal_address != defaults["temporal_address"].default:
        options += ["--address", settings.temporal_address]
    if settings.temporal_namespace != defaults["temporal_namespace"].default:
        options += ["--namespace", settings.temporal_namespace]
    return options


async def open_client(settings: Settings) -> AgentRunClient:
    """With tracing configured, runs started here carry the caller's trace into the workflow."""
    interceptors = []
    if telemetry.configure_tracing(settings) is not None:
        interceptors = telemetry.tracing_interceptors(temporal_spans=settings.otel_temporal_spans)
    return await AgentRunClient.connect(
        settings.temporal_address,
        settings.temporal_namespace,
        settings.task_queue,
        interceptors=interceptors,
        data_converter=data_converter(settings),
    )


async def query_status(client: AgentRunClient, run_id: str, settings: Settings) -> RunStatus:
    return await status_within(client, run_id, QUERY_TIMEOUT_S, settings.task_queue)


async def try_status(client: AgentRunClient, run_id: str) -> RunStatus | None:
    """The status when it can be had promptly; None when not (no worker, not found yet)."""
    try:
        return await asyncio.wait_for(client.status(run_id), QUERY_TIMEOUT_S)
    except (AgentRunError, TimeoutError):
        return None

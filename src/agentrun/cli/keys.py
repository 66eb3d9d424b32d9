"""``agentrun keys`` and ``agentrun review sign``: API keys, the signing key, signed decisions.

Key commands talk to the store only (never to Temporal), and import the store and the crypto
lazily, like ``cli_store``. A plaintext key is printed once, on stdout alone, so
``KEY=$(agentrun keys create ...)`` works; everything said about it goes to stderr.
"""

import contextlib
import getpass
import json
import re
import shlex
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from agentrun.cli.common import (
    AddressOpt,
    CliError,
    JsonOpt,
    NamespaceOpt,
    build_settings,
    decision_from_options,
    emit_json,
    err_console,
    guarded,
    out,
)
from agentrun.cli.render import stamp
from agentrun.cli.store import DatabaseUrlOpt, database_errors, store_url
from agentrun.contracts.identity import ApiKeyInfo, Role
from agentrun.contracts.names import UPDATE_SUBMIT_REVIEW
from agentrun.contracts.review import Decision, ReviewDecision
from agentrun.contracts.runs import RunRequest
from agentrun.settings import Settings

if TYPE_CHECKING:
    from sqlmodel import Session

keys_app = typer.Typer(
    help="API keys (stored hashed; one role and tenant each) and the key that signs grants.",
    no_args_is_help=True,
)

DEFAULT_TTL = "10m"
STORE_IT = "store it now: it is shown only this once and cannot be recovered"
_UNITS = {"h": 3600, "m": 60, "s": 1}
_TTL = re.compile(r"(\d+)([hms])")

ApiKeyOpt = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        envvar="AGENTRUN_API_KEY",
        help="Your API key (ark_...); default: AGENTRUN_API_KEY.",
        show_default=False,
    ),
]
TtlOpt = Annotated[
    str, typer.Option("--ttl", help="How long the signed decision stays valid, e.g. 10m, 1h.")
]


# A start grant is checked when the run reaches PREPARING: room for time spent queued.
START_TTL = timedelta(hours=1)


def parse_ttl(text: str) -> timedelta:
    """``10m``, ``1h30m``, ``90s``; at most a day (grants are for now, not to keep)."""
    from agentrun.signing import MAX_GRANT_TTL  # noqa: PLC0415 -- lazy crypto

    value = text.strip().lower()
    parts = _TTL.findall(value)
    if not parts or "".join(n + u for n, u in parts) != value:
        raise CliError(f"--ttl {text!r}: use a duration such as 10m, 1h or 90s")
    ttl = timedelta(seconds=sum(int(n) * _UNITS[u] for n, u in parts))
    if not timedelta(0) < ttl <= MAX_GRANT_TTL:
        raise CliError(f"--ttl {text!r}: must be more than 0s and at most 24h")
    return ttl


def _actor() -> str:
    """Who ran the command, for the audit trail: the OS account is all the CLI knows."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@contextlib.contextmanager
def key_store(database_url: str | None) -> "Iterator[Session]":
    """A session on a store that has the API key table, or one clear error saying what to do."""
    from sqlalchemy import inspect  # noqa: PLC0415 -- lazy, like the other store commands

    from agentrun.store.db import make_engine, redacted, session_factory  # noqa: PLC0415

    url = store_url(database_url)
    with database_errors(url):
        engine = make_engine(url)
        try:
            with engine.connect() as conn:
                if not inspect(conn).has_table("api_keys"):
                    raise CliError(
                        f"database {redacted(url)} has no API key table: run agentrun db upgrade"
                    )
            with session_factory(engine)() as session:
                yield session
        finally:
            engine.dispose()


def _write(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _key_json(info: ApiKeyInfo) -> dict[str, Any]:
    return info.model_dump(mode="json")


def _describe(info: ApiKeyInfo) -> str:
    return f"{info.key_id} ({info.name}, {info.role.value}, tenant {info.tenant})"


# ----------------------------------------------------------------- keys


@keys_app.command("create")
@guarded
def keys_create(
    *,
    role: Annotated[Role, typer.Option("--role", case_sensitive=False, help="What it may do.")],
    tenant: Annotated[
        str, typer.Option("--tenant", help="Its tenant; '*' (admin only) for every tenant.")
    ],
    name: Annotated[str, typer.Option("--name", help="The person or service that holds it.")],
    database_url: DatabaseUrlOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Create an API key and print it once: only its hash is stored."""
    from agentrun.store.keys import ApiKeyError, create_api_key  # noqa: PLC0415 -- lazy

    with key_store(database_url) as session, session.begin():
        try:
            plaintext, info = create_api_key(
                session, name=name, role=role, tenant=tenant, actor=_actor()
            )
        except ApiKeyError as err:
            raise CliError(f"--{err}") from None
    if json_output:
        emit_json({"key": plaintext, **_key_json(info), "warning": STORE_IT})
        return
    _write(plaintext)
    err_console.print(f"created API key {_describe(info)}; {STORE_IT}", highlight=False)


@keys_app.command("list")
@guarded
def keys_list(
    *,
    tenant: Annotated[str | None, typer.Option("--tenant", help="Only this tenant's keys.")] = None,
    database_url: DatabaseUrlOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """List API keys, revoked ones included (never their secrets)."""
    from agentrun.store.keys import list_keys  # noqa: PLC0415 -- lazy

    with key_store(database_url) as session:
        keys = list_keys(session, tenant)
    if json_output:
        emit_json([_key_json(info) for info in keys])
        return
    if not keys:
        out.print("no API keys" + (f" for tenant {tenant}" if tenant else ""), highlight=False)
        return
    table = Table(expand=False)
    for column in ("key id", "name", "role", "tenant", "created", "revoked"):
        table.add_column(column, no_wrap=column in {"key id", "created", "revoked"})
    for info in keys:
        table.add_row(
            info.key_id,
            info.name,
            info.role.value,
            info.tenant,
            stamp(info.created_at),
            stamp(info.revoked_at) if info.revoked_at else "",
        )
    out.print(table)


@keys_app.command("revoke")
@guarded
def keys_revoke(
    *,
    key_id: Annotated[str, typer.Argument(help="The key id (see: agentrun keys list).")],
    database_url: DatabaseUrlOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Revoke an API key for good: it authenticates nothing from now on."""
    from agentrun.store.keys import ApiKeyError, revoke_key  # noqa: PLC0415 -- lazy

    with key_store(database_url) as session, session.begin():
        try:
            info = revoke_key(session, key_id, actor=_actor())
        except ApiKeyError as err:
            raise CliError(str(err)) from None
    if json_output:
        emit_json(_key_json(info))
        return
    out.print(f"API key {_describe(info)} revoked at {stamp(info.revoked_at)}", highlight=False)


@keys_app.command("init-signing")
@guarded
def keys_init_signing(*, json_output: JsonOpt = False) -> None:
    """Create a new Ed25519 signing key in <data_dir>/signing and print its id (kid).

    The newest key signs from now on; older ones still verify until their files are removed.
    """
    from agentrun.signing import init_signing_key, signing_dir  # noqa: PLC0415

    key = init_signing_key(signing_dir(build_settings()))
    if json_output:
        emit_json({"kid": key.kid, "path": str(key.path), "public_key": key.public_entry})
        return
    out.print(key.kid, highlight=False)
    err_console.print(
        f"signing key written to {key.path} (mode 0600). Workers on other hosts verify with "
        f"AGENTRUN_EXTRA_PUBLIC_KEYS={key.public_entry}",
        markup=False,
        highlight=False,
    )


# ----------------------------------------------------------------- review sign


def sign_review(
    settings: Settings,
    *,
    api_key: str,
    run_id: str,
    decision: ReviewDecision,
    ttl: timedelta,
    database_url: str | None = None,
    claimed_reviewer: str | None = None,
) -> tuple[ReviewDecision, ApiKeyInfo]:
    """Authenticate ``api_key`` and return ``decision`` signed by it, with its name as reviewer.

    The decision needs a ``review_id``: the grant names the one review it decides. A reviewer
    the user typed (``claimed_reviewer``) must be the key's holder.
    """
    from agentrun.logic.grants import GrantRefused  # noqa: PLC0415 -- lazy crypto
    from agentrun.signing import (  # noqa: PLC0415 -- lazy crypto
        SigningKeyError,
        load_signing_key,
        mint_review_grant,
    )
    from agentrun.store.keys import authenticate  # noqa: PLC0415 -- lazy

    if decision.review_id is None:
        raise CliError("--review-id: required to sign, the grant names the review it decides")
    with key_store(database_url) as session:
        holder = authenticate(session, api_key)
    if holder is None:
        raise CliError("--api-key: not a valid API key (unknown, revoked or mistyped)")
    if claimed_reviewer is not None and claimed_reviewer != holder.name:
        raise CliError(
            f"--reviewer {claimed_reviewer!r}: this API key belongs to {holder.name!r}, "
            "who is the reviewer of a decision it signs"
        )
    try:
        key = load_signing_key(settings)
        token = mint_review_grant(
            key,
            holder,
            run_id=run_id,
            review_id=decision.review_id,
            decision=decision.decision,
            comment=decision.comment,
            output=decision.output,
            now=datetime.now(UTC),
            ttl=ttl,
        )
    except (SigningKeyError, GrantRefused) as err:
        raise CliError(str(err)) from None
    except ValueError as err:  # NaN or infinity in --output: no canonical JSON to sign
        raise CliError(f"--output: {err}") from None
    return decision.model_copy(update={"reviewer": holder.name, "token": token}), holder


def sign_start(
    settings: Settings, *, api_key: str, request: RunRequest, ttl: timedelta = START_TTL
) -> RunRequest:
    """Authenticate ``api_key`` (a runner's or admin's) and return ``request`` with its start
    grant; the request gets a run id here, since the grant names the run it starts."""
    from agentrun.logic.grants import GrantRefused  # noqa: PLC0415 -- lazy crypto
    from agentrun.signing import (  # noqa: PLC0415 -- lazy crypto
        SigningKeyError,
        load_signing_key,
        mint_start_grant,
    )
    from agentrun.store.keys import authenticate  # noqa: PLC0415 -- lazy

    with key_store(None) as session:
        holder = authenticate(session, api_key)
    if holder is None:
        raise CliError("--api-key: not a valid API key (unknown, revoked or mistyped)")
    if request.request_id is None:
        request = request.model_copy(update={"request_id": f"run-{uuid.uuid4().hex}"})
    try:
        grant = mint_start_grant(
            load_signing_key(settings), holder, request=request, now=datetime.now(UTC), ttl=ttl
        )
    except (SigningKeyError, GrantRefused) as err:
        raise CliError(str(err)) from None
    return request.model_copy(update={"grant": grant})


def update_command(settings: Settings, run_id: str, payload: dict[str, Any]) -> str:
    """The plain ``temporal`` CLI line that sends ``payload`` as the review update."""
    words = ["temporal", "workflow", "update", "execute"]
    defaults = Settings.model_fields
    if settings.temporal_address != defaults["temporal_address"].default:
        words += ["--address", settings.temporal_address]
    if settings.temporal_namespace != defaults["temporal_namespace"].default:
        words += ["--namespace", settings.temporal_namespace]
    words += ["--workflow-id", run_id, "--name", UPDATE_SUBMIT_REVIEW]
    words += ["--input", json.dumps(payload, separators=(",", ":"), ensure_ascii=False)]
    return shlex.join(words)


@guarded
def review_sign(
    *,
    run_id: Annotated[str, typer.Argument(help="The run waiting for the review.")],
    review_id: Annotated[
        str, typer.Option("--review-id", help="The pending review (see: agentrun status).")
    ],
    decision: Annotated[Decision, typer.Option("--decision", case_sensitive=False)],
    api_key: ApiKeyOpt = None,
    comment: Annotated[
        str | None, typer.Option("--comment", help="Required for request_changes.")
    ] = None,
    output: Annotated[
        str | None, typer.Option("--output", help="Replacement output (JSON) for edit.")
    ] = None,
    ttl: TtlOpt = DEFAULT_TTL,
    database_url: DatabaseUrlOpt = None,
    address: AddressOpt = None,
    namespace: NamespaceOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Sign a review decision with your API key; print the update payload and how to send it.

    Nothing is sent: anyone may deliver the payload (it is bound to this run, review, decision
    and comment/output, and expires after --ttl).
    """
    if not api_key:
        raise CliError("--api-key: required (or set AGENTRUN_API_KEY)")
    lifetime = parse_ttl(ttl)
    settings = build_settings(address, namespace)
    unsigned = decision_from_options(decision, None, comment, output, review_id)
    signed, holder = sign_review(
        settings,
        api_key=api_key,
        run_id=run_id,
        decision=unsigned,
        ttl=lifetime,
        database_url=database_url,
    )
    payload = signed.model_dump(mode="json", exclude_none=True)
    command = update_command(settings, run_id, payload)
    if json_output:
        emit_json(
            {"run_id": run_id, "reviewer": holder.name, "payload": payload, "command": command}
        )
        return
    # Verbatim: rich would turn a comment's ":smile:" into an emoji and break the signature.
    _write(json.dumps(payload, indent=2, ensure_ascii=False))
    _write(command)
    err_console.print(
        f"signed by API key {_describe(holder)}; valid for {ttl}", markup=False, highlight=False
    )

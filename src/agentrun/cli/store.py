"""``agentrun db`` and ``agentrun audit``: the run record store's schema and its audit trail.

These commands talk to the store's database only, never to Temporal, and import the store
lazily so the rest of the CLI does not pay for SQLAlchemy at start-up.
"""

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from agentrun.cli.common import (
    CliError,
    JsonOpt,
    build_settings,
    emit_json,
    fail,
    guarded,
    one_line,
    out,
)

db_app = typer.Typer(
    help="The run record store's schema: apply and inspect migrations.",
    no_args_is_help=True,
)
audit_app = typer.Typer(help="The run record store's audit trail.", no_args_is_help=True)

DatabaseUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="Run store database (sqlite:///PATH or postgresql://...); default: "
        "AGENTRUN_DATABASE_URL, else agentrun.db in AGENTRUN_DATA_DIR.",
        show_default=False,
    ),
]


def store_url(option: str | None) -> str:
    settings = build_settings()
    if option:
        settings = settings.model_copy(update={"database_url": option})
    return settings.effective_database_url()


def require_current_schema(url: str) -> None:
    """Commands that write the store refuse one not at the current schema (call it inside
    ``database_errors``): migrations run only when asked, never as a side effect."""
    from agentrun.store import migrate  # noqa: PLC0415 -- lazy
    from agentrun.store.db import redacted  # noqa: PLC0415 -- lazy

    at, head = migrate.current(url), migrate.head_revision()
    if at != head:
        raise CliError(
            f"database {redacted(url)} is at schema {at or 'none'}, not {head}: "
            "run agentrun db upgrade"
        )


@contextlib.contextmanager
def database_errors(url: str) -> Iterator[None]:
    """Driver errors span lines and embed SQL; the user needs the first line and the target."""
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError  # noqa: PLC0415 -- lazy

    from agentrun.store.db import UnsupportedDatabase, redacted  # noqa: PLC0415 -- lazy

    try:
        yield
    except UnsupportedDatabase as err:
        raise CliError(str(err)) from None
    except ArgumentError as err:
        raise CliError(f"invalid database URL: {err}") from None
    except SQLAlchemyError as err:
        cause = getattr(err, "orig", None) or err
        first = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
        raise CliError(f"database {redacted(url)}: {one_line(first)}") from None


def _create_sqlite_parent(url: str) -> None:
    """The default store lives in the data dir, which a fresh checkout does not have yet."""
    from sqlalchemy.engine import make_url  # noqa: PLC0415 -- lazy

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in {None, "", ":memory:"}:
        Path(str(parsed.database)).parent.mkdir(parents=True, exist_ok=True)


@db_app.command("upgrade")
@guarded
def db_upgrade(
    *,
    revision: Annotated[
        str, typer.Option("--revision", help="Target revision (default: the latest).")
    ] = "head",
    database_url: DatabaseUrlOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Apply the store's migrations up to REVISION; the only command that changes the schema."""
    from agentrun.store import migrate  # noqa: PLC0415 -- lazy
    from agentrun.store.db import redacted  # noqa: PLC0415 -- lazy

    url = store_url(database_url)
    _create_sqlite_parent(url)
    with database_errors(url):
        before = migrate.current(url)
        after = migrate.upgrade(url, revision)
        head = migrate.head_revision()
    if json_output:
        emit_json({"database": redacted(url), "from": before, "revision": after, "head": head})
        return
    moved = "already at" if before == after else f"upgraded from {before or 'empty'} to"
    out.print(f"database {redacted(url)} {moved} revision {after}", highlight=False)


@db_app.command("current")
@guarded
def db_current(*, database_url: DatabaseUrlOpt = None, json_output: JsonOpt = False) -> None:
    """Show the database's schema revision and whether it is the latest."""
    from agentrun.store import migrate  # noqa: PLC0415 -- lazy
    from agentrun.store.db import redacted  # noqa: PLC0415 -- lazy

    url = store_url(database_url)
    with database_errors(url):
        revision = migrate.current(url)
        head = migrate.head_revision()
    if json_output:
        emit_json({"database": redacted(url), "revision": revision, "head": head})
        return
    if revision is None:
        state = "not initialised (run: agentrun db upgrade)"
    elif revision == head:
        state = f"at revision {revision} (latest)"
    else:
        state = f"at revision {revision}, latest is {head} (run: agentrun db upgrade)"
    out.print(f"database {redacted(url)} {state}", highlight=False)


@audit_app.command("verify")
@guarded
def audit_verify(*, database_url: DatabaseUrlOpt = None, json_output: JsonOpt = False) -> None:
    """Walk the audit hash chain; exit 1 naming the first edited, deleted or reordered row."""
    from agentrun.store import migrate  # noqa: PLC0415 -- lazy
    from agentrun.store.audit import verify_chain  # noqa: PLC0415 -- lazy
    from agentrun.store.db import make_engine, redacted, session_factory  # noqa: PLC0415

    url = store_url(database_url)
    with database_errors(url):
        if migrate.current(url) is None:
            raise CliError(f"database {redacted(url)} is not initialised: run agentrun db upgrade")
        engine = make_engine(url)
        try:
            with session_factory(engine)() as session:
                report = verify_chain(session)
        finally:
            engine.dispose()
    if json_output:
        emit_json(report)
    elif report.ok:
        out.print(report.message, highlight=False)
    if not report.ok:
        fail(report.message)

"""Engines and sessions for the run record store, on SQLite (local, tests) or PostgreSQL.

Creating an engine opens nothing and never touches the schema: migrations run only through
``agentrun.store.migrate``, when asked (``agentrun db upgrade``, ``agentrun worker --migrate``)
or for a SQLite store that belongs to the one machine (see ``workers.worker.open_store``).
"""

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from agentrun.errors import UserError

# Writers queue for the SQLite write lock instead of failing at once with "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 30_000

_POSTGRES_DRIVERS = {"postgres", "postgresql", "postgresql+psycopg"}


class UnsupportedDatabase(UserError, ValueError):
    """The URL names a database the store has no idempotent-insert or locking support for."""


def normalize_url(url: str | URL) -> URL:
    """``postgresql://`` (what people and PaaS hand out) means psycopg 3, not psycopg2."""
    parsed = make_url(url)
    if parsed.drivername in _POSTGRES_DRIVERS:
        return parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername in {"sqlite", "sqlite+pysqlite"}:
        return parsed
    raise UnsupportedDatabase(
        f"unsupported database URL scheme {parsed.drivername!r}: use sqlite:/// or postgresql://"
    )


def redacted(url: str | URL) -> str:
    """A URL fit for messages and logs: the password never leaves the process."""
    return make_url(url).render_as_string(hide_password=True)


def make_engine(url: str | URL, **kwargs: Any) -> Engine:
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(parsed, **kwargs)
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(parsed, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    """WAL, enforced foreign keys, and every transaction a write transaction from its start.

    pysqlite opens a deferred transaction lazily, before the first write. A transaction that read
    first (the audit chain's last hash) and writes later can then fail with SQLITE_BUSY without
    waiting, or write from a stale read. Taking over BEGIN, as SQLAlchemy's documentation
    recommends, and making it ``BEGIN IMMEDIATE`` takes the single SQLite write lock up front:
    concurrent writers queue on the busy timeout and every read-then-write is consistent. Readers
    outside a transaction still read the WAL snapshot without waiting.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, see below
        record.info["agentrun_begin_immediate"] = True
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA journal_mode = WAL")
            # WAL's recommended level: no fsync per commit, only at checkpoints; a commit
            # survives a crash of the process, and a power cut can only undo the last ones,
            # whole (the audit chain stays intact). Temporal's dev server runs with the same.
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # Straight to the driver: every transaction pays for this statement, and through
        # SQLAlchemy's execution layer it cost ~0.5 ms of CPU in a loaded worker.
        connection.connection.driver_connection.execute("BEGIN IMMEDIATE")  # type: ignore[union-attr]


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded rows readable after commit (callers return them to the CLI)."""
    return sessionmaker(engine, class_=Session, expire_on_commit=False)

"""The refund agent's sample database: a stand-in for the shop's order, payment and mail systems.

Plain blocking sqlite3, kept synchronous on purpose: async tools call these functions through
``asyncio.to_thread`` so an activity never blocks the worker's event loop. Every writer dedupes on
the idempotency key with a UNIQUE constraint, so a retried or duplicated activity attempt can
never produce a second refund, email or note, even when two attempts race.
"""

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

DB_NAME = "refund.db"

# Several worker processes may open the file at once; WAL lets readers proceed during a write and
# the busy timeout makes writers queue instead of failing with "database is locked".
BUSY_TIMEOUT_S = 30.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    order_id TEXT PRIMARY KEY,
    customer_email TEXT NOT NULL,
    customer_name TEXT NOT NULL,
    total REAL NOT NULL,
    currency TEXT NOT NULL,
    status TEXT NOT NULL,
    carrier TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS refunds (
    refund_id TEXT PRIMARY KEY,
    idempotency_key TEXT UNIQUE NOT NULL,
    order_id TEXT NOT NULL,
    amount REAL NOT NULL,
    reason TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    email_id TEXT PRIMARY KEY,
    idempotency_key TEXT UNIQUE NOT NULL,
    to_addr TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS order_notes (
    note_id TEXT PRIMARY KEY,
    idempotency_key TEXT UNIQUE NOT NULL,
    order_id TEXT NOT NULL,
    note TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS shipping_cache (
    order_id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
"""

# (order_id, email, name, total, currency, status, carrier). The carriers drive the shipping
# tool's simulated failures: "flaky-express" fails once, "down-logistics" always fails.
SEED_ORDERS: tuple[tuple[str, str, str, float, str, str, str], ...] = (
    ("1001", "alice.buyer@example.com", "Alice Buyer", 320.00, "EUR", "delivered", "acme-post"),
    ("1002", "carol.jones@example.com", "Carol Jones", 80.00, "EUR", "delivered", "flaky-express"),
    ("1003", "dan.miller@example.com", "Dan Miller", 150.00, "EUR", "delivered", "down-logistics"),
    ("1004", "erin.smith@example.com", "Erin Smith", 45.50, "EUR", "in_transit", "acme-post"),
    ("1005", "frank.wu@example.com", "Frank Wu", 999.99, "EUR", "delivered", "acme-post"),
)
_SEEDED_AT = "2025-01-01T00:00:00+00:00"


@dataclass(frozen=True)
class Order:
    order_id: str
    customer_email: str
    customer_name: str
    total: float
    currency: str
    status: str
    carrier: str


@dataclass(frozen=True)
class Refund:
    refund_id: str
    order_id: str
    amount: float


def db_path(data_dir: Path) -> Path:
    return data_dir / DB_NAME


def connect(data_dir: Path) -> sqlite3.Connection:
    # Autocommit: each statement is its own transaction, so a single INSERT is atomic on its own.
    conn = sqlite3.connect(db_path(data_dir), timeout=BUSY_TIMEOUT_S, isolation_level=None)
    conn.row_factory = sqlite3.Row
    return conn


def _now() -> str:
    return datetime.now(UTC).isoformat()


def setup(data_dir: Path) -> None:
    """Create and seed the database; idempotent and safe to run from several workers at once."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with closing(connect(data_dir)) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.executemany(
                "INSERT OR IGNORE INTO orders VALUES (?, ?, ?, ?, ?, ?, ?)", SEED_ORDERS
            )
            conn.executemany(
                "INSERT OR IGNORE INTO shipping_cache VALUES (?, ?, ?)",
                [(o[0], o[5], _SEEDED_AT) for o in SEED_ORDERS],
            )
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")


def get_order(data_dir: Path, order_id: str) -> Order | None:
    with closing(connect(data_dir)) as conn:
        row = conn.execute("SELECT * FROM orders WHERE order_id = ?", (order_id,)).fetchone()
    if row is None:
        return None
    return Order(
        order_id=str(row["order_id"]),
        customer_email=str(row["customer_email"]),
        customer_name=str(row["customer_name"]),
        total=float(row["total"]),
        currency=str(row["currency"]),
        status=str(row["status"]),
        carrier=str(row["carrier"]),
    )


def get_cached_shipping_status(data_dir: Path, order_id: str) -> str | None:
    with closing(connect(data_dir)) as conn:
        row = conn.execute(
            "SELECT status FROM shipping_cache WHERE order_id = ?", (order_id,)
        ).fetchone()
    return None if row is None else str(row["status"])


def _refund_by_key(conn: sqlite3.Connection, key: str) -> Refund | None:
    row = conn.execute(
        "SELECT refund_id, order_id, amount FROM refunds WHERE idempotency_key = ?", (key,)
    ).fetchone()
    if row is None:
        return None
    return Refund(str(row["refund_id"]), str(row["order_id"]), float(row["amount"]))


def find_refund(data_dir: Path, key: str) -> Refund | None:
    with closing(connect(data_dir)) as conn:
        return _refund_by_key(conn, key)


def insert_refund(
    data_dir: Path, *, refund_id: str, key: str, order_id: str, amount: float, reason: str
) -> Refund:
    """Record a refund once per key; a racing attempt with the same key gets the first one's row."""
    with closing(connect(data_dir)) as conn:
        try:
            conn.execute(
                "INSERT INTO refunds (refund_id, idempotency_key, order_id, amount, reason,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (refund_id, key, order_id, amount, reason, _now()),
            )
        except sqlite3.IntegrityError:
            existing = _refund_by_key(conn, key)
            if existing is None:  # a refund_id clash with another key: not ours to hide
                raise
            return existing
    return Refund(refund_id, order_id, amount)


def queue_email(
    data_dir: Path, *, email_id: str, key: str, to_addr: str, subject: str, body: str
) -> str:
    """Queue an email once per key and return the id of the queued email."""
    with closing(connect(data_dir)) as conn:
        conn.execute(
            "INSERT INTO outbox (email_id, idempotency_key, to_addr, subject, body, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(idempotency_key) DO NOTHING",
            (email_id, key, to_addr, subject, body, _now()),
        )
        row = conn.execute(
            "SELECT email_id FROM outbox WHERE idempotency_key = ?", (key,)
        ).fetchone()
    return str(row["email_id"])


def add_note(data_dir: Path, *, note_id: str, key: str, order_id: str, note: str) -> str:
    """Attach a note once per key and return the id of the stored note."""
    with closing(connect(data_dir)) as conn:
        conn.execute(
            "INSERT INTO order_notes (note_id, idempotency_key, order_id, note, created_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT(idempotency_key) DO NOTHING",
            (note_id, key, order_id, note, _now()),
        )
        row = conn.execute(
            "SELECT note_id FROM order_notes WHERE idempotency_key = ?", (key,)
        ).fetchone()
    return str(row["note_id"])


def _count(data_dir: Path, table: str, order_id: str | None) -> int:
    # ``table`` is always one of our literal table names, never caller input.
    query = f"SELECT COUNT(*) FROM {table}"  # noqa: S608
    args: tuple[str, ...] = ()
    if order_id is not None:
        query += " WHERE order_id = ?"
        args = (order_id,)
    with closing(connect(data_dir)) as conn:
        return int(conn.execute(query, args).fetchone()[0])


def count_refunds(data_dir: Path, order_id: str | None = None) -> int:
    return _count(data_dir, "refunds", order_id)


def count_notes(data_dir: Path, order_id: str | None = None) -> int:
    return _count(data_dir, "order_notes", order_id)


def count_emails(data_dir: Path) -> int:
    return _count(data_dir, "outbox", None)

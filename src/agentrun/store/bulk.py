"""Multi-row statements for the record's hot path, sent on the session's own DBAPI cursor.

Every tool and model attempt of every run passes through here (``agentrun.store.rows``), so the
fixed cost of a statement is paid many times a second. Through SQLAlchemy's execution layer
that cost was ~0.25 ms of CPU per statement, most of the write-behind thread's time and the
largest part of what recording cost a worker. Here a statement is a string built once per
(table, columns, row count) and handed to the driver; values still go through each column
type's own bind processor, so what lands in the database is exactly what SQLAlchemy would have
written (UTC datetimes, SQLite's datetime text, JSON, booleans) and reads back the same way.

Statements run in the session's transaction: the caller's ``session.begin()`` (for SQLite a
``BEGIN IMMEDIATE``) is the transaction they commit or roll back with.

No statement is built for more than ``CACHED_ROWS`` rows (or keys): a larger batch goes in
several. SQLite's driver keeps the last 128 statements of each connection prepared, each with
its compiled program and the values last bound to it (the rows themselves: audit details,
conversation messages), and a statement per batch size meant one per size a busy writer ever
sent: batches of every size from 1 to 200 rows left 25 MB prepared in one connection, 7 MB
when split at 64 rows (``tests/store/test_bulk.py``; docs/performance.md, "Memory per parked
run").
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Dialect, Table
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from agentrun.store.db import UnsupportedDatabase

Processor = Callable[[Any], Any] | None
# Bound parameters per statement: under SQLite's limit (32766 since 3.32) and PostgreSQL's
# (65535), so a large batch is split into a few statements rather than refused.
MAX_PARAMS = 30_000
_PLACEHOLDER = {"sqlite": "?", "postgresql": "%s"}
# Rows (or keys) per statement at most; each statement text is kept once built.
CACHED_ROWS = 64
_processors: dict[tuple[str, str], dict[str, Processor]] = {}
_statements: dict[tuple[str, object], str] = {}
Quote = Callable[[str], str]


# Identifiers in the statements below come from the table models, never from input, and are
# quoted by the dialect's own preparer; values always travel as bound parameters.


@dataclass(frozen=True, slots=True)
class _Select:
    table: str
    columns: tuple[str, ...]
    key: str
    count: int

    def render(self, q: Quote, placeholder: str) -> str:
        marks = ", ".join([placeholder] * self.count)
        return (
            f"SELECT {', '.join(map(q, self.columns))} FROM {q(self.table)} "  # noqa: S608
            f"WHERE {q(self.key)} IN ({marks})"
        )


@dataclass(frozen=True, slots=True)
class _Insert:
    table: str
    columns: tuple[str, ...]
    count: int
    conflict: tuple[str, ...] | None
    update: tuple[str, ...]
    returning: tuple[str, ...]

    def render(self, q: Quote, placeholder: str) -> str:
        one = f"({', '.join([placeholder] * len(self.columns))})"
        sql = (
            f"INSERT INTO {q(self.table)} ({', '.join(map(q, self.columns))}) "  # noqa: S608
            f"VALUES {', '.join([one] * self.count)}"
        )
        if self.conflict is not None:
            target = ", ".join(map(q, self.conflict))
            if self.update:
                sets = ", ".join(f"{q(c)} = excluded.{q(c)}" for c in self.update)
                sql += f" ON CONFLICT ({target}) DO UPDATE SET {sets}"
            else:
                sql += f" ON CONFLICT ({target}) DO NOTHING"
        if self.returning:
            sql += f" RETURNING {', '.join(map(q, self.returning))}"
        return sql


class Bulk:
    """The session's connection as a DBAPI cursor, with the dialect's placeholder and types."""

    def __init__(self, session: Session) -> None:
        connection = session.connection()  # begins the session's transaction if not yet begun
        self.dialect: Dialect = connection.dialect
        placeholder = _PLACEHOLDER.get(self.dialect.name)
        if placeholder is None:
            raise UnsupportedDatabase(f"no bulk statements for {self.dialect.name}")
        self._placeholder = placeholder
        self._quote = self.dialect.identifier_preparer.quote
        self._cursor: Any = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]

    @property
    def placeholder(self) -> str:
        return self._placeholder

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement written with this dialect's placeholder; its rows.

        Driver errors come out as SQLAlchemy's (``IntegrityError`` and so on), as they would
        from ``session.execute``, with the parameters left out of the message.
        """
        dbapi_error: type[Exception] = self.dialect.loaded_dbapi.Error
        try:
            self._cursor.execute(sql, tuple(params))
            if self._cursor.description is None:
                return []
            return [tuple(row) for row in self._cursor.fetchall()]
        except dbapi_error as err:
            raise DBAPIError.instance(
                sql, None, err, dbapi_error, hide_parameters=True, dialect=self.dialect
            ) from err

    def select_in(
        self, table: Table, columns: Sequence[str], key: str, values: Sequence[Any]
    ) -> list[tuple[Any, ...]]:
        """``SELECT columns FROM table WHERE key IN (values)``, in chunks."""
        rows: list[tuple[Any, ...]] = []
        per_statement = min(CACHED_ROWS, MAX_PARAMS)
        for start in range(0, len(values), per_statement):
            part = values[start : start + per_statement]
            spec = _Select(table.name, tuple(columns), key, len(part))
            rows.extend(self.fetch(self._sql(spec), part))
        return rows

    def insert(
        self,
        table: Table,
        rows: Sequence[Mapping[str, Any]],
        *,
        conflict: Sequence[str] | None,
        update: Sequence[str] = (),
        returning: Sequence[str] = (),
        raw: frozenset[str] = frozenset(),
    ) -> list[tuple[Any, ...]]:
        """Insert ``rows`` (all with the first row's keys); on a ``conflict`` key, update the
        ``update`` columns from the new row, or with none, skip the row (``conflict`` None: a
        duplicate key raises the driver's integrity error). Returns the ``returning`` columns
        of the rows inserted or updated. Columns in ``raw`` are sent as given, without their
        type's bind processor (a value already in its stored form).
        """
        if not rows:
            return []
        columns = tuple(rows[0])
        process = self._row_processor(table, columns, raw)
        per_statement = max(1, min(CACHED_ROWS, MAX_PARAMS // len(columns)))
        out: list[tuple[Any, ...]] = []
        for start in range(0, len(rows), per_statement):
            part = rows[start : start + per_statement]
            spec = _Insert(
                table.name,
                columns,
                len(part),
                None if conflict is None else tuple(conflict),
                tuple(update),
                tuple(returning),
            )
            params: list[Any] = []
            for row in part:
                params.extend(process(row))
            out.extend(self.fetch(self._sql(spec), params))
        return out

    def _sql(self, spec: "_Select | _Insert") -> str:
        """The statement's text, built once per shape (at most ``CACHED_ROWS`` rows)."""
        key = (self.dialect.name, spec)
        sql = _statements.get(key)
        if sql is None:
            sql = spec.render(self._quote, self._placeholder)
            _statements[key] = sql
        return sql

    def _row_processor(
        self, table: Table, columns: Sequence[str], raw: frozenset[str]
    ) -> Callable[[Mapping[str, Any]], list[Any]]:
        by_column = _column_processors(table, self.dialect)
        unknown = [c for c in columns if c not in by_column]
        if unknown:
            raise KeyError(f"{table.name} has no column {unknown[0]!r}")
        plan = [(c, None if c in raw else by_column[c]) for c in columns]

        def process(row: Mapping[str, Any]) -> list[Any]:
            out = []
            for column, processor in plan:
                value = row[column]
                out.append(value if processor is None or value is None else processor(value))
            return out

        return process


def _column_processors(table: Table, dialect: Dialect) -> dict[str, Processor]:
    """Each column's bind processor, as SQLAlchemy's own execution would apply it."""
    key = (table.name, dialect.name)
    found = _processors.get(key)
    if found is None:
        found = {
            column.name: column.type.dialect_impl(dialect).bind_processor(dialect)
            for column in table.columns
        }
        _processors[key] = found
    return found

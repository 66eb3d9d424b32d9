"""Idempotent, audited inserts of run-record rows, many per statement.

Every child row of a run (transition, tool call, model call, review) goes through
:func:`write_rows`: one ``INSERT ... ON CONFLICT DO NOTHING RETURNING key`` per table for the whole
batch, then one audit-chain append for exactly the rows that statement inserted. Writing a batch
of a hundred rows costs about what one row cost when each had its own statements, which is what
lets workers record every attempt without slowing runs down (see ``agentrun.store.writer``).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel

from agentrun.contracts.tools import RetentionClass
from agentrun.store.audit import AuditKind, EventSpec, append_events
from agentrun.store.bulk import Bulk
from agentrun.store.db import UnsupportedDatabase
from agentrun.store.models import RunRow


@dataclass(frozen=True, slots=True)
class RowItem:
    """One child row of a run, with the audit event that records it if (and only if) it is new.

    The row is its column values, not a table-model instance: building SQLModel instances cost
    more than inserting them. Every row of a table carries the same keys, which lets the driver
    send a batch as one multi-row statement. ``detail`` None audits the row itself, minus what
    the event already carries.
    """

    table: Table
    values: dict[str, Any]
    key: tuple[str, ...]
    kind: AuditKind
    actor: str
    action: str
    at: datetime
    retention: RetentionClass = RetentionClass.BUSINESS_90D
    detail: Mapping[str, Any] | None = None

    @property
    def run_id(self) -> str:
        return str(self.values["run_id"])

    @property
    def identity(self) -> tuple[str, tuple[Any, ...]]:
        return self.table.name, tuple(self.values[k] for k in self.key)


def table_of(model: type[SQLModel]) -> Table:
    return model.__table__  # type: ignore[attr-defined,no-any-return]


def dialect_insert(session: Session, table: Table) -> postgresql.Insert | sqlite.Insert:
    dialect = session.connection().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise UnsupportedDatabase(f"no idempotent insert for {dialect}")


class MissingRun(LookupError):
    """A child row names a run the store has no row for (its PREPARING write never landed)."""


_RUNS: Table = RunRow.__table__  # type: ignore[attr-defined]


def _run_context(bulk: Bulk, run_ids: set[str]) -> dict[str, tuple[str, str]]:
    rows = bulk.select_in(_RUNS, ("run_id", "tenant_id", "trace_id"), "run_id", sorted(run_ids))
    found = {run_id: (tenant, trace) for run_id, tenant, trace in rows}
    missing = sorted(run_ids - found.keys())
    if missing:
        raise MissingRun(f"run {missing[0]} is not in the store: upsert_run first")
    return found


def _insert_new(bulk: Bulk, items: Sequence[RowItem]) -> set[tuple[str, tuple[Any, ...]]]:
    """Insert one table's rows, skipping existing keys; the identities that were inserted."""
    first = items[0]
    returned = bulk.insert(
        first.table, [item.values for item in items], conflict=first.key, returning=first.key
    )
    return {(first.table.name, tuple(r)) for r in returned}


def write_rows(
    session: Session, items: Sequence[RowItem], *, bulk: Bulk | None = None
) -> list[bool]:
    """Insert each item's row unless its key exists; audit the new ones, in the items' order.

    Returns, per item, whether this call inserted it. The same key twice in one batch counts
    once (the first). Raises :class:`MissingRun` when an item's run has no row yet. The caller
    owns the transaction.
    """
    if not items:
        return []
    bulk = bulk or Bulk(session)
    runs = _run_context(bulk, {item.run_id for item in items})
    seen: set[tuple[str, tuple[Any, ...]]] = set()
    firsts: list[RowItem] = []
    by_table: dict[str, list[RowItem]] = {}
    for item in items:
        if item.identity in seen:
            continue
        seen.add(item.identity)
        firsts.append(item)
        by_table.setdefault(item.table.name, []).append(item)
    inserted: set[tuple[str, tuple[Any, ...]]] = set()
    for group in by_table.values():
        inserted |= _insert_new(bulk, group)
    new = [item for item in firsts if item.identity in inserted]
    append_events(session, [_event(item, *runs[item.run_id]) for item in new], bulk=bulk)
    new_ids = {id(item) for item in new}
    return [id(item) in new_ids for item in items]


def _event(item: RowItem, tenant_id: str, trace_id: str) -> EventSpec:
    detail = item.detail
    if detail is None:
        detail = {k: v for k, v in item.values.items() if k not in {"id", "run_id", "at"}}
    return EventSpec(
        kind=item.kind,
        actor=item.actor,
        action=item.action,
        run_id=item.run_id,
        tenant_id=tenant_id,
        trace_id=trace_id,
        at=item.at,
        detail=detail,
        retention=item.retention,
    )


def upsert_runs(
    session: Session,
    rows: Sequence[RunRow],
    immutable: frozenset[str],
    *,
    bulk: Bulk | None = None,
) -> None:
    """Create runs or bring them up to date; only the last row per run in ``rows`` counts.

    PostgreSQL refuses to update one row twice in a statement, and the latest status is the one
    to keep anyway.
    """
    latest = {row.run_id: row for row in rows}
    if not latest:
        return
    values = [row.model_dump() for row in latest.values()]
    (bulk or Bulk(session)).insert(
        _RUNS,
        values,
        conflict=("run_id",),
        update=[name for name in values[0] if name not in immutable],
    )

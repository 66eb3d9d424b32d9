"""A tamper-evident audit trail: one SHA-256 hash chain over every audit event.

Each event's ``hash`` covers all of its other fields, ``prev_hash`` and ``seq`` included, in a
canonical JSON form, so editing any field, deleting a row or moving rows around breaks the chain
at a row the verifier can name. Appends are serialised by a lock so concurrent writers extend one
chain instead of forking it. What a chain stored beside the data cannot prove: that nobody
rewrote it wholesale, or truncated its tail; anchoring the head hash elsewhere covers that later.
"""

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Table, and_, or_
from sqlmodel import Session, col, func, select

from agentrun.contracts.tools import RetentionClass
from agentrun.store.bulk import Bulk
from agentrun.store.models import AuditAnchorRow, AuditEventRow

GENESIS_HASH = "0" * 64
# "agentrun" in ASCII: one key for the whole chain, since there is one chain.
AUDIT_CHAIN_LOCK_KEY = 0x6167_656E_7472_756E

BUSINESS_RETENTION = timedelta(days=90)
# Seven calendar years hold at most two leap days; rounding up never purges an event early.
LEGAL_RETENTION = timedelta(days=7 * 365 + 2)
RETENTION: dict[RetentionClass, timedelta] = {
    RetentionClass.BUSINESS_90D: BUSINESS_RETENTION,
    RetentionClass.LEGAL_7Y: LEGAL_RETENTION,
}


class AuditKind(StrEnum):
    RUN = "run"
    TOOL_CALL = "tool_call"
    MODEL_CALL = "model_call"
    REVIEW = "review"
    POLICY = "policy"
    DRILL = "drill"  # an operator set or cleared an injected fault
    ROLLOUT = "rollout"  # a rollout's stage, analysis, command or end


BreakReason = Literal["edited", "deleted", "reordered"]


class VerifyReport(BaseModel):
    ok: bool
    checked: int
    first_seq: int | None = None
    last_seq: int | None = None
    anchor_seq: int | None = None
    broken_seq: int | None = None
    reason: BreakReason | None = None
    message: str


def _json_default(value: object) -> object:
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    raise TypeError(f"audit detail holds a {type(value).__name__}, which has no JSON form")


def canonical_json(value: object) -> str:
    return json.dumps(
        value,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=_json_default,
    )


def _iso(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError(f"naive datetime {at.isoformat()}: audit times must be timezone-aware")
    return at.astimezone(UTC).isoformat(timespec="microseconds")


_HASHED = tuple(name for name in AuditEventRow.model_fields if name != "hash")
_EVENTS: Table = AuditEventRow.__table__  # type: ignore[attr-defined]
_HEAD_SQL = "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1"
# The detail goes in as the canonical JSON text it was hashed from (JSON columns store text).
_RAW_DETAIL = frozenset({"detail"})


def event_hash(event: AuditEventRow | Mapping[str, Any], **overrides: Any) -> str:
    """The hash the event should carry: over every column but ``hash`` itself.

    ``overrides`` lets the verifier ask what the hash would be had one field been different.
    """
    if isinstance(event, Mapping):
        fields: dict[str, Any] = {name: event[name] for name in _HASHED}
    else:
        fields = {name: getattr(event, name) for name in _HASHED}
    fields.update(overrides)
    fields["at"] = _iso(fields["at"])
    return hashlib.sha256(canonical_json(fields).encode("utf-8")).hexdigest()


def lock_chain(session: Session, bulk: Bulk | None = None) -> None:
    """Hold the chain's write lock until this session's transaction ends.

    PostgreSQL: a transaction-scoped advisory lock, released by commit or rollback, so a writer
    that dies cannot leave it held. SQLite: engines from ``make_engine`` open every transaction
    with ``BEGIN IMMEDIATE``, which already holds the database's single write lock; anything else
    could read a stale head, so it is refused. ``bulk``: the cursor to send the lock on.
    """
    connection = session.connection()
    dialect = connection.dialect.name
    if dialect == "postgresql":
        bulk = bulk or Bulk(session)
        bulk.fetch(f"SELECT pg_advisory_xact_lock({bulk.placeholder})", (AUDIT_CHAIN_LOCK_KEY,))
    elif dialect == "sqlite":
        if not connection.info.get("agentrun_begin_immediate"):
            raise RuntimeError("SQLite audit writes need an engine from agentrun.store.make_engine")
    else:
        raise RuntimeError(f"no audit chain lock for {dialect}")


def latest_anchor(session: Session) -> AuditAnchorRow | None:
    stmt = select(AuditAnchorRow).order_by(col(AuditAnchorRow.id).desc()).limit(1)
    return session.exec(stmt).first()


def _head(session: Session, bulk: Bulk) -> tuple[int, str]:
    last = bulk.fetch(_HEAD_SQL)
    if last:
        return int(last[0][0]), str(last[0][1])
    anchor = latest_anchor(session)
    if anchor is not None:
        return anchor.through_seq, anchor.through_hash
    return 0, GENESIS_HASH


@dataclass(frozen=True, slots=True)
class EventSpec:
    """An audit event to append; the chain assigns its ``seq``, ``prev_hash`` and ``hash``."""

    kind: AuditKind
    actor: str
    action: str
    run_id: str | None = None
    tenant_id: str | None = None
    detail: Mapping[str, Any] | None = None
    trace_id: str | None = None
    retention: RetentionClass = RetentionClass.BUSINESS_90D
    at: datetime | None = None


def append_events(
    session: Session, specs: Sequence[EventSpec], *, bulk: Bulk | None = None
) -> list[dict[str, Any]]:
    """Append events in order, in the caller's transaction (the caller commits); their columns.

    One lock and one read of the chain's head for the whole batch, and one multi-row insert.
    The detail is stored exactly as it was hashed (its canonical JSON), so the verifier
    recomputes the same hash from what the database gives back.
    """
    if not specs:
        return []
    bulk = bulk or Bulk(session)
    lock_chain(session, bulk)
    last_seq, last_hash = _head(session, bulk)
    events: list[dict[str, Any]] = []
    stored: list[dict[str, Any]] = []
    for spec in specs:
        last_seq += 1
        detail_json = canonical_json(dict(spec.detail or {}))
        event: dict[str, Any] = {
            "seq": last_seq,
            "at": (spec.at or datetime.now(UTC)).astimezone(UTC),
            "kind": AuditKind(spec.kind).value,
            "run_id": spec.run_id,
            "tenant_id": spec.tenant_id,
            "actor": spec.actor,
            "action": spec.action,
            "detail": json.loads(detail_json),
            "trace_id": spec.trace_id,
            "retention_class": RetentionClass(spec.retention).value,
            "prev_hash": last_hash,
        }
        event["hash"] = last_hash = event_hash(event)
        events.append(event)
        stored.append({**event, "detail": detail_json})
    bulk.insert(_EVENTS, stored, conflict=None, raw=_RAW_DETAIL)
    return events


def append_event(session: Session, **fields: Any) -> AuditEventRow:
    """Append one event (see :class:`EventSpec` for the fields)."""
    return AuditEventRow(**append_events(session, [EventSpec(**fields)])[0])


def _break(checked: int, seq: int, reason: BreakReason, why: str, **extra: Any) -> VerifyReport:
    return VerifyReport(
        ok=False,
        checked=checked,
        broken_seq=seq,
        reason=reason,
        message=f"audit chain broken at seq {seq}: {reason} ({why})",
        **extra,
    )


def verify_chain(session: Session, *, batch: int = 1000) -> VerifyReport:
    """Walk the chain from its anchor (or genesis) and name the first row that breaks it.

    Per row, in this order: a ``seq`` gap means rows were deleted. A wrong ``prev_hash`` means
    the row itself was edited if the hash fits the right one, rows were reordered if it is
    another row's hash, and otherwise the rows before it were deleted (and the rest renumbered).
    Last, a hash that does not match the row's fields means the row was edited. Rows at or
    before the anchor await their purge and are no longer part of the chain.
    """
    anchor = latest_anchor(session)
    anchor_seq = anchor.through_seq if anchor else None
    expected_seq = anchor.through_seq + 1 if anchor else 1
    expected_prev = anchor.through_hash if anchor else GENESIS_HASH
    stmt = (
        select(AuditEventRow)
        .where(col(AuditEventRow.seq) >= expected_seq)
        .order_by(col(AuditEventRow.seq))
        .execution_options(yield_per=batch)
    )
    checked = 0
    first_seq: int | None = None
    extra = {"anchor_seq": anchor_seq}
    for row in session.exec(stmt):
        if first_seq is None:
            first_seq = row.seq
        extra = {"anchor_seq": anchor_seq, "first_seq": first_seq, "last_seq": row.seq}
        if row.seq != expected_seq:
            before = f"seq {expected_seq - 1}" if expected_seq > 1 else "the start"
            why = f"{before} is followed by seq {row.seq}"
            return _break(checked, expected_seq, "deleted", why, **extra)
        if row.prev_hash != expected_prev:
            if event_hash(row, prev_hash=expected_prev) == row.hash:
                return _break(checked, row.seq, "edited", "prev_hash was changed", **extra)
            linked = _seq_with_hash(session, row.prev_hash)
            if linked is not None:
                why = f"prev_hash mismatch: it links to seq {linked}, not to seq {row.seq - 1}"
                return _break(checked, row.seq, "reordered", why, **extra)
            why = "prev_hash mismatch: it names no row, so the rows before it were deleted"
            return _break(checked, row.seq, "deleted", why, **extra)
        if event_hash(row) != row.hash:
            return _break(checked, row.seq, "edited", "hash mismatch", **extra)
        checked += 1
        expected_seq = row.seq + 1
        expected_prev = row.hash
    message = f"audit chain OK: {checked} events"
    if anchor_seq is not None:
        message += f" after anchor seq {anchor_seq}"
    return VerifyReport(ok=True, checked=checked, message=message, **extra)


def _seq_with_hash(session: Session, hash_: str) -> int | None:
    stmt = select(AuditEventRow.seq).where(col(AuditEventRow.hash) == hash_).limit(1)
    return session.exec(stmt).first()


def expired_clause(now: datetime) -> ColumnElement[bool]:
    """An audit event past its class's retention; an unknown class never expires."""
    return or_(
        *(
            and_(
                col(AuditEventRow.retention_class) == cls.value,
                col(AuditEventRow.at) < now - keep,
            )
            for cls, keep in RETENTION.items()
        )
    )


def expired_events(session: Session, now: datetime) -> list[AuditEventRow]:
    """Events past their retention; an unknown retention class never expires.

    Expired events are not necessarily a prefix of the chain (a 7-year event can precede a
    90-day one): deleting one from the middle breaks the chain. The purge that comes later
    deletes only ``expired_prefix_end``'s prefix and re-anchors with ``record_anchor``.
    """
    stmt = select(AuditEventRow).where(expired_clause(now)).order_by(col(AuditEventRow.seq))
    return list(session.exec(stmt))


def expired_prefix_end(session: Session, now: datetime) -> int | None:
    """The last seq of the longest run of expired events at the chain's start, or None."""
    anchor = latest_anchor(session)
    start = anchor.through_seq + 1 if anchor else 1
    in_chain = col(AuditEventRow.seq) >= start
    kept = select(func.min(AuditEventRow.seq)).where(in_chain, ~expired_clause(now))
    first_kept = session.exec(kept).one()
    if first_kept is None:
        return session.exec(select(func.max(AuditEventRow.seq)).where(in_chain)).one()
    return first_kept - 1 if first_kept > start else None


def record_anchor(session: Session, through_seq: int, reason: str | None = None) -> AuditAnchorRow:
    """Remember the hash of ``through_seq`` before the events up to it are purged."""
    lock_chain(session)
    event = session.get(AuditEventRow, through_seq)
    if event is None:
        raise LookupError(f"no audit event with seq {through_seq} to anchor on")
    anchor = AuditAnchorRow(
        through_seq=through_seq,
        through_hash=event.hash,
        created_at=datetime.now(UTC),
        reason=reason,
    )
    session.add(anchor)
    session.flush()
    return anchor

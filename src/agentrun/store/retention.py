"""Retention: what has outlived its class, and purging it without breaking the audit chain.

Audit events carry their own retention class. Runs do not: a run lives as long as the longest
class among its audit events (one 7-year tool call keeps the whole run 7 years), counted from
when it finished; a run that never finished never goes, nor does one with an event of a class
this code does not know. Its transitions, tool calls, model calls and reviews go with it.

Audit events go only as the chain's expired *prefix*: removing an event from the middle would
break the chain, so an expired event waits while a longer-lived one precedes it. The purge
anchors the chain on the prefix's last event before deleting it, so what remains still verifies.

Everything runs in the caller's transaction (the caller commits), like the rest of the store.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Executable, Subquery, Table, and_, case, delete, or_
from sqlmodel import Session, SQLModel, col, func, select

from agentrun.contracts.retention import ClassPurge, PurgePlan, PurgeRequest, PurgeResult
from agentrun.contracts.tools import RetentionClass
from agentrun.errors import UserError
from agentrun.store.audit import (
    RETENTION,
    expired_clause,
    expired_prefix_end,
    latest_anchor,
    lock_chain,
    record_anchor,
)
from agentrun.store.models import (
    AuditEventRow,
    ConversationMessageRow,
    GovernanceEventRow,
    ModelCallRow,
    ReviewRow,
    RunRow,
    ToolCallRow,
    TransitionRow,
)

# Shortest first: a run's class is the highest rank among its events.
CLASSES: tuple[RetentionClass, ...] = tuple(sorted(RETENTION, key=RETENTION.__getitem__))
# A run without audit events has the class an event gets by default.
DEFAULT_RANK = CLASSES.index(RetentionClass.BUSINESS_90D)
UNKNOWN_RANK = len(CLASSES)
SAMPLE_RUN_IDS = 10
MAX_CLOCK_SKEW = timedelta(minutes=5)

# ClassPurge field -> the run's child table; deleted before the run, whatever the foreign keys.
CHILDREN: dict[str, type[SQLModel]] = {
    "transitions": TransitionRow,
    "tool_calls": ToolCallRow,
    "model_calls": ModelCallRow,
    "reviews": ReviewRow,
    "messages": ConversationMessageRow,
    "governance_events": GovernanceEventRow,
}


def _table(model: type[SQLModel]) -> Table:
    return model.__table__  # type: ignore[attr-defined,no-any-return]


def _aware(now: datetime) -> datetime:
    if now.tzinfo is None:
        raise ValueError(f"naive datetime {now.isoformat()}: retention needs an aware 'now'")
    return now.astimezone(UTC)


def _expired_runs(now: datetime) -> Subquery:
    """Finished runs past their class's retention, with their class's rank."""
    finished = col(RunRow.finished_at)
    old_enough = and_(finished.is_not(None), finished < now - RETENTION[CLASSES[0]])
    # correlate(None): these subqueries also sit inside a DELETE FROM runs, and must not be
    # folded into it.
    candidates = select(RunRow.run_id).where(old_enough).correlate(None)
    rank_of_event = case(
        {cls.value: rank for rank, cls in enumerate(CLASSES)},
        value=col(AuditEventRow.retention_class),
        else_=UNKNOWN_RANK,
    )
    ranks = (
        select(col(AuditEventRow.run_id).label("run_id"), func.max(rank_of_event).label("rank"))
        .where(col(AuditEventRow.run_id).in_(candidates))
        .group_by(col(AuditEventRow.run_id))
        .subquery("run_ranks")
    )
    rank = func.coalesce(ranks.c.rank, DEFAULT_RANK)
    past = or_(*(and_(rank == i, finished < now - RETENTION[cls]) for i, cls in enumerate(CLASSES)))
    return (
        select(col(RunRow.run_id).label("run_id"), rank.label("rank"), finished.label("finished"))
        .outerjoin(ranks, ranks.c.run_id == col(RunRow.run_id))
        .where(old_enough, past)
        .correlate(None)
        .subquery("expired_runs")
    )


def _counts(session: Session, stmt: Executable) -> dict[Any, int]:
    return {key: int(n) for key, n in session.execute(stmt).all()}


def _by_class(session: Session, *where: ColumnElement[bool]) -> dict[str, int]:
    cls = col(AuditEventRow.retention_class)
    return _counts(session, select(cls, func.count()).where(*where).group_by(cls))


def plan_purge(session: Session, now: datetime) -> PurgePlan:
    """What a purge at ``now`` would delete; reads only."""
    now = _aware(now)
    seq = col(AuditEventRow.seq)
    anchor = latest_anchor(session)
    through = expired_prefix_end(session, now)
    if through is None and anchor is not None:
        through = anchor.through_seq  # events an interrupted purge anchored but left behind
    going = _by_class(session, seq <= through) if through is not None else {}
    if not going:
        through = None
    after = seq > (through or 0)
    blocked = _by_class(session, after, expired_clause(now))
    blocked_by = None
    if blocked:
        blocked_by = session.exec(select(func.min(seq)).where(after, ~expired_clause(now))).one()

    expired = _expired_runs(now)
    runs = _counts(session, select(expired.c.rank, func.count()).group_by(expired.c.rank))
    children: dict[str, dict[int, int]] = {}
    for field, model in CHILDREN.items():
        table = _table(model)
        stmt = (
            select(expired.c.rank, func.count())
            .select_from(table.join(expired, table.c.run_id == expired.c.run_id))
            .group_by(expired.c.rank)
        )
        children[field] = _counts(session, stmt)

    classes = []
    for rank, cls in enumerate(CLASSES):
        samples: list[str] = []
        if runs.get(rank):
            sample = (
                select(expired.c.run_id)
                .where(expired.c.rank == rank)
                .order_by(expired.c.finished, expired.c.run_id)
                .limit(SAMPLE_RUN_IDS)
            )
            samples = list(session.execute(sample).scalars())
        classes.append(
            ClassPurge(
                retention_class=cls,
                keep=RETENTION[cls],
                cutoff=now - RETENTION[cls],
                audit_events=going.get(cls.value, 0),
                blocked_events=blocked.get(cls.value, 0),
                runs=runs.get(rank, 0),
                sample_run_ids=samples,
                **{field: counts.get(rank, 0) for field, counts in children.items()},
            )
        )
    return PurgePlan(now=now, through_seq=through, blocked_by_seq=blocked_by, classes=classes)


def purge(session: Session, now: datetime, plan: PurgePlan | None = None) -> PurgeResult:
    """Delete what has expired at ``now``; a second purge at the same ``now`` deletes nothing.

    ``plan``: one :func:`plan_purge` made in this same transaction, to report it without making
    it again. Runs go first (their class is read from audit events that may go next), then the
    chain is anchored on the prefix's last event and the prefix deleted. The chain's lock is
    held from the start, so no event can be appended between the plan and the anchor.
    """
    now = _aware(now)
    lock_chain(session)
    if plan is None:
        plan = plan_purge(session, now)
    elif plan.now != now:
        raise ValueError(f"the plan is for {plan.now.isoformat()}, not {now.isoformat()}")

    expired_ids = select(_expired_runs(now).c.run_id).correlate(None)
    deleted: dict[str, int] = {}
    models: list[type[SQLModel]] = [*CHILDREN.values(), RunRow]
    for model in models:
        table = _table(model)
        result = session.execute(delete(table).where(table.c.run_id.in_(expired_ids)))
        deleted[table.name] = int(result.rowcount)  # type: ignore[attr-defined]

    anchor_seq = None
    through = plan.through_seq
    events = 0
    if through is not None:
        current = latest_anchor(session)
        if current is None or through > current.through_seq:
            record_anchor(session, through, reason=f"retention purge at {now.isoformat()}")
            anchor_seq = through
        result = session.execute(delete(AuditEventRow).where(col(AuditEventRow.seq) <= through))
        events = int(result.rowcount)  # type: ignore[attr-defined]
    deleted[_table(AuditEventRow).name] = events
    return PurgeResult(dry_run=False, plan=plan, anchor_seq=anchor_seq, deleted=deleted)


class PurgeRefused(UserError, ValueError):
    """A purge as of a time still to come would delete records before their retention ends."""


def carry_out(session: Session, request: PurgeRequest) -> PurgeResult:
    """The request as the activity and the CLI get it: plan only, or purge.

    ``now`` defaults to the clock. A dry run may look ahead; a purge may not (beyond the clock
    skew between a workflow's host and this one).
    """
    clock = datetime.now(UTC)
    now = request.now if request.now is not None else clock
    if request.dry_run:
        return PurgeResult(dry_run=True, plan=plan_purge(session, now))
    if now > clock + MAX_CLOCK_SKEW:
        raise PurgeRefused(
            f"a purge as of {now.isoformat()} is in the future: it would delete records before "
            "their retention ends (a dry run may look ahead)"
        )
    return purge(session, now)

"""Operations figures (SPEC §5) from what the store returned: per agent version, and the
rollouts rebuilt from their audit trail (no I/O, no clock).

Definitions, and why each is drawn where it is:

- **Human escalation**: a run waited for a person for a reason of its own (a tool approval, a
  policy escalation, a budget extension, a final review its agent asks for, a revision after
  requested changes). The quality sample is not one: it picks runs at random to measure the
  agent, whatever they did, so a sampled run counts as escalated only when its reviewer did not
  approve the output as it was (the person then did part of the work).
- **Human replacement rate**: runs that COMPLETED with no escalation / finished runs. A FAILED
  or CANCELLED run replaced nobody: its work is still to do, so it stays in the denominator.
- **Human agreement**: of the sample gates a person answered (automatic answers, a deadline's
  auto-approval or an evaluation's scripted one, are nobody's opinion), those approved as is.
  ``edit``, ``request_changes`` and ``reject`` disagree.
- **Tool-call failure rate**: failed attempts / attempts, the tool layer's unit, so it is one
  minus the tools table's overall success rate; a retried 503 is a failure the user never saw,
  but it is what the < 3 % target watches (a drill at 20 % shows up here, not in the error rate).
  A target, not an alert: SPEC §5 alerts on error rate, latency and loops only.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from itertools import zip_longest

from agentrun.contracts.report_ops import (
    AgentDeployments,
    GateAnswer,
    GatedRun,
    HumanAgreement,
    OperationsLayer,
    RolloutEvent,
    RolloutOutcome,
    RolloutRecord,
    VersionOps,
    VersionTotals,
)
from agentrun.contracts.review import Decision
from agentrun.contracts.states import TERMINAL_STATES, RunState
from agentrun.logic.figures import percentile, rate
from agentrun.logic.guards import QUALITY_SAMPLE

TOOL_FAILURE_TARGET = 0.03  # SPEC §5: tool-call failure rate < 3 %

# The Rollout workflow's audit actions (``workflows/rollout.py``): each stage's split, and the
# two ends. Its first stage is labelled "stage 1/N", which is how a new rollout is told from
# the next stage of the previous one (both keep the workflow id ``rollout-<agent>``).
STAGE = "stage"
FIRST_STAGE = "stage 1/"
_ENDS = {
    RolloutOutcome.PROMOTED.value: RolloutOutcome.PROMOTED,
    RolloutOutcome.ROLLED_BACK.value: RolloutOutcome.ROLLED_BACK,
}

_TERMINAL = frozenset(state.value for state in TERMINAL_STATES)
_APPROVE = Decision.APPROVE.value

Key = tuple[str, str | None]


# ----------------------------------------------------------------- review gates


def is_sample(reason: str | None) -> bool:
    return reason is not None and reason.startswith(QUALITY_SAMPLE)


def read_gates(run: GatedRun) -> tuple[bool, HumanAgreement]:
    """(did a human have to step in, the run's quality-sample figures).

    An answer with no recorded entry (a record still catching up) is taken for an escalation:
    nothing says it was the sample.
    """
    escalated = False
    sample = HumanAgreement()
    gates: Iterable[tuple[str | None, GateAnswer | None]] = zip_longest(run.entries, run.answers)
    for reason, answer in gates:
        if not is_sample(reason):
            escalated = True
            continue
        sample.sampled += 1
        if answer is None:
            continue
        if answer.decision != _APPROVE:
            escalated = True
        if not answer.automatic:
            sample.answered += 1
            sample.agreed += answer.decision == _APPROVE
    return escalated, sample


def routing_kind(reason: str | None) -> str:
    """Why a run got its version, as a handful of kinds (the reason names the stage and share)."""
    if reason is None:
        return "unrecorded"
    if reason in {"pinned", "default"}:
        return reason
    if reason.startswith("rollout "):
        return "shadow" if " shadow of " in reason else "rollout"
    return "other"


# ----------------------------------------------------------------- rollouts


def time_to_recovery(record: RolloutRecord) -> float | None:
    """Seconds from the failing stage's split write to the rollback's, for a rolled-back
    rollout whose candidate served traffic.

    The incident starts when the candidate began serving the share it failed at, not when an
    analysis noticed: the analysis only sees a window after it closed, and measuring from there
    would give a few seconds whatever the window, hiding the one setting (``--window``) that
    bounds how long users get the bad version. It also works for a rollback by command, which
    has no analysis, and includes the inconclusive windows the stage waited through. A shadow
    rollout put no user on the candidate, so it has nothing to recover from.
    """
    start, end = record.failing_stage_started_at, record.ended_at
    if record.outcome is not RolloutOutcome.ROLLED_BACK or record.shadow:
        return None
    if start is None or end is None:
        return None
    return (end - start).total_seconds()


def _same(record: RolloutRecord, event: RolloutEvent) -> bool:
    return (record.rollout_id, record.stable, record.candidate) == (
        event.rollout_id,
        event.stable,
        event.candidate,
    )


def _begin(event: RolloutEvent) -> RolloutRecord:
    return RolloutRecord(
        agent=event.agent,
        rollout_id=event.rollout_id,
        stable=event.stable,
        candidate=event.candidate,
        outcome=RolloutOutcome.IN_PROGRESS,
        started_at=event.at,
        last_event_at=event.at,
    )


def rollouts(events: Sequence[RolloutEvent]) -> list[RolloutRecord]:
    """Every rollout the trail tells of, in the order they ended (open ones last).

    A rollout is the agent's events from a first stage to a promotion or rollback. An end whose
    start is not in the trail (purged for retention) still counts, with no stage start; a new
    first stage while one is open means the open one never ended (``abandoned``).
    """
    done: list[RolloutRecord] = []
    open_: dict[str, RolloutRecord] = {}
    for event in sorted(events, key=lambda e: e.seq):
        current = open_.get(event.agent)
        ends = _ENDS.get(event.action)
        if event.action != STAGE and ends is None:
            continue  # a step that changed no traffic
        fresh = event.action == STAGE and event.stage.startswith(FIRST_STAGE)
        if current is not None and (fresh or not _same(current, event)):
            current.outcome = RolloutOutcome.ABANDONED
            current.failing_stage_started_at = None
            done.append(open_.pop(event.agent))
            current = None
        if current is None:
            current = open_[event.agent] = _begin(event)
        current.last_event_at = event.at
        if ends is None:
            current.stage, current.percent = event.stage, event.percent
            current.shadow = current.shadow or event.shadow
            current.failing_stage_started_at = event.at
            continue
        current.outcome, current.ended_at = ends, event.at
        current.by, current.reason, current.detected_at = (
            event.actor,
            event.reason,
            event.detected_at,
        )
        if ends is RolloutOutcome.PROMOTED:
            current.failing_stage_started_at = None
        current.time_to_recovery_s = time_to_recovery(current)
        done.append(open_.pop(event.agent))
    for record in open_.values():
        record.failing_stage_started_at = None
    return done + sorted(open_.values(), key=lambda r: r.agent)


def in_window(record: RolloutRecord, start: datetime) -> bool:
    """Rollouts are dated by how they ended; one still running is in every report."""
    return record.outcome is RolloutOutcome.IN_PROGRESS or record.last_event_at >= start


def deployments(records: Sequence[RolloutRecord]) -> list[AgentDeployments]:
    by_agent: dict[str, AgentDeployments] = {}
    recoveries: dict[str, list[float]] = defaultdict(list)
    for record in records:
        agent = by_agent.setdefault(record.agent, AgentDeployments(agent=record.agent))
        agent.rollouts += 1
        outcome = record.outcome
        agent.promoted += outcome is RolloutOutcome.PROMOTED
        agent.rolled_back += outcome is RolloutOutcome.ROLLED_BACK
        agent.in_progress += outcome is RolloutOutcome.IN_PROGRESS
        agent.abandoned += outcome is RolloutOutcome.ABANDONED
        if record.time_to_recovery_s is not None:
            recoveries[record.agent].append(record.time_to_recovery_s)
    for name, agent in by_agent.items():
        agent.success_rate = rate(agent.promoted, agent.promoted + agent.rolled_back)
        times = recoveries[name]
        agent.recoveries = len(times)
        agent.mean_time_to_recovery_s = sum(times) / len(times) if times else None
    return sorted(by_agent.values(), key=lambda a: a.agent)


# ----------------------------------------------------------------- versions


def _sort_key(key: Key) -> tuple[str, bool, str]:
    agent, version = key
    return agent, version is None, version or ""


def within_target(failure_rate: float | None, target: float) -> bool | None:
    """Strictly below: the target reads "< 3 %"."""
    return None if failure_rate is None else failure_rate < target


def version_ops(
    totals: Sequence[VersionTotals],
    gated: Sequence[GatedRun],
    records: Sequence[RolloutRecord],
    target: float = TOOL_FAILURE_TARGET,
) -> list[VersionOps]:
    escalated: dict[Key, int] = defaultdict(int)
    escalated_completed: dict[Key, int] = defaultdict(int)
    samples: dict[Key, HumanAgreement] = defaultdict(HumanAgreement)
    for run in gated:
        key = (run.agent, run.version)
        stepped_in, sample = read_gates(run)
        if stepped_in and run.state in _TERMINAL:
            escalated[key] += 1
            escalated_completed[key] += run.state == RunState.COMPLETED.value
        total = samples[key]
        total.sampled += sample.sampled
        total.answered += sample.answered
        total.agreed += sample.agreed
    latest: dict[Key, RolloutOutcome] = {}
    for record in sorted(records, key=lambda r: r.last_event_at):
        latest[(record.agent, record.candidate)] = record.outcome
    rows = []
    for t in sorted(totals, key=lambda t: _sort_key((t.agent, t.version))):
        key = (t.agent, t.version)
        agreement = samples.get(key, HumanAgreement())
        agreement.rate = rate(agreement.agreed, agreement.answered)
        replaced = t.completed - escalated_completed[key]
        routing: dict[str, int] = defaultdict(int)
        for reason, runs in t.reasons.items():
            routing[routing_kind(reason or None)] += runs  # "": none recorded
        failure_rate = rate(t.tool_failures, t.tool_calls)
        rows.append(
            VersionOps(
                agent=t.agent,
                version=t.version,
                runs=t.runs,
                finished=t.finished,
                error_rate=rate(t.failed, t.finished),
                latency_p95_s=percentile(t.durations_s, 95) if t.durations_s else None,
                cost_per_run_usd=t.cost_usd / t.runs if t.runs else None,
                tool_calls=t.tool_calls,
                tool_failures=t.tool_failures,
                tool_failure_rate=failure_rate,
                tool_failure_within_target=within_target(failure_rate, target),
                escalated=escalated[key],
                replaced=replaced,
                human_replacement_rate=rate(replaced, t.finished),
                agreement=agreement,
                routing=dict(sorted(routing.items(), key=lambda i: (-i[1], i[0]))),
                rollout=latest.get(key),
            )
        )
    return rows


def operations_layer(
    totals: Sequence[VersionTotals],
    gated: Sequence[GatedRun],
    events: Sequence[RolloutEvent],
    start: datetime,
    target: float = TOOL_FAILURE_TARGET,
) -> OperationsLayer:
    records = [r for r in rollouts(events) if in_window(r, start)]
    calls = sum(t.tool_calls for t in totals)
    failures = sum(t.tool_failures for t in totals)
    failure_rate = rate(failures, calls)
    return OperationsLayer(
        tool_failure_target=target,
        tool_calls=calls,
        tool_failures=failures,
        tool_failure_rate=failure_rate,
        tool_failure_within_target=within_target(failure_rate, target),
        versions=version_ops(totals, gated, records, target),
        deployments=deployments(records),
        rollouts=records,
    )

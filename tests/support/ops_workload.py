"""A known workload for the report's operations figures, written through the store's own
writers (``repository`` for runs and their rows, ``rollouts.write_split`` for the rollout trail).

Agent ``refund`` (window: the last 24 h before ``now``):

- version 1, 10 COMPLETED runs lasting 1..10 s, 6 routed as a rollout's stable, 4 by default;
  one lookup per run, all fine (0 of 10 tool attempts failed). Gates: s0 quality sample
  approved by ana; s1 sample edited by ana; s2 a tool approval; s3 sample auto-approved at its
  deadline. Escalated: s1, s2 -> replaced 8 of 10; agreement 1 of 2 answered (3 sampled).
- version 2, routed as a rollout's candidate: c0..c2 COMPLETED, c3 and c4 FAILED, c5 still
  EXECUTING with a sample gate open. c0's sample got ``request_changes``, then its revision was
  approved (2 gates). Tool attempts 16, 8 failed (c1, c2 one 503 each, c3, c4 three each).
  Escalated: c0 -> replaced 2 of 5 finished; agreement 0 of 1 answered (2 sampled).

Agent ``triage``: one run, version 7, still EXECUTING, no tool call, no version reason.

Rollouts of ``refund`` (times before ``now``): R1 0 -> 1 promoted three days ago (outside the
window); R2 1 -> 2 stage 1/2 at 120 m, rolled back by the analysis at 109 m 57 s (window 120 m
-> 110 m); R3 1 -> 3 stage 1/3 at 90 m, stage 2/3 at 80 m, rolled back by dana at 65 m; R4
1 -> 2b blue-green at 30 m, promoted by the controller at 20 m; R5 1 -> 4 shadow at 15 m, rolled
back by ana at 10 m; R6 1 -> 5 stage 1/2 at 5 m, running. Of ``billing``: 1 -> 2 stage 1/2 at
50 m, then 1 -> 3 stage 1/2 at 40 m (the first abandoned, the second running).
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session

from agentrun.contracts.rollout import Analysis, Split, SplitChange, Verdict, VersionFigures
from agentrun.contracts.states import RunState
from agentrun.logic.guards import QUALITY_SAMPLE
from agentrun.store import repository as repo
from agentrun.store.rollouts import write_split

SAMPLE = f"{QUALITY_SAMPLE} (1% of runs)"
REVISION = "a revision after requested changes is reviewed again"
APPROVAL = "approval needed: issue_refund.amount=150 is above 100"
STABLE = "rollout rollout-refund stage 1/2 (5 %): stable"
CANDIDATE = "rollout rollout-refund stage 1/2 (5 %): candidate"


@dataclass
class Gate:
    reason: str
    decision: str | None = "approve"  # None: still waiting
    automatic: bool = False


@dataclass
class OpsRun:
    run_id: str
    agent: str
    version: str | None
    started_at: datetime
    duration_s: float
    state: RunState = RunState.COMPLETED
    version_reason: str | None = None
    gates: list[Gate] = field(default_factory=list)
    attempts: list[list[str]] = field(default_factory=list)  # per call, its attempts' statuses


def write(session: Session, run: OpsRun) -> None:
    s = run.started_at
    end = s + timedelta(seconds=run.duration_s)
    terminal = run.state in {RunState.COMPLETED, RunState.FAILED, RunState.CANCELLED}
    repo.upsert_run(
        session,
        run_id=run.run_id,
        agent=run.agent,
        version=run.version,
        version_reason=run.version_reason,
        tenant_id="acme",
        user_id="u-1",
        request_id=run.run_id,
        trace_id=f"trace-{run.run_id}",
        state=run.state,
        started_at=s,
        finished_at=end if terminal else None,
        failure_category="tool_error_exhausted" if run.state is RunState.FAILED else None,
        human_override=any(g.decision == "edit" for g in run.gates),
        cost_usd=0.002,
    )
    steps: list[tuple[RunState, str | None]] = [
        (RunState.INIT, None),
        (RunState.PREPARING, None),
        (RunState.EXECUTING, None),
    ]
    for gate in run.gates:
        steps.append((RunState.REVIEWING, gate.reason))
        if gate.decision is not None:
            steps.append((RunState.EXECUTING, gate.decision))
    if terminal:
        steps.append((run.state, None))
    tick = timedelta(seconds=run.duration_s / (len(steps) + 1))
    for seq, (target, reason) in enumerate(steps):
        repo.record_transition(
            session,
            run_id=run.run_id,
            seq=seq,
            source=steps[seq - 1][0] if seq else None,
            target=target,
            at=s + tick * seq,
            reason=reason,
        )
    for number, gate in enumerate(run.gates):
        if gate.decision is None:
            continue
        repo.record_review(
            session,
            run_id=run.run_id,
            review_id=f"final-{number}",
            kind="final",
            decision=gate.decision,
            reviewer="escalation" if gate.automatic else "ana",
            at=s + timedelta(seconds=0.1 * (number + 1)),
            automatic=gate.automatic,
            human_override=gate.decision == "edit",
        )
    for call, statuses in enumerate(run.attempts):
        for attempt, status in enumerate(statuses, start=1):
            failed = status != "success"
            repo.record_tool_call(
                session,
                run_id=run.run_id,
                idempotency_key=f"{run.run_id}/{call}",
                attempt=attempt,
                tool="issue_refund" if call else "lookup_order",
                status=status,
                started_at=s,
                error_class="http_503" if failed else None,
                retryable=True if failed else None,
            )


def runs(now: datetime) -> list[OpsRun]:
    first = now - timedelta(hours=3)
    stable = [
        OpsRun(
            run_id=f"s{i}",
            agent="refund",
            version="1",
            started_at=first + timedelta(minutes=i),
            duration_s=i + 1,
            version_reason=STABLE if i < 6 else "default",
            attempts=[["success"]],
        )
        for i in range(10)
    ]
    stable[0].gates = [Gate(SAMPLE)]
    stable[1].gates = [Gate(SAMPLE, "edit")]
    stable[2].gates = [Gate(APPROVAL)]
    stable[3].gates = [Gate(SAMPLE, "approve", automatic=True)]
    retried = [["success"], ["error", "success"]]
    exhausted = [["success"], ["error", "error", "error"]]
    plans: list[tuple[RunState, list[list[str]]]] = [
        (RunState.COMPLETED, [["success"], ["success"]]),
        (RunState.COMPLETED, retried),
        (RunState.COMPLETED, retried),
        (RunState.FAILED, exhausted),
        (RunState.FAILED, exhausted),
        (RunState.EXECUTING, []),
    ]
    candidate = [
        OpsRun(
            run_id=f"c{i}",
            agent="refund",
            version="2",
            started_at=first + timedelta(minutes=20 + i),
            duration_s=2.0 * (i + 1),
            state=state,
            version_reason=CANDIDATE,
            attempts=attempts,
        )
        for i, (state, attempts) in enumerate(plans)
    ]
    candidate[0].gates = [Gate(SAMPLE, "request_changes"), Gate(REVISION)]
    candidate[5].gates = [Gate(SAMPLE, None)]
    triage = OpsRun(
        run_id="tr0",
        agent="triage",
        version="7",
        started_at=now - timedelta(minutes=1),
        duration_s=1.0,
        state=RunState.EXECUTING,
    )
    return [*stable, *candidate, triage]


def _split(
    agent: str, stable: str, candidate: str, percent: float, stage: str, *, shadow: bool = False
) -> Split:
    return Split(
        agent=agent,
        rollout_id=f"rollout-{agent}",
        stable=stable,
        candidate=candidate,
        percent=percent,
        stage=stage,
        shadow=shadow,
    )


def rollouts(session: Session, now: datetime) -> None:
    def at(minutes: float) -> datetime:
        return now - timedelta(minutes=minutes)

    def change(
        when: datetime,
        split: Split,
        action: str,
        by: str = "rollout-controller",
        **detail: object,
    ) -> None:
        write_split(session, SplitChange(split=split, by=by, action=action, detail=detail), when)

    old = now - timedelta(days=3)
    change(old, _split("refund", "0", "1", 100.0, "stage 1/1"), "stage", by="dana")
    change(old + timedelta(minutes=20), _split("refund", "0", "1", 100.0, "promoted"), "promoted")

    analysis = Analysis(
        stage="stage 1/2",
        window_start=at(120),
        window_end=at(110),
        stable=VersionFigures(version="1", runs=40, failed=0),
        candidate=VersionFigures(version="2", runs=20, failed=8),
        verdict=Verdict.ROLLBACK,
        reasons=("error rate 40.0% > 5%",),
    )
    change(at(120), _split("refund", "1", "2", 5.0, "stage 1/2"), "stage", by="dana")
    change(
        at(120) + timedelta(minutes=10, seconds=3),
        _split("refund", "1", "2", 0.0, "rolled back"),
        "rolled_back",
        reason="error rate 40.0% > 5%",
        analysis=analysis.model_dump(mode="json"),
    )

    change(at(90), _split("refund", "1", "3", 10.0, "stage 1/3"), "stage", by="dana")
    change(at(80), _split("refund", "1", "3", 50.0, "stage 2/3"), "stage")
    change(
        at(65),
        _split("refund", "1", "3", 0.0, "rolled back"),
        "rolled_back",
        by="dana",
        reason="answers too long",
    )

    change(at(30), _split("refund", "1", "2b", 100.0, "stage 1/1"), "stage", by="dana")
    change(at(20), _split("refund", "1", "2b", 100.0, "promoted"), "promoted")

    shadow = _split("refund", "1", "4", 100.0, "stage 1/1", shadow=True)
    change(at(15), shadow, "stage", by="dana")
    change(
        at(10),
        _split("refund", "1", "4", 0.0, "rolled back"),
        "rolled_back",
        by="ana",
        reason="copies disagree",
    )

    change(at(5), _split("refund", "1", "5", 5.0, "stage 1/2"), "stage", by="dana")

    change(at(50), _split("billing", "1", "2", 5.0, "stage 1/2"), "stage", by="dana")
    change(at(40), _split("billing", "1", "3", 5.0, "stage 1/2"), "stage", by="dana")


def seed(session: Session, now: datetime) -> None:
    for run in runs(now):
        write(session, run)
    rollouts(session, now)

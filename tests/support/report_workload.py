"""Known workloads for ``agentrun report``, written through the repository's own writers.

Every figure the report should show follows from the numbers here; the tests spell the expected
values out rather than recomputing them with the code under test.

The failing workload (agent ``refund``, started in the last hour): 20 runs, run ``i`` lasting
``i + 1`` seconds; r17 and r18 FAILED ``tool_error_exhausted`` after three HTTP 503 attempts of
``issue_refund``, r19 FAILED ``budget_exceeded``, the rest COMPLETED; r05 and r06 needed a retry
after a 503. Runs r00, r05, r10, r15 were reviewed halfway (r10's reviewer overrode the agent).
Plus two healthy ``triage`` runs and five old FAILED ``refund`` runs three days back.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session

from agentrun.contracts.states import RunState
from agentrun.store import repository as repo


@dataclass
class Attempt:
    tool: str
    status: str = "success"
    duration_ms: float = 100.0
    error_class: str | None = None
    retryable: bool | None = None


@dataclass
class SeedRun:
    run_id: str
    agent: str
    started_at: datetime
    duration_s: float
    state: RunState = RunState.COMPLETED
    category: str | None = None
    review: bool = False
    override: bool = False
    attempts: list[list[Attempt]] = field(default_factory=list)  # per call, its attempts
    model_calls: int = 2
    tokens: tuple[int, int] = (100, 20)  # per model call
    model_cost_usd: float = 0.001  # per model call
    tool_cost_usd: float = 0.0005  # per run


def write_run(session: Session, run: SeedRun) -> None:
    s, d = run.started_at, run.duration_s
    end = s + timedelta(seconds=d)
    repo.upsert_run(
        session,
        run_id=run.run_id,
        agent=run.agent,
        tenant_id="acme",
        user_id="u-1",
        request_id=run.run_id,
        trace_id=f"trace-{run.run_id}",
        state=run.state,
        started_at=s,
        finished_at=end,
        failure_category=run.category,
        human_override=run.override,
        input_tokens=run.model_calls * run.tokens[0],
        output_tokens=run.model_calls * run.tokens[1],
        cost_usd=run.model_calls * run.model_cost_usd + run.tool_cost_usd,
    )
    steps: list[tuple[RunState, datetime]] = [
        (RunState.INIT, s),
        (RunState.PREPARING, s + timedelta(seconds=0.2)),
        (RunState.EXECUTING, s + timedelta(seconds=0.5)),
    ]
    if run.review:
        steps.append((RunState.REVIEWING, s + timedelta(seconds=d / 2)))
    steps.append((run.state, end))
    for seq, (target, at) in enumerate(steps):
        source = steps[seq - 1][0] if seq else None
        repo.record_transition(
            session, run_id=run.run_id, seq=seq, source=source, target=target, at=at
        )
    if run.review:
        repo.record_review(
            session,
            run_id=run.run_id,
            review_id=f"{run.run_id}-review",
            kind="output",
            decision="edit" if run.override else "approve",
            reviewer="ana",
            at=end,
            latency_ms=d / 2 * 1000,
            human_override=run.override,
        )
    for call, attempts in enumerate(run.attempts):
        for number, attempt in enumerate(attempts, start=1):
            repo.record_tool_call(
                session,
                run_id=run.run_id,
                idempotency_key=f"{run.run_id}/{call}",
                attempt=number,
                tool=attempt.tool,
                status=attempt.status,
                started_at=s + timedelta(seconds=0.5),
                duration_ms=attempt.duration_ms,
                error_class=attempt.error_class,
                retryable=attempt.retryable,
            )
    for turn in range(1, run.model_calls + 1):
        repo.record_model_call(
            session,
            run_id=run.run_id,
            turn=turn,
            attempt=1,
            provider="scripted",
            model="scripted-1",
            at=s + timedelta(seconds=0.5),
            input_tokens=run.tokens[0],
            output_tokens=run.tokens[1],
            cost_usd=run.model_cost_usd,
        )


def http_503(tool: str = "issue_refund") -> Attempt:
    return Attempt(tool, "error", 50.0, "http_503", retryable=True)


def failing_runs(now: datetime) -> list[SeedRun]:
    runs = []
    first = now - timedelta(hours=1)
    for i in range(20):
        refund: list[Attempt] = [Attempt("issue_refund", duration_ms=200.0)]
        state, category = RunState.COMPLETED, None
        if i in {5, 6}:
            refund = [http_503(), *refund]
        if i in {17, 18}:
            refund = [http_503(), http_503(), http_503()]
            state, category = RunState.FAILED, "tool_error_exhausted"
        if i == 19:
            refund, state, category = [], RunState.FAILED, "budget_exceeded"
        calls = [[Attempt("lookup_order", duration_ms=100.0 + i)]]
        if refund:
            calls.append(refund)
        if i < 4:
            notify = Attempt("notify", duration_ms=10.0)
            if i == 3:
                notify = Attempt("notify", "error", 5.0, "invalid_params", retryable=False)
            calls.append([notify])
        runs.append(
            SeedRun(
                run_id=f"r{i:02d}",
                agent="refund",
                started_at=first + timedelta(minutes=i),
                duration_s=i + 1,
                state=state,
                category=category,
                review=i % 5 == 0,
                override=i == 10,
                attempts=calls,
            )
        )
    return runs


def other_runs(now: datetime) -> list[SeedRun]:
    """Two healthy runs of another agent, and five old FAILED runs outside a 24 h window."""
    triage = [
        SeedRun(
            run_id=f"t{i}",
            agent="triage",
            started_at=now - timedelta(minutes=30 - i),
            duration_s=1.0,
            model_calls=1,
            tokens=(50, 10),
            model_cost_usd=0.0005,
            tool_cost_usd=0.0,
        )
        for i in range(2)
    ]
    old = [
        SeedRun(
            run_id=f"old{i}",
            agent="refund",
            started_at=now - timedelta(days=3, minutes=i),
            duration_s=60.0,
            state=RunState.FAILED,
            category="internal",
            attempts=[[Attempt("issue_refund", "error", 900.0, "timeout", retryable=None)]],
        )
        for i in range(5)
    ]
    return [*triage, *old]


def healthy_runs(now: datetime, count: int = 10) -> list[SeedRun]:
    return [
        SeedRun(
            run_id=f"h{i:02d}",
            agent="refund",
            started_at=now - timedelta(minutes=50 - i),
            duration_s=1.0 + i / 10,
            attempts=[[Attempt("lookup_order", duration_ms=80.0)]],
        )
        for i in range(count)
    ]


def seed(session: Session, runs: list[SeedRun]) -> None:
    for run in runs:
        write_run(session, run)

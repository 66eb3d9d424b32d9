"""Evaluations and their scored cases: written by the Evaluation workflow's activities, read by
``agentrun eval`` (a version's baseline on a dataset is its latest finished evaluation there)."""

from datetime import datetime

from sqlmodel import Session, col, select

from agentrun.contracts.evaluation import CaseResult, EvalStart, EvalSummary
from agentrun.store.models import EvaluationCaseRow, EvaluationRow
from agentrun.store.repository import insert_once


def start_evaluation(session: Session, start: EvalStart, at: datetime) -> None:
    """Idempotent: a retried activity finds the row there."""
    row = EvaluationRow(
        evaluation_id=start.evaluation_id,
        agent=start.agent,
        version=start.version,
        dataset=start.dataset,
        dataset_digest=start.dataset_digest,
        cases=start.cases,
        started_at=at,
    )
    insert_once(session, row, ("evaluation_id",))


def record_case(session: Session, evaluation_id: str, result: CaseResult) -> None:
    outcome = result.outcome
    row = EvaluationCaseRow(
        evaluation_id=evaluation_id,
        case_id=outcome.case_id,
        run_id=outcome.run_id,
        passed=result.passed,
        state=outcome.state.value,
        failure_category=outcome.failure_category.value if outcome.failure_category else None,
        latency_s=outcome.observed.latency_s,
        cost_usd=outcome.cost_usd,
        tags=[tag.value for tag in result.tags],
        scores=[score.model_dump(mode="json") for score in result.scores],
    )
    insert_once(session, row, ("evaluation_id", "case_id"))


def finish_evaluation(
    session: Session, evaluation_id: str, summary: EvalSummary, at: datetime
) -> None:
    row = session.get(EvaluationRow, evaluation_id)
    if row is None:
        raise LookupError(f"no evaluation {evaluation_id!r} in the store")
    row.finished_at, row.passed = at, summary.passed
    row.summary = summary.model_dump(mode="json")
    session.add(row)


def latest_evaluation(
    session: Session, agent: str, version: str, dataset_digest: str
) -> EvaluationRow | None:
    """The version's baseline on the dataset: its latest finished evaluation there."""
    return session.exec(
        select(EvaluationRow)
        .where(
            col(EvaluationRow.agent) == agent,
            col(EvaluationRow.version) == version,
            col(EvaluationRow.dataset_digest) == dataset_digest,
            col(EvaluationRow.finished_at).is_not(None),
        )
        .order_by(col(EvaluationRow.finished_at).desc())
        .limit(1)
    ).first()


def case_rows(session: Session, evaluation_id: str) -> list[EvaluationCaseRow]:
    return list(
        session.exec(
            select(EvaluationCaseRow)
            .where(col(EvaluationCaseRow.evaluation_id) == evaluation_id)
            .order_by(col(EvaluationCaseRow.case_id))
        ).all()
    )

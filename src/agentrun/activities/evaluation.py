"""The Evaluation workflow's I/O: scoring each case (user scorers are worker code) and keeping
the results in the run store, where ``agentrun eval compare`` finds a version's baseline."""

import asyncio
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from sqlmodel import Session
from temporalio import activity
from temporalio.exceptions import ApplicationError

from agentrun.activities.grading import grade
from agentrun.activities.providers.base import ModelProvider
from agentrun.agents.registry import AgentDefinition, AgentRegistry, RegistryError
from agentrun.contracts.evaluation import (
    CaseResult,
    CaseScoreInput,
    EvalFinish,
    EvalStart,
    EvalSummary,
)
from agentrun.contracts.names import (
    ACTIVITY_EVAL_FINISH,
    ACTIVITY_EVAL_SCORE,
    ACTIVITY_EVAL_START,
    ErrorType,
)
from agentrun.logic.evaluation.scorers import score
from agentrun.logic.evaluation.summary import summarize
from agentrun.store.evaluations import finish_evaluation, record_case, start_evaluation


class EvaluationActivities:
    """``sessions`` None: a worker without a store scores and reports, and keeps nothing."""

    def __init__(
        self,
        registry: AgentRegistry,
        sessions: Callable[[], Session] | None,
        providers: Mapping[str, ModelProvider] | None = None,
    ) -> None:
        self._registry = registry
        self._sessions = sessions
        self._providers = providers or {}

    @activity.defn(name=ACTIVITY_EVAL_START)
    async def start(self, start: EvalStart) -> None:
        self._resolve(start.agent, start.version)
        if self._sessions is not None:
            await asyncio.to_thread(self._write, start_evaluation, start, datetime.now(UTC))

    @activity.defn(name=ACTIVITY_EVAL_SCORE)
    async def score(self, request: CaseScoreInput) -> CaseResult:
        """The built-in scorers, the agent's own, then the grader model's; the case's row in
        the store."""
        definition = self._resolve(request.agent, request.version)
        extra = [(getattr(fn, "__name__", "scorer"), fn) for fn in definition.scorers]
        result = score(request.case, request.outcome, extra)
        graded = await grade(self._providers, request.grader, request.case, request.outcome)
        if graded is not None:
            result = result.model_copy(update={"scores": (*result.scores, graded)})
        if self._sessions is not None:
            await asyncio.to_thread(self._write, record_case, request.evaluation_id, result)
        return result

    @activity.defn(name=ACTIVITY_EVAL_FINISH)
    async def finish(self, request: EvalFinish) -> EvalSummary:
        summary = summarize(request.results).model_copy(update={"concurrency": request.concurrency})
        if self._sessions is not None:
            await asyncio.to_thread(
                self._write, finish_evaluation, request.evaluation_id, summary, datetime.now(UTC)
            )
        return summary

    def _resolve(self, agent: str, version: str) -> AgentDefinition:
        try:
            return self._registry.resolve(agent, version)
        except RegistryError as err:
            raise ApplicationError(
                str(err), type=ErrorType.UNKNOWN_AGENT, non_retryable=True
            ) from None

    def _write(self, fn: Callable[..., None], *args: object) -> None:
        assert self._sessions is not None  # noqa: S101 -- callers check
        with self._sessions() as session, session.begin():
            fn(session, *args)

"""``Evaluation``: every case of a dataset as a real run of one agent version, side effects off.

Each case is a child ``AgentRun`` (visible in the UI under this workflow, each with its own
history), at most ``concurrency`` at a time; each is scored as it ends, so the progress query and
the UI's current details show cases done and passed while the rest run. A worker crash costs
nothing: the children and the scores already taken are in history.
"""

import asyncio
from datetime import timedelta
from typing import TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError, ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    from pydantic import ValidationError

    from agentrun.contracts.evaluation import (
        CaseOutcome,
        CaseResult,
        CaseScoreInput,
        EvalBinding,
        EvalCase,
        EvalFinish,
        EvalProgress,
        EvalReport,
        EvalRequest,
        EvalStart,
        EvalSummary,
        Observation,
    )
    from agentrun.contracts.names import (
        ACTIVITY_EVAL_FINISH,
        ACTIVITY_EVAL_SCORE,
        ACTIVITY_EVAL_START,
        AGENT_RUN_WORKFLOW,
        EVALUATION_WORKFLOW,
        QUERY_EVAL_PROGRESS,
    )
    from agentrun.contracts.runs import RUN_TASK_TIMEOUT, RunRequest, RunResult
    from agentrun.contracts.states import FailureCategory, RunState

T = TypeVar("T")
STEP_TIMEOUT = timedelta(minutes=1)
STEP_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=30), non_retryable_error_types=[])


@workflow.defn(name=EVALUATION_WORKFLOW)
class EvaluationWorkflow:
    @workflow.init
    def __init__(self, request: EvalRequest) -> None:
        self._progress = EvalProgress(cases=len(request.cases))

    @workflow.query(name=QUERY_EVAL_PROGRESS)
    def progress(self) -> EvalProgress:
        return self._progress

    @workflow.run
    async def run(self, request: EvalRequest) -> EvalReport:
        evaluation_id = workflow.info().workflow_id
        await self._step(
            ACTIVITY_EVAL_START,
            EvalStart(
                evaluation_id=evaluation_id,
                agent=request.agent,
                version=request.version,
                dataset=request.dataset,
                dataset_digest=request.dataset_digest,
                cases=len(request.cases),
            ),
            None,
        )
        gate = asyncio.Semaphore(request.concurrency)
        self._show(request)
        results = await asyncio.gather(
            *(self._case(request, evaluation_id, case, gate) for case in request.cases)
        )
        summary = await self._step(
            ACTIVITY_EVAL_FINISH,
            EvalFinish(
                evaluation_id=evaluation_id,
                results=tuple(results),
                concurrency=request.concurrency,
            ),
            EvalSummary,
        )
        assert summary is not None  # noqa: S101 -- the finish step returns one
        return EvalReport(
            evaluation_id=evaluation_id,
            agent=request.agent,
            version=request.version,
            dataset=request.dataset,
            dataset_digest=request.dataset_digest,
            summary=summary,
            results=tuple(results),
        )

    async def _case(
        self, request: EvalRequest, evaluation_id: str, case: EvalCase, gate: asyncio.Semaphore
    ) -> CaseResult:
        async with gate:
            self._count(running=1)
            try:
                outcome = await self._run_case(request, evaluation_id, case)
            finally:
                self._count(running=-1)
        result = await self._step(
            ACTIVITY_EVAL_SCORE,
            CaseScoreInput(
                evaluation_id=evaluation_id,
                agent=request.agent,
                version=request.version,
                case=case,
                outcome=outcome,
                grader=request.grader,
            ),
            CaseResult,
        )
        assert result is not None  # noqa: S101 -- the score step returns one
        self._count(done=1, passed=int(result.passed))
        self._show(request)
        return result

    async def _run_case(
        self, request: EvalRequest, evaluation_id: str, case: EvalCase
    ) -> CaseOutcome:
        run_id = f"{evaluation_id}--{case.id}"
        run = RunRequest(
            agent=request.agent,
            version=request.version,
            input=case.input,
            request_id=run_id,
            evaluation=EvalBinding(
                evaluation_id=evaluation_id,
                case_id=case.id,
                review=case.review,
                tool_results=case.tool_results,
            ),
        )
        try:
            result: RunResult = await workflow.execute_child_workflow(
                AGENT_RUN_WORKFLOW,
                run,
                id=run_id,
                task_queue=request.task_queue or workflow.info().task_queue,
                result_type=RunResult,
                task_timeout=RUN_TASK_TIMEOUT,
                static_summary=f"case {case.id}",
            )
        except ChildWorkflowError as err:
            return _failed(case, run_id, err)
        return _outcome(case, result)

    async def _step(self, name: str, arg: object, result_type: type[T] | None) -> T | None:
        return await workflow.execute_activity(  # type: ignore[no-any-return]
            name,
            arg,
            result_type=result_type,
            start_to_close_timeout=STEP_TIMEOUT,
            retry_policy=STEP_RETRY,
        )

    def _count(self, *, done: int = 0, passed: int = 0, running: int = 0) -> None:
        now = self._progress
        self._progress = EvalProgress(
            cases=now.cases,
            done=now.done + done,
            passed=now.passed + passed,
            running=now.running + running,
        )

    def _show(self, request: EvalRequest) -> None:
        now = self._progress
        workflow.set_current_details(
            f"**{request.agent}@{request.version}** on `{request.dataset}`: "
            f"{now.done}/{now.cases} cases done, {now.passed} passed, {now.running} running"
        )


def _outcome(case: EvalCase, result: RunResult) -> CaseOutcome:
    return CaseOutcome(
        case_id=case.id,
        run_id=result.run_id,
        state=result.state,
        failure_category=result.failure.category if result.failure else None,
        failure=result.failure.message if result.failure else None,
        output=result.output,
        observed=result.observed or Observation(),
        cost_usd=result.usage.cost_usd,
    )


def _failed(case: EvalCase, run_id: str, err: ChildWorkflowError) -> CaseOutcome:
    """A failed run raises with its result in the error's details; anything else (a run
    terminated from outside) is a failure the case did not choose."""
    cause = err.cause
    if isinstance(cause, ApplicationError) and cause.details:
        try:
            return _outcome(case, RunResult.model_validate(cause.details[0]))
        except ValidationError:
            pass
    return CaseOutcome(
        case_id=case.id,
        run_id=run_id,
        state=RunState.FAILED,
        failure_category=FailureCategory.INTERNAL,
        failure=str(cause or err),
    )

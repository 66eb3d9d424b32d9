"""Model-graded scoring: a case whose expectation carries a rubric is scored by the evaluation's
grader model, through the same providers the agents call (so a grader is configured the way an
agent's model is: ``OPENAI_API_KEY``, ``ANTHROPIC_API_KEY``, a compatible ``*_BASE_URL``).

The grader answers with JSON (``{"score": 0..1, "reason": "..."}``); anything else is a failed
score that says what came back, never a guess. A provider failure worth retrying is raised, so
Temporal retries the score step; any other is the case's failed score, naming the cause.
"""

import json
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from temporalio.exceptions import ApplicationError

from agentrun.activities.providers.base import ModelProvider, ModelProviderError, ModelRequest
from agentrun.contracts.agents import AgentSpec, ModelSettings
from agentrun.contracts.evaluation import CaseOutcome, EvalCase, Score
from agentrun.contracts.model import Message
from agentrun.contracts.model_ref import split_model
from agentrun.contracts.names import ErrorType

SCORER = "graded"
GRADER_PROMPT = """\
You grade one answer of an AI agent against a rubric. You are given the task input the agent
received, the rubric, and the agent's output (JSON). Judge only what the rubric asks.
Reply with one JSON object and nothing else: {"score": <a number from 0 to 1>, "reason": "<one
sentence>"}. 1 means the output fully meets the rubric, 0 that it does not meet it at all."""
# The output shown to the grader is cut here: a rubric judges an answer, not a data dump.
MAX_OUTPUT_CHARS = 20_000


class GraderVerdict(BaseModel):
    model_config = ConfigDict(extra="ignore")

    score: float = Field(ge=0, le=1)
    reason: str = ""


def grader_spec(grader: str) -> AgentSpec:
    provider, model = split_model(grader)
    return AgentSpec(
        name="grader",
        version="1",
        system_prompt=GRADER_PROMPT,
        model=ModelSettings(provider=provider, model=model, max_output_tokens=300),
    )


def grading_prompt(case: EvalCase, run: CaseOutcome) -> str:
    assert case.expect.graded is not None  # noqa: S101 -- the caller checks
    output = json.dumps(run.output, ensure_ascii=False, sort_keys=True)
    if len(output) > MAX_OUTPUT_CHARS:
        output = output[:MAX_OUTPUT_CHARS] + f"... ({len(output)} characters in all)"
    return (
        f"Task input:\n{json.dumps(case.input, ensure_ascii=False, sort_keys=True)}\n\n"
        f"Rubric:\n{case.expect.graded.rubric}\n\n"
        f"Agent output:\n{output}"
    )


async def grade(
    providers: Mapping[str, ModelProvider], grader: str | None, case: EvalCase, run: CaseOutcome
) -> Score | None:
    """The case's graded score; None when its expectation has no rubric."""
    graded = case.expect.graded
    if graded is None:
        return None
    if grader is None:
        return _failed("not graded: the case has a rubric, give the evaluation --grader")
    if run.output is None:
        return _failed(f"not graded: the run ended {run.state} with no output")
    spec = grader_spec(grader)
    provider = providers.get(spec.model.provider)
    if provider is None:
        return _failed(f"not graded: this worker does not serve {spec.model.provider!r}")
    return await _ask(provider, spec, grader, case, run)


async def _ask(
    provider: ModelProvider, spec: AgentSpec, grader: str, case: EvalCase, run: CaseOutcome
) -> Score:
    assert case.expect.graded is not None  # noqa: S101 -- grade() checked
    graded = case.expect.graded
    request = ModelRequest(
        spec=spec, messages=[Message(role="user", content=grading_prompt(case, run))], turn=1
    )
    try:
        response = await provider.complete(request)
    except ModelProviderError as err:
        if err.retryable:
            raise ApplicationError(f"grader {grader}: {err}", type=ErrorType.MODEL_ERROR) from None
        return _failed(f"grader {grader} failed: {err}")
    final = response.decision.final
    try:
        verdict = GraderVerdict.model_validate(final.output if final else None)
    except ValidationError:
        said = response.content or (json.dumps(final.output) if final else "(tool calls)")
        return _failed(f"grader {grader} did not answer with a score: {said[:200]!r}")
    passed = verdict.score >= graded.min_score
    detail = f"{verdict.score:.2f} {'>=' if passed else '<'} {graded.min_score:g}"
    return Score(
        scorer=SCORER,
        passed=passed,
        detail=f"{detail}: {verdict.reason}" if verdict.reason else detail,
    )


def _failed(detail: str) -> Score:
    return Score(scorer=SCORER, passed=False, detail=detail)

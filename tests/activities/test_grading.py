"""Model-graded scoring through the real openai SDK, against a local server speaking its wire
protocol: what the grader is sent, and every way its answer can go."""

import json

import pytest
from temporalio.exceptions import ApplicationError

from agentrun.activities.grading import grade
from agentrun.activities.providers.base import ModelProvider
from agentrun.activities.providers.openai import from_environment
from agentrun.contracts.evaluation import CaseOutcome, EvalCase, Observation
from agentrun.contracts.states import RunState
from tests.support.fake_openai import Canned, FakeOpenAI, completion, rate_limited

GRADER = "openai:gpt-4o-mini"
CASE = EvalCase.model_validate(
    {
        "id": "apology",
        "input": {"order_id": "1001", "reason": "arrived broken"},
        "expect": {"graded": {"rubric": "The summary apologises.", "min_score": 0.6}},
    }
)
RUN = CaseOutcome(
    case_id="apology",
    run_id="r-1",
    state=RunState.COMPLETED,
    output={"summary": "Sorry: refunded 250 EUR."},
    observed=Observation(latency_s=0.1),
)


@pytest.fixture
def providers(fake: FakeOpenAI) -> dict[str, ModelProvider]:
    fake.reset()
    return {"openai": from_environment({"OPENAI_BASE_URL": fake.url, "OPENAI_API_KEY": "sk-g"})}


def answer(text: str) -> Canned:
    return Canned(body=completion(content=text))


async def test_a_score_at_or_above_the_bar_passes_and_the_grader_saw_the_rubric_and_output(
    fake: FakeOpenAI, providers: dict[str, ModelProvider]
) -> None:
    fake.queue(answer('{"score": 0.8, "reason": "It apologises."}'))
    score = await grade(providers, GRADER, CASE, RUN)
    assert score is not None
    assert (score.scorer, score.passed) == ("graded", True)
    assert score.detail == "0.80 >= 0.6: It apologises."
    [sent] = fake.received
    assert sent.body["model"] == "gpt-4o-mini"
    prompt = sent.messages[-1]["content"]
    assert "The summary apologises." in prompt
    assert json.dumps(RUN.output) in prompt
    assert '"reason": "arrived broken"' in prompt
    assert sent.messages[0]["role"] == "system"


async def test_a_low_score_fails_and_prose_around_the_json_is_read(
    fake: FakeOpenAI, providers: dict[str, ModelProvider]
) -> None:
    fake.queue(answer('Here is my grade:\n```json\n{"score": 0.2, "reason": "No apology."}\n```'))
    score = await grade(providers, GRADER, CASE, RUN)
    assert score is not None
    assert (score.passed, score.detail) == (False, "0.20 < 0.6: No apology.")


@pytest.mark.parametrize(
    "reply", ["I think it is fine.", '{"score": 7}', '{"score": "high"}', '{"verdict": 1}']
)
async def test_an_answer_that_is_no_score_fails_saying_what_came_back(
    fake: FakeOpenAI, providers: dict[str, ModelProvider], reply: str
) -> None:
    fake.queue(answer(reply))
    score = await grade(providers, GRADER, CASE, RUN)
    assert score is not None
    assert not score.passed
    assert score.detail.startswith(f"grader {GRADER} did not answer with a score: ")


async def test_a_busy_grader_is_retried_by_temporal_and_a_refusing_one_fails_the_score(
    fake: FakeOpenAI, providers: dict[str, ModelProvider]
) -> None:
    fake.queue(rate_limited("1"))
    with pytest.raises(ApplicationError) as busy:
        await grade(providers, GRADER, CASE, RUN)
    assert not busy.value.non_retryable
    fake.queue(Canned(401, {"error": {"message": "bad key", "type": "auth", "code": None}}))
    score = await grade(providers, GRADER, CASE, RUN)
    assert score is not None
    assert not score.passed
    assert score.detail.startswith(f"grader {GRADER} failed: ")


async def test_cases_that_cannot_be_graded_say_why_and_call_nobody(
    fake: FakeOpenAI, providers: dict[str, ModelProvider]
) -> None:
    plain = EvalCase(id="plain", input={})
    assert await grade(providers, GRADER, plain, RUN) is None
    no_grader = await grade(providers, None, CASE, RUN)
    assert no_grader is not None
    assert no_grader.detail == "not graded: the case has a rubric, give the evaluation --grader"
    failed = RUN.model_copy(update={"state": RunState.FAILED, "output": None})
    no_output = await grade(providers, GRADER, CASE, failed)
    assert no_output is not None
    assert no_output.detail == "not graded: the run ended FAILED with no output"
    unserved = await grade(providers, "anthropic:claude-sonnet-4-5", CASE, RUN)
    assert unserved is not None
    assert unserved.detail == "not graded: this worker does not serve 'anthropic'"
    assert not fake.received

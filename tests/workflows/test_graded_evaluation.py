"""An evaluation whose cases carry rubrics, graded by a model the worker serves like an agent's
(the real openai SDK against a local server speaking its protocol): the grader's score decides
the case, next to the built-in scorers."""

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from agentrun.contracts.evaluation import EvalCase, EvalReport, EvalRequest
from agentrun.contracts.names import EVALUATION_WORKFLOW
from agentrun.settings import Settings
from agentrun.workers.worker import build_worker
from tests.conftest import TEST_AGENT_MODULES
from tests.support.fake_openai import Canned, FakeOpenAI, completion
from tests.support.store import migrate_data_dir

REFUND = {"order_id": "1001", "reason": "arrived broken", "amount": 250}
RUBRIC = "The summary says the refund was issued and the customer was told."


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


def case(case_id: str) -> EvalCase:
    return EvalCase.model_validate(
        {"id": case_id, "input": REFUND, "expect": {"graded": {"rubric": RUBRIC}}}
    )


async def test_the_grader_model_scores_each_case_against_its_rubric(
    temporal_env: WorkflowEnvironment, tmp_path: Path, fake: FakeOpenAI
) -> None:
    migrate_data_dir(tmp_path)
    queue = f"graded-{uuid.uuid4().hex[:8]}"
    settings = Settings(data_dir=tmp_path, agent_modules=TEST_AGENT_MODULES, task_queue=queue)
    environ = {"OPENAI_BASE_URL": fake.url, "OPENAI_API_KEY": "sk-grader"}
    # One case at a time: the grader's canned answers are taken in order.
    fake.queue(
        Canned(body=completion(content='{"score": 0.9, "reason": "Both said."}')),
        Canned(body=completion(content='{"score": 0.3, "reason": "No word of the email."}')),
    )
    async with build_worker(temporal_env.client, settings, environ=environ):
        report = await temporal_env.client.execute_workflow(
            EVALUATION_WORKFLOW,
            EvalRequest(
                agent="refund",
                version="2",
                dataset="graded",
                dataset_digest="sha256:graded",
                cases=(case("first"), case("second")),
                concurrency=1,
                grader="openai:gpt-4o-mini",
            ),
            id=f"eval-graded-{uuid.uuid4().hex[:8]}",
            task_queue=queue,
            result_type=EvalReport,
        )
    first, second = report.results
    graded = [next(s for s in r.scores if s.scorer == "graded") for r in (first, second)]
    assert [(g.passed, g.detail) for g in graded] == [
        (True, "0.90 >= 0.7: Both said."),
        (False, "0.30 < 0.7: No word of the email."),
    ]
    # The built-in outcome scorer passed both: the grader alone failed the second.
    assert all(s.passed for s in second.scores if s.scorer != "graded")
    assert (report.summary.cases, report.summary.passed) == (2, 1)
    sent = [r.messages[-1]["content"] for r in fake.received]
    assert len(sent) == 2
    assert all(RUBRIC in prompt and "refund" in prompt.lower() for prompt in sent)

"""Evaluation: a dataset's cases, how a run is bound to one, and what was observed and scored.

A case is one JSONL line of a dataset (docs/evaluation.md). It runs as a real run of the version
under test, marked with :class:`EvalBinding`: side-effecting tools answer from the case's
recorded results or their declared dry run, never for real, and a review the run asks for is
answered as the case says rather than by a person.
"""

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator

from agentrun.contracts.model_ref import split_model
from agentrun.contracts.review import Decision, GateKind
from agentrun.contracts.states import FailureCategory, RunState

CASE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$"
# A dataset travels in the Evaluation workflow's input: well inside Temporal's 2 MB payload.
MAX_DATASET_BYTES = 1_500_000
MAX_CASES = 2_000


class RunMode(StrEnum):
    LIVE = "live"
    EVALUATION = "evaluation"
    SHADOW = "shadow"


class CaseTag(StrEnum):
    NORMAL = "normal"
    BOUNDARY = "boundary"
    ERROR = "error"


class RecordedResult(BaseModel):
    """One tool result as it was in production: the tool's output data, or its failure."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    data: JsonValue = None
    # A failure the tool raised then (its error class, e.g. ``http_503``), raised again so the
    # case replays what the run went through: retried, and then its fallback, when ``retryable``.
    error: str | None = Field(default=None, max_length=200)
    retryable: bool = False


class Grading(BaseModel):
    """A judgement no field check can make ("the reply apologises and gives a date"): a model
    (the evaluation's grader) scores the output from 0 to 1 against the rubric."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rubric: str = Field(min_length=1, max_length=4000)
    min_score: float = Field(default=0.7, ge=0, le=1)


class Expectation(BaseModel):
    """What a case's run must show; every part left out is not checked."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # The run's end state; a FAILED run may also have to fail for a named reason.
    state: RunState | None = None
    failure_category: FailureCategory | None = None
    # Output fields that must equal these values (the rest of the output is free).
    output: dict[str, JsonValue] | None = None
    # A JSON Schema the whole output must validate against.
    output_schema: dict[str, Any] | None = None
    # The tools called, in order (a tool called twice appears twice).
    trajectory: tuple[str, ...] | None = None
    must_not_call: tuple[str, ...] = ()
    # A review gate the run must open (``final``, ``tool_approval``, ``policy``, ``budget``), or
    # ``False``: it must finish without asking anyone.
    review: GateKind | bool | None = None
    max_cost_usd: float | None = Field(default=None, ge=0)
    max_latency_s: float | None = Field(default=None, gt=0)
    # Scored by the evaluation's grader model (``eval run --grader provider:model``).
    graded: Grading | None = None

    @field_validator("state")
    @classmethod
    def _an_end_state(cls, value: RunState | None) -> RunState | None:
        if value is not None and value not in (
            RunState.COMPLETED,
            RunState.FAILED,
            RunState.CANCELLED,
        ):
            raise ValueError("a run ends COMPLETED, FAILED or CANCELLED")
        return value


class EvalCase(BaseModel):
    """One line of a dataset."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=CASE_ID_PATTERN)
    input: dict[str, Any]
    expect: Expectation = Expectation()
    tags: tuple[CaseTag, ...] = (CaseTag.NORMAL,)
    # How a review the run asks for is answered (nobody is asked during an evaluation).
    review: Decision = Decision.APPROVE
    # Recorded tool results by tool name, in call order: the case replays them offline.
    tool_results: dict[str, tuple[RecordedResult, ...]] = Field(default_factory=dict)
    # Where the case came from (``run:<id>`` for a production run), for the reader.
    source: str | None = Field(default=None, max_length=300)

    @field_validator("review")
    @classmethod
    def _approve_or_reject(cls, value: Decision) -> Decision:
        if value not in (Decision.APPROVE, Decision.REJECT):
            raise ValueError("a case's reviews are answered approve or reject")
        return value


class EvalBinding(BaseModel):
    """On a run's request: this run is one case of an evaluation (or a shadow copy)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    evaluation_id: str = Field(min_length=1, max_length=200)
    case_id: str = Field(pattern=CASE_ID_PATTERN)
    mode: RunMode = RunMode.EVALUATION
    review: Decision = Decision.APPROVE
    tool_results: dict[str, tuple[RecordedResult, ...]] = Field(default_factory=dict)

    @field_validator("mode")
    @classmethod
    def _not_live(cls, value: RunMode) -> RunMode:
        if value is RunMode.LIVE:
            raise ValueError("a bound run is an evaluation or a shadow, never live")
        return value


class Observation(BaseModel):
    """What an evaluated run did, returned with its result (side effects are all dry)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tools: tuple[str, ...] = ()
    reviews: tuple[GateKind, ...] = ()
    latency_s: float = 0.0


class Score(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    scorer: str
    passed: bool
    detail: str = ""


class CaseOutcome(BaseModel):
    """A case's run as the scorers see it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    case_id: str
    run_id: str
    state: RunState
    failure_category: FailureCategory | None = None
    failure: str | None = None
    output: dict[str, Any] | None = None
    observed: Observation = Observation()
    cost_usd: float = 0.0


class CaseResult(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    outcome: CaseOutcome
    tags: tuple[CaseTag, ...]
    scores: tuple[Score, ...]

    @property
    def passed(self) -> bool:
        return all(score.passed for score in self.scores)


# ----------------------------------------------------------------- the Evaluation workflow


class EvalRequest(BaseModel):
    """The Evaluation workflow's input: every case runs as a child run of ``agent@version``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    agent: str = Field(min_length=1, max_length=64)
    version: str = Field(min_length=1, max_length=64)
    dataset: str = Field(min_length=1, max_length=300)  # its name, for the reader
    dataset_digest: str = Field(min_length=1, max_length=100)
    cases: tuple[EvalCase, ...] = Field(min_length=1, max_length=MAX_CASES)
    concurrency: int = Field(default=4, ge=1, le=50)
    # The queue the runs go to (the Evaluation workflow's own, when None).
    task_queue: str | None = None
    # provider:model that scores the cases with a rubric (``Expectation.graded``).
    grader: str | None = Field(default=None, max_length=240)

    @field_validator("grader")
    @classmethod
    def _provider_model(cls, value: str | None) -> str | None:
        if value is not None:
            split_model(value)
        return value


class TagFigures(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    cases: int
    passed: int
    interval: tuple[float, float]


class EvalSummary(BaseModel):
    """An evaluation's figures: pass rate with its 95 % interval, per tag, latency, cost."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cases: int
    passed: int
    interval: tuple[float, float]
    by_tag: dict[str, TagFigures]
    latency_p50_s: float
    latency_p95_s: float
    cost_per_run_usd: float
    failed_by: dict[str, int] = Field(default_factory=dict)  # scorer -> cases it failed
    # Cases run at once: latencies of evaluations run at different concurrencies do not compare.
    concurrency: int | None = None

    @property
    def pass_rate(self) -> float:
        return self.passed / self.cases if self.cases else 0.0


class CaseScoreInput(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    evaluation_id: str
    agent: str
    version: str
    case: EvalCase
    outcome: CaseOutcome
    grader: str | None = None


class EvalStart(BaseModel):
    """The evaluation's row, written before its first case runs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    evaluation_id: str
    agent: str
    version: str
    dataset: str
    dataset_digest: str
    cases: int


class EvalFinish(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    evaluation_id: str
    results: tuple[CaseResult, ...]
    concurrency: int | None = None


class EvalProgress(BaseModel):
    """The ``progress`` query's answer (and the UI's current details, in words)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cases: int
    done: int = 0
    passed: int = 0
    running: int = 0


class EvalReport(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    evaluation_id: str
    agent: str
    version: str
    dataset: str
    dataset_digest: str
    summary: EvalSummary
    results: tuple[CaseResult, ...]

"""The built-in scorers: each reads a case's expectation and the run's outcome and says pass or
fail with one line of why. A scorer whose part of the expectation is absent does not score.

User scorers have the same shape (:data:`Scorer`) and are added per evaluation.
"""

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from agentrun.contracts.evaluation import CaseOutcome, CaseResult, EvalCase, Score
from agentrun.contracts.review import GateKind
from agentrun.contracts.states import RunState

Scorer = Callable[[EvalCase, CaseOutcome], Score | None]


def outcome(case: EvalCase, run: CaseOutcome) -> Score | None:
    """The end state, and for a failure its category. With neither expected, a case expects
    its run to complete: a run that failed did not do the task."""
    expect = case.expect
    state = expect.state or (RunState.FAILED if expect.failure_category else RunState.COMPLETED)
    if run.state is not state:
        why = f": {run.failure_category} ({run.failure})" if run.failure_category else ""
        return Score(scorer="outcome", passed=False, detail=f"ended {run.state}{why}, not {state}")
    if expect.failure_category and run.failure_category is not expect.failure_category:
        return Score(
            scorer="outcome",
            passed=False,
            detail=f"failed as {run.failure_category}, not {expect.failure_category}",
        )
    return Score(scorer="outcome", passed=True, detail=str(state))


def fields(case: EvalCase, run: CaseOutcome) -> Score | None:
    expected = case.expect.output
    if expected is None:
        return None
    got = run.output or {}
    wrong = [
        f"{key}: {got.get(key, '(missing)')!r} != {value!r}"
        for key, value in expected.items()
        if got.get(key, _ABSENT) != value
    ]
    return Score(scorer="fields", passed=not wrong, detail="; ".join(wrong[:3]))


def schema(case: EvalCase, run: CaseOutcome) -> Score | None:
    wanted = case.expect.output_schema
    if wanted is None:
        return None
    # Imported here: every worker and CLI imports the scorers' module (through the registry),
    # and only evaluations with a schema need jsonschema.
    from jsonschema import Draft202012Validator  # noqa: PLC0415
    from jsonschema.exceptions import SchemaError  # noqa: PLC0415

    try:
        errors = sorted(
            Draft202012Validator(wanted).iter_errors(run.output), key=lambda e: list(e.path)
        )
    except SchemaError as err:
        return Score(scorer="schema", passed=False, detail=f"the case's schema: {err.message}")
    if not errors:
        return Score(scorer="schema", passed=True)
    first = errors[0]
    where = "/".join(str(p) for p in first.absolute_path) or "output"
    return Score(scorer="schema", passed=False, detail=f"{where}: {first.message}")


def trajectory(case: EvalCase, run: CaseOutcome) -> Score | None:
    wanted = case.expect.trajectory
    if wanted is None:
        return None
    got = run.observed.tools
    passed = tuple(got) == tuple(wanted)
    detail = "" if passed else f"called {_seq(got)}, expected {_seq(wanted)}"
    return Score(scorer="trajectory", passed=passed, detail=detail)


def forbidden(case: EvalCase, run: CaseOutcome) -> Score | None:
    banned = set(case.expect.must_not_call)
    if not banned:
        return None
    called = sorted(banned.intersection(run.observed.tools))
    return Score(
        scorer="must_not_call",
        passed=not called,
        detail=f"called {', '.join(called)}" if called else "",
    )


def review(case: EvalCase, run: CaseOutcome) -> Score | None:
    wanted = case.expect.review
    if wanted is None:
        return None
    opened = run.observed.reviews
    if wanted is False:
        passed, detail = not opened, f"asked for review ({_seq(opened)})" if opened else ""
    elif wanted is True:
        passed, detail = bool(opened), "" if opened else "asked nobody"
    else:
        kind = GateKind(wanted)
        passed = kind in opened
        detail = "" if passed else f"no {kind} review (opened: {_seq(opened)})"
    return Score(scorer="review", passed=passed, detail=detail)


def cost(case: EvalCase, run: CaseOutcome) -> Score | None:
    limit = case.expect.max_cost_usd
    if limit is None:
        return None
    passed = run.cost_usd <= limit
    return Score(
        scorer="cost", passed=passed, detail="" if passed else f"${run.cost_usd:.4f} > ${limit}"
    )


def latency(case: EvalCase, run: CaseOutcome) -> Score | None:
    limit = case.expect.max_latency_s
    if limit is None:
        return None
    took = run.observed.latency_s
    passed = took <= limit
    return Score(
        scorer="latency", passed=passed, detail="" if passed else f"{took:.2f}s > {limit}s"
    )


BUILT_IN: tuple[Scorer, ...] = (
    outcome,
    fields,
    schema,
    trajectory,
    forbidden,
    review,
    cost,
    latency,
)


def score(case: EvalCase, run: CaseOutcome, extra: Sequence[tuple[str, Scorer]] = ()) -> CaseResult:
    """Every scorer that has something to check; a user scorer that raises fails the case,
    saying so, rather than the evaluation."""
    return CaseResult(outcome=run, tags=case.tags, scores=tuple(_scores(case, run, extra)))


def _scores(
    case: EvalCase, run: CaseOutcome, extra: Sequence[tuple[str, Scorer]]
) -> Iterator[Score]:
    for scorer in BUILT_IN:
        found = scorer(case, run)
        if found is not None:
            yield found
    for name, scorer in extra:
        try:
            found = scorer(case, run)
        except Exception as err:  # noqa: BLE001 -- a user's scorer: its failure is a result
            yield Score(scorer=name, passed=False, detail=f"raised {type(err).__name__}: {err}")
            continue
        if found is not None:
            yield found.model_copy(update={"scorer": name})


_ABSENT: Any = object()


def _seq(items: Sequence[object]) -> str:
    return " > ".join(str(i) for i in items) or "nothing"

"""A production run as a regression case: its input, its tools' recorded results for offline
replay, and the reviewer's verdict as the expectation (pure; the history is read elsewhere)."""

import re
from collections.abc import Collection, Sequence

from agentrun.contracts.evaluation import CaseTag, EvalCase, Expectation, RecordedResult
from agentrun.contracts.review import Decision
from agentrun.contracts.runs import RunRequest, RunResult
from agentrun.contracts.states import FailureCategory, RunState

_CASE_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def case_id_for(run_id: str) -> str:
    return ("run-" + _CASE_ID_UNSAFE.sub("-", run_id).strip("-"))[:80]


def case_from_run(
    run_id: str,
    request: RunRequest,
    calls: Sequence[tuple[str, RecordedResult]],
    result: RunResult,
    known_tools: Collection[str],
) -> EvalCase:
    """- Completed (approved, or edited by a reviewer): the output it ended with is expected.
    - A tool's approval rejected: the same request must not reach that tool; the case answers
      its reviews ``reject`` so the replay meets the same gate.
    - Any other failure: the same failure category is expected (tagged ``error``).
    The tools' results as recorded, in call order, answer every call on replay."""
    recorded: dict[str, list[RecordedResult]] = {}
    for tool, outcome in calls:
        recorded.setdefault(tool, []).append(outcome)
    tools = tuple(tool for tool, _ in calls)
    review = Decision.APPROVE
    tags = (CaseTag.NORMAL,)
    failure = result.failure
    if result.state is RunState.COMPLETED:
        expect = Expectation(state=RunState.COMPLETED, output=result.output, trajectory=tools)
    elif failure is not None and failure.category is FailureCategory.REVIEW_REJECTED:
        rejected = failure.message.split(" ", 1)[0]
        banned = (rejected,) if rejected in known_tools else ()
        expect = Expectation(
            state=RunState.FAILED,
            failure_category=FailureCategory.REVIEW_REJECTED,
            must_not_call=banned,
        )
        review, tags = Decision.REJECT, (CaseTag.ERROR,)
    else:
        expect = Expectation(
            state=result.state, failure_category=failure.category if failure else None
        )
        tags = (CaseTag.ERROR,)
    how = "edited by its reviewer" if result.human_override else str(result.state)
    return EvalCase(
        id=case_id_for(run_id),
        input=request.input,
        expect=expect,
        tags=tags,
        review=review,
        tool_results={tool: tuple(results) for tool, results in recorded.items()},
        source=f"run:{run_id} ({how})",
    )

"""``agentrun status`` of a run that continued as new: its latest calls, and how many came
before (they are in the run record, not in the status)."""

from datetime import UTC, datetime

from rich.console import Console

from agentrun.cli.render import status_view
from agentrun.contracts.runs import RunStatus
from agentrun.contracts.states import RunState, Transition
from agentrun.contracts.tools import ToolCallRecord

AT = datetime(2026, 1, 1, tzinfo=UTC)


def _status(shown: int, earlier: int) -> RunStatus:
    calls = [
        ToolCallRecord(
            call_id=f"c{n}", step=n, tool="lookup", status="success", attempts=1,
            idempotency_key=f"r/{n}/0", started_at=AT, finished_at=AT,
        )
        for n in range(shown)
    ]  # fmt: skip
    return RunStatus(
        run_id="r",
        agent="long",
        tenant_id="t",
        user_id="u",
        request_id="r",
        trace_id="x",
        state=RunState.EXECUTING,
        transitions=[Transition(source=None, target=RunState.INIT, at=AT)],
        tool_calls=calls,
        tool_calls_earlier=earlier,
    )


def _shown(status: RunStatus) -> str:
    console = Console(record=True, width=200)
    console.print(status_view(status, now=AT))
    return console.export_text()


def test_the_calls_before_the_latest_are_counted() -> None:
    text = _shown(_status(50, 9950))
    assert "the latest 50 of 10000: the earlier 9950 are in the run record (tool_calls)" in text


def test_a_run_that_never_continued_says_nothing_more() -> None:
    assert "earlier" not in _shown(_status(3, 0))

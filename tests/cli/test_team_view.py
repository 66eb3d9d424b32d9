"""The team section of ``agentrun status`` when a child cannot say for itself: a run whose status
query fails is shown as its parent last saw it (a review it waits for, perhaps a descendant's,
or how it failed), and a run that answers is shown as it answers, against a real worker."""

from datetime import UTC, datetime, timedelta

from rich.console import Console

from agentrun.cli.team_status import member_line, team_tree, team_view
from agentrun.client import AgentRunClient
from agentrun.contracts import RunRequest, RunState
from agentrun.contracts.review import PendingReview
from agentrun.contracts.runs import ChildRun, Failure, RunStatus, Usage
from agentrun.contracts.states import FailureCategory, Transition

AT = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
WAITING = PendingReview(
    review_id="final-1-abc",
    kind="final",
    reviewers=("alice", "bob"),
    deadline=AT + timedelta(minutes=5),
    reason="final review",
)


def shown(members: object) -> str:
    console = Console(width=400, no_color=True)
    with console.capture() as captured:
        console.print(members)
    return captured.get()


async def test_a_child_that_does_not_answer_is_shown_as_its_parent_saw_it(
    runs: AgentRunClient,
) -> None:
    answered = await runs.start(RunRequest(agent="echo", input={"key": "team-view"}))
    await runs.result(answered)
    gone = "no-such-run--1-1-writer"
    children = [
        ChildRun(run_id=answered, agent="echo", tool="ask_echo", state=RunState.EXECUTING),
        ChildRun(
            run_id=gone,
            agent="writer",
            tool="ask_writer",
            state=RunState.EXECUTING,
            usage=Usage(model_calls=2),
            pending_review=WAITING,
            waiting_on=f"{gone}--2-0-checker",
        ),
        ChildRun(
            run_id="no-such-run--1-2-checker",
            agent="checker",
            tool="ask_checker",
            handoff=True,
            state=RunState.FAILED,
            failure=Failure(category=FailureCategory.BUDGET_EXCEEDED, message="token budget"),
        ),
    ]
    parent = RunStatus(
        run_id="no-such-run",
        agent="lead",
        tenant_id="default",
        user_id="anonymous",
        request_id="no-such-run",
        trace_id="t",
        state=RunState.EXECUTING,
        transitions=[Transition(source=None, target=RunState.INIT, at=AT)],
        children=children,
    )
    tree = await team_tree(runs, parent)
    assert [(m.child.run_id, m.depth, m.status is not None) for m in tree] == [
        (answered, 1, True),
        (gone, 1, False),
        ("no-such-run--1-2-checker", 1, False),
    ]
    # The run that answered: its own state and spend, not the parent's older view of them.
    echo = member_line(tree[0]).plain
    own = tree[0].status
    assert own is not None
    assert "COMPLETED" in echo
    assert f"{own.usage.tokens.total:,} tokens" in echo
    # The one that did not: the review its parent saw, decided on the run that waits for it.
    writer = member_line(tree[1], ["--address", "x:7233"]).plain
    assert "EXECUTING" in writer
    assert "waiting for review final-1-abc (final) by alice, bob until " in writer
    assert (
        f"approve with: agentrun review {gone}--2-0-checker --decision approve --reviewer alice "
        "--address x:7233" in writer
    )
    checker = member_line(tree[2]).plain
    assert "tool ask_checker (hand-off) · FAILED" in checker
    assert "budget_exceeded: token budget" in checker
    text = shown(team_view(tree))
    assert text.startswith("team: 3 runs below this one")
    assert [line[:4] for line in text.splitlines()[1:]] == ["  └ "] * 3

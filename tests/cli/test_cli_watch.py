"""``agentrun watch`` and ``run --watch`` as a person runs them: a real process following a real
run on the dev server, read line by line while the run waits for a review the test then decides.

The session's worker runs in this test's event loop, so the CLI runs as an asyncio subprocess:
a blocking ``subprocess.run`` would stop the worker the run needs.
"""

import asyncio
import json
import os
import re
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from agentrun.cli.watch import changes
from agentrun.client import AgentRunClient
from agentrun.contracts import Decision, ReviewDecision, RunRequest
from agentrun.contracts.review import PendingReview
from agentrun.contracts.runs import ChildRun, RunStatus
from agentrun.contracts.states import RunState, Transition
from agentrun.contracts.tools import ToolCallRecord
from agentrun.settings import Settings

LINE_TIMEOUT_S = 30.0
STATES = {state.value for state in RunState}


@dataclass
class Watch:
    process: asyncio.subprocess.Process
    lines: list[str]

    async def until(self, text: str) -> str:
        """Read stdout until a line containing ``text``: the watch shows it while it runs."""
        assert self.process.stdout is not None
        while True:
            raw = await asyncio.wait_for(self.process.stdout.readline(), LINE_TIMEOUT_S)
            assert raw, f"watch ended before printing {text!r}: {self.lines}"
            self.lines.append(raw.decode().rstrip("\n"))
            if text in self.lines[-1]:
                return self.lines[-1]

    async def finish(self) -> tuple[int, list[str], list[str]]:
        """Exit code, every stdout line, and the stderr lines."""
        stdout, stderr = await asyncio.wait_for(self.process.communicate(), LINE_TIMEOUT_S)
        self.lines += stdout.decode().splitlines()
        errors = stderr.decode().splitlines()
        assert not any("Traceback" in line for line in errors), stderr.decode()
        assert self.process.returncode is not None
        return self.process.returncode, self.lines, errors


@pytest.fixture
def cli_env(temporal_env: WorkflowEnvironment, settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "AGENTRUN_"))}
    env.update(
        TEMPORAL_ADDRESS=temporal_env.client.service_client.config.target_host,
        AGENTRUN_TASK_QUEUE=settings.task_queue,
        AGENTRUN_DATA_DIR=str(settings.data_dir),
        AGENTRUN_LOG_LEVEL="WARNING",
    )
    return env


async def agentrun(env: dict[str, str], *args: str) -> Watch:
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "agentrun.cli", *args),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    return Watch(process, [])


def states_in_order(lines: list[str]) -> list[str]:
    """The state each line starts with, repeats folded: the path the run took."""
    path: list[str] = []
    for line in lines:
        label = line.split(" ", 1)[0]
        if label in STATES and (not path or path[-1] != label):
            path.append(label)
    return path


async def test_watch_follows_a_run_through_its_review(
    runs: AgentRunClient, cli_env: dict[str, str]
) -> None:
    run_id = await runs.start(RunRequest(agent="reviewed", input={"key": "watched"}))
    watch = await agentrun(cli_env, "watch", run_id)

    pending = await watch.until("waiting for review")
    assert watch.process.returncode is None  # still watching while the run waits
    await runs.review(run_id, ReviewDecision(decision=Decision.APPROVE, reviewer="bob"))
    code, lines, errors = await watch.finish()

    assert code == 0, (lines, errors)
    assert errors == []
    assert lines[0] == f"watching run {run_id}: agent reviewed@1, tenant default"
    assert states_in_order(lines[1:]) == [
        "INIT",
        "PREPARING",
        "EXECUTING",
        "REVIEWING",
        "COMPLETED",
    ], lines
    assert pending.startswith("REVIEWING  waiting for review final-1-"), pending
    assert " (final) by alice, bob until " in pending
    assert f"approve with: agentrun review {run_id} --decision approve --reviewer alice" in pending
    [tool] = [line for line in lines if " tool " in line]
    assert tool.startswith("EXECUTING  step 1  tool echo ok (1 attempt, "), tool
    assert any(line.startswith("REVIEWING  review final-1-") for line in lines), lines
    assert any("approve by bob" in line for line in lines), lines
    ending = re.fullmatch(r"COMPLETED  approve by bob  ([\d,]+) tokens  \$\d+\.\d{4}", lines[-1])
    assert ending is not None, lines[-1]
    assert int(ending[1].replace(",", "")) > 0


async def test_watch_of_a_rejected_run_exits_1_naming_its_category(
    runs: AgentRunClient, cli_env: dict[str, str]
) -> None:
    run_id = await runs.start(RunRequest(agent="reviewed", input={"key": "refused"}))
    watch = await agentrun(cli_env, "watch", run_id)

    await watch.until("waiting for review")
    rejection = ReviewDecision(decision=Decision.REJECT, reviewer="alice", comment="wrong one")
    await runs.review(run_id, rejection)
    code, lines, errors = await watch.finish()

    assert code == 1
    assert lines[-1].startswith("FAILED     review_rejected: "), lines[-1]
    assert "wrong one" in lines[-1]
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"error: run {run_id} FAILED: review_rejected: "), errors


async def test_watch_of_an_unknown_run_is_one_error_line(
    runs: AgentRunClient, cli_env: dict[str, str]
) -> None:
    code, lines, errors = await (await agentrun(cli_env, "watch", "no-such-run")).finish()

    assert code == 1
    assert lines == []
    assert errors == ["error: no run with id 'no-such-run'"]


async def test_watch_without_temporal_is_one_error_line(cli_env: dict[str, str]) -> None:
    watch = await agentrun(cli_env, "watch", "some-run", "--address", "127.0.0.1:1")

    code, lines, errors = await watch.finish()

    assert code == 1
    assert lines == []
    assert len(errors) == 1, errors
    assert errors[0].startswith("error: cannot reach Temporal at 127.0.0.1:1: "), errors


async def test_run_watch_starts_a_run_and_follows_it_to_its_end(
    runs: AgentRunClient, cli_env: dict[str, str]
) -> None:
    watch = await agentrun(cli_env, "run", "echo", "--input", '{"key": "started"}', "--watch")

    code, lines, errors = await watch.finish()

    assert code == 0, (lines, errors)
    assert lines[0].startswith("started run run-"), lines
    run_id = lines[0].split()[2].rstrip(";")
    assert lines[1] == f"watching run {run_id}: agent echo@1, tenant default"
    assert any(line.startswith("EXECUTING  step 1  tool echo ok") for line in lines), lines
    assert lines[-1].startswith("COMPLETED  "), lines
    assert (await runs.status(run_id)).state is RunState.COMPLETED


async def test_run_watch_json_is_one_status_per_line(
    runs: AgentRunClient, cli_env: dict[str, str]
) -> None:
    args = ("run", "strict", "--input", '{"key": "k"}', "--watch", "--json")
    code, lines, errors = await (await agentrun(cli_env, *args)).finish()

    statuses = [json.loads(line) for line in lines]
    assert code == 1
    assert statuses[-1]["state"] == "FAILED"
    assert statuses[-1]["failure"]["category"] == "tool_error_permanent"
    assert all(status["state"] != "FAILED" for status in statuses[:-1])
    assert [call["tool"] for call in statuses[-1]["tool_calls"]] == ["strict_read"]
    assert len(errors) == 1, errors
    assert "tool_error_permanent" in errors[0]


async def test_run_with_wait_and_watch_is_refused(cli_env: dict[str, str]) -> None:
    args = ("run", "echo", "--wait", "--watch")
    code, lines, errors = await (await agentrun(cli_env, *args)).finish()

    assert code == 1
    assert lines == []
    assert errors == ["error: --wait and --watch: choose one (--watch waits too)"]


def test_a_status_that_lost_its_oldest_tool_calls_still_shows_the_new_one() -> None:
    """A run that continued as new shows only its latest calls: what is new is what was not
    seen, not what lies past the old list's length."""
    start = datetime(2026, 1, 1, tzinfo=UTC)

    def call(n: int) -> ToolCallRecord:
        at = start + timedelta(seconds=n)
        return ToolCallRecord(
            call_id=f"c{n}",
            step=n,
            tool=f"tool{n}",
            status="success",
            attempts=1,
            idempotency_key=f"k{n}",
            started_at=at,
            finished_at=at + timedelta(milliseconds=30),
        )

    executing = [Transition(source=None, target=RunState.EXECUTING, at=start)]
    before = RunStatus(
        run_id="r",
        agent="a",
        tenant_id="t",
        user_id="u",
        request_id="r",
        trace_id="x",
        state=RunState.EXECUTING,
        transitions=executing,
        step=3,
        tool_calls=[call(1), call(2), call(3)],
    )
    after = before.model_copy(update={"step": 4, "tool_calls": [call(2), call(3), call(4)]})

    lines = changes(before, after)

    assert lines == [
        (RunState.EXECUTING, "step 4  tool tool4 ok (1 attempt, 30 ms)"),
        (RunState.EXECUTING, "step 4"),
    ]


def test_a_call_in_flight_and_a_childs_review_show_as_they_happen() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    child = ChildRun(run_id="r--1-0-b", agent="b", tool="ask_b", state=RunState.EXECUTING)
    before = RunStatus(
        run_id="r", agent="a", tenant_id="t", user_id="u", request_id="r", trace_id="x",
        state=RunState.EXECUTING,
        transitions=[Transition(source=None, target=RunState.EXECUTING, at=start)],
        step=1, children=[child],
    )  # fmt: skip
    pending = PendingReview(
        review_id="final-1", kind="final", reviewers=("alice",),
        deadline=start + timedelta(minutes=5), reason="every run is reviewed",
    )  # fmt: skip
    waiting = child.model_copy(
        update={"state": RunState.REVIEWING, "pending_review": pending, "waiting_on": None}
    )
    after = before.model_copy(update={"running": "tool lookup", "children": [waiting]})

    assert changes(before, after) == [
        (RunState.EXECUTING, "step 1  calling tool lookup"),
        (RunState.EXECUTING, "child r--1-0-b (b): REVIEWING"),
        (
            RunState.EXECUTING,
            "child r--1-0-b waits for review final-1 in r--1-0-b by alice until 00:05:00 UTC",
        ),
    ]
    assert changes(after, after) == []  # nothing new, nothing said

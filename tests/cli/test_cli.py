"""The ``agentrun`` CLI end to end: real console-script processes against a real dev server.

What is checked is what a person at a terminal (or a script) sees: exit codes, one-line errors
without tracebacks, JSON that parses, and runs that really move, including through the plain
``temporal`` CLI and across a restart of a persistent dev server.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from agentrun.cli.devserver import DevServer, DevServerError, free_port, port_in_use
from tests.support.store import migrate_data_dir

T = TypeVar("T")

_SCRIPT = Path(sys.executable).parent / "agentrun"
AGENTRUN = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "agentrun.cli"]
TEMPORAL = str(Path(sys.executable).parent / "temporal")
SMALL_REFUND = {"order_id": "1001", "reason": "arrived broken", "amount": 60}
GATED_REFUND = {"order_id": "1001", "reason": "arrived broken", "amount": 250}
STARTUP_TIMEOUT_S = 45.0


def wait_until(probe: Callable[[], T | None], what: str, timeout_s: float = 30.0) -> T:
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if value is not None and value is not False:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(0.2)


@dataclass
class Stack:
    address: str
    env: dict[str, str]

    def cli(self, *args: str, timeout_s: float = 60.0) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [*AGENTRUN, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
        assert "Traceback" not in result.stderr, result.stderr
        return result

    def ok_json(self, *args: str) -> Any:
        result = self.cli(*args, "--json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def status(self, run_id: str) -> dict[str, Any]:
        body: dict[str, Any] = self.ok_json("status", run_id)
        return body

    def start(self, payload: dict[str, Any]) -> str:
        body = self.ok_json("run", "refund", "--input", json.dumps(payload))
        run_id: str = body["run_id"]
        return run_id

    def wait_state(
        self, run_id: str, state: str, kind: str | None = None, tool: str | None = None
    ) -> dict[str, Any]:
        def probe() -> dict[str, Any] | None:
            status = self.status(run_id)
            pending = status.get("pending_review") or {}
            if (
                status["state"] == state
                and (kind is None or pending.get("kind") == kind)
                and (tool is None or pending.get("tool") == tool)
            ):
                return status
            return None

        return wait_until(probe, f"{run_id} in {state} {kind or ''}".strip())


def cli_env(address: str, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "AGENTRUN_"))}
    env.update(
        TEMPORAL_ADDRESS=address,
        AGENTRUN_DATA_DIR=str(data_dir),
        AGENTRUN_LOG_LEVEL="WARNING",
        COLUMNS="200",
    )
    return env


@dataclass
class WorkerProcess:
    process: subprocess.Popen[bytes]
    stderr: Path

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise


def start_worker(env: dict[str, str], log_dir: Path) -> WorkerProcess:
    """An ``agentrun worker`` subprocess, returned once it says it is polling."""
    log_dir.mkdir(parents=True, exist_ok=True)
    migrate_data_dir(Path(env["AGENTRUN_DATA_DIR"]))
    stderr = log_dir / f"worker-{uuid.uuid4().hex[:6]}.err"
    with stderr.open("wb") as err:
        process = subprocess.Popen(
            [*AGENTRUN, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=err
        )
    worker = WorkerProcess(process, stderr)

    def ready() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"worker exited {process.returncode}: {stderr.read_text()}")
        return "worker polling" in stderr.read_text(errors="replace")

    wait_until(ready, "the worker to start", STARTUP_TIMEOUT_S)
    return worker


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("cli")
    with DevServer(port=free_port(), headless=True, log_file=root / "server.log") as server:
        env = cli_env(server.address, root / "data")
        worker = start_worker(env, root)
        try:
            yield Stack(address=server.address, env=env)
        finally:
            worker.stop()


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), result.stderr
    return lines[0]


# ----------------------------------------------------------------- run, status, review


def test_run_json_reports_run_id_and_state(stack: Stack) -> None:
    body = stack.ok_json("run", "refund", "--input", json.dumps(SMALL_REFUND))

    assert body["run_id"]
    assert body["state"] in {"EXECUTING", "REVIEWING"}
    assert body["failure"] is None


def test_status_json_shows_state_and_transitions(stack: Stack) -> None:
    run_id = stack.start(SMALL_REFUND)

    status = stack.wait_state(run_id, "REVIEWING", "tool_approval", "send_email")

    assert [t["target"] for t in status["transitions"]][:3] == ["INIT", "PREPARING", "EXECUTING"]
    assert status["transitions"][-1]["target"] == "REVIEWING"


def test_human_status_shows_transitions_tools_and_pending_review(stack: Stack) -> None:
    run_id = stack.start(SMALL_REFUND)
    stack.wait_state(run_id, "REVIEWING", "tool_approval", "send_email")

    result = stack.cli("status", run_id)

    assert result.returncode == 0, result.stderr
    for expected in ("REVIEWING", "transitions", "lookup_order", "pending review", "alice"):
        assert expected in result.stdout


def test_review_approve_completes_the_run(stack: Stack) -> None:
    run_id = stack.start(SMALL_REFUND)
    stack.wait_state(run_id, "REVIEWING", "tool_approval", "send_email")

    ack = stack.ok_json("review", run_id, "--decision", "approve", "--reviewer", "alice")

    assert ack["next_state"] == "EXECUTING"  # the email goes out, then the run completes
    stack.wait_state(run_id, "COMPLETED")


def test_unauthorised_reviewer_is_refused_and_the_run_keeps_waiting(stack: Stack) -> None:
    run_id = stack.start(SMALL_REFUND)
    stack.wait_state(run_id, "REVIEWING", "tool_approval", "send_email")

    line = one_error_line(
        stack.cli("review", run_id, "--decision", "approve", "--reviewer", "mallory")
    )

    assert "mallory" in line
    status = stack.status(run_id)
    assert status["state"] == "REVIEWING"
    assert status["pending_review"]["tool"] == "send_email"


def test_review_by_signal_reports_refusal_and_acceptance(stack: Stack) -> None:
    run_id = stack.start(SMALL_REFUND)
    stack.wait_state(run_id, "REVIEWING", "tool_approval", "send_email")

    refused = stack.cli(
        "review", run_id, "--decision", "approve", "--reviewer", "mallory", "--signal"
    )
    accepted = stack.cli("review", run_id, "--decision", "approve", "--reviewer", "bob", "--signal")

    assert "mallory" in one_error_line(refused)
    assert accepted.returncode == 0, accepted.stderr
    status = stack.wait_state(run_id, "COMPLETED")
    assert [r["reviewer"] for r in status["rejected_reviews"]] == ["mallory"]


def test_refund_gate_then_email_gate(stack: Stack) -> None:
    run_id = stack.start(GATED_REFUND)
    gate = stack.wait_state(run_id, "REVIEWING", "tool_approval")
    assert gate["pending_review"]["tool"] == "issue_refund"

    ack = stack.ok_json("review", run_id, "--decision", "approve", "--reviewer", "alice")

    assert ack["next_state"] == "EXECUTING"
    stack.wait_state(run_id, "REVIEWING", "tool_approval", "send_email")


def test_run_wait_returns_the_result_when_the_run_ends(stack: Stack) -> None:
    request_id = f"wait-{uuid.uuid4().hex}"
    waiting = subprocess.Popen(
        [
            *AGENTRUN,
            *("run", "refund", "--input", json.dumps(SMALL_REFUND)),
            *("--request-id", request_id, "--wait", "--json"),
        ],
        env=stack.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(lambda: _status_or_none(stack, request_id), "the run to exist")
        stack.wait_state(request_id, "REVIEWING", "tool_approval", "send_email")
        assert waiting.poll() is None  # --wait blocks while the run waits for a person
        stack.ok_json("review", request_id, "--decision", "approve", "--reviewer", "alice")
        stdout, stderr = waiting.communicate(timeout=60)
    finally:
        if waiting.poll() is None:
            waiting.kill()
            waiting.wait()

    assert waiting.returncode == 0, stderr
    result = json.loads(stdout)
    assert result["state"] == "COMPLETED"
    assert result["output"]["order_id"] == "1001"


def _status_or_none(stack: Stack, run_id: str) -> dict[str, Any] | None:
    result = stack.cli("status", run_id, "--json")
    return json.loads(result.stdout) if result.returncode == 0 else None


# ----------------------------------------------------------------- errors


def test_unknown_agent_is_an_error_line(stack: Stack) -> None:
    result = stack.cli("run", "nosuchagent", "--input", "{}")

    line = one_error_line(result)
    assert "unknown agent" in line
    assert "nosuchagent" in line


def test_unknown_agent_json_carries_the_failure(stack: Stack) -> None:
    result = stack.cli("run", "nosuchagent", "--input", "{}", "--json")

    assert "unknown agent" in one_error_line(result)
    body = json.loads(result.stdout)
    assert body["state"] == "FAILED"
    assert body["failure"]["category"] == "invalid_input"
    assert body["failure"]["field"] == "agent"


def test_invalid_agent_input_is_an_error_line(stack: Stack) -> None:
    result = stack.cli("run", "refund", "--input", '{"order_id": "1001"}')

    assert "input.reason" in one_error_line(result)


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["run", "refund", "--input", "not json"], "--input"),
        (["run", "refund", "--input", "[1, 2]"], "--input"),
        (["run", "Not An Agent", "--input", "{}"], "AGENT"),
        (["run", "refund", "--tenant", ""], "--tenant"),
        (["review", "x", "--decision", "edit", "--reviewer", "alice"], "--output"),
        (["review", "x", "--decision", "request_changes", "--reviewer", "alice"], "--comment"),
        (["review", "x", "--decision", "edit", "--reviewer", "a", "--output", "{"], "--output"),
    ],
)
def test_invalid_options_name_the_option(stack: Stack, args: list[str], named: str) -> None:
    assert named in one_error_line(stack.cli(*args))


def test_unknown_run_is_an_error_line(stack: Stack) -> None:
    for command in (["status"], ["cancel"], ["review", "--decision", "approve", "--reviewer", "a"]):
        args = [command[0], "no-such-run", *command[1:]]
        assert "no run with id 'no-such-run'" in one_error_line(stack.cli(*args))


def test_unreachable_server_is_an_error_line(stack: Stack, tmp_path: Path) -> None:
    address = f"127.0.0.1:{free_port()}"

    # `worker` waits for the server first: tests/cli/test_worker_waits.py
    for args in (["status", "x"], ["runs"], ["run", "refund"]):
        line = one_error_line(stack.cli(*args, "--address", address))
        assert f"cannot reach Temporal at {address}" in line


# ----------------------------------------------------------------- runs, cancel, temporal CLI


def test_runs_lists_waiting_runs_by_state(stack: Stack) -> None:
    run_id = stack.start(SMALL_REFUND)
    stack.wait_state(run_id, "REVIEWING", "tool_approval", "send_email")

    def listed() -> list[dict[str, Any]] | None:
        rows: list[dict[str, Any]] = stack.ok_json(
            "runs", "--state", "REVIEWING", "--agent", "refund", "--limit", "500"
        )
        return rows if any(row["run_id"] == run_id for row in rows) else None

    rows = wait_until(listed, "the run in the REVIEWING listing")
    assert {row["state"] for row in rows} == {"REVIEWING"}
    table = stack.cli("runs", "--state", "reviewing", "--limit", "500")
    assert table.returncode == 0, table.stderr
    assert run_id in table.stdout


def test_plain_temporal_cli_lists_by_agent_state_and_completes_a_review(stack: Stack) -> None:
    run_id = stack.start(SMALL_REFUND)
    stack.wait_state(run_id, "REVIEWING", "tool_approval", "send_email")

    def listed() -> bool:
        result = subprocess.run(
            [
                *(TEMPORAL, "workflow", "list", "--address", stack.address),
                *("--query", "AgentState='REVIEWING'", "--output", "json"),
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        return run_id in result.stdout

    wait_until(listed, "temporal workflow list to show the run")
    update = subprocess.run(
        [
            *(TEMPORAL, "workflow", "update", "execute", "--workflow-id", run_id),
            *("--name", "submit_review", "--input", '{"decision":"approve","reviewer":"alice"}'),
            *("--address", stack.address),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert update.returncode == 0, update.stderr
    assert "EXECUTING" in update.stdout  # the approved email goes out, then the run ends
    stack.wait_state(run_id, "COMPLETED")


def test_cancel_moves_the_run_to_cancelled(stack: Stack) -> None:
    run_id = stack.start(GATED_REFUND)
    stack.wait_state(run_id, "REVIEWING", "tool_approval")

    body = stack.ok_json("cancel", run_id)

    assert body["state"] == "CANCELLED"
    status = stack.status(run_id)
    assert status["state"] == "CANCELLED"
    assert status["failure"]["category"] == "cancelled"
    assert f"run {run_id} is CANCELLED at " in one_error_line(stack.cli("cancel", run_id))


# ----------------------------------------------------------------- the dev server


def test_devserver_refuses_a_port_in_use() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(DevServerError, match=f"port {port} .* already in use"):
            DevServer(port=port, headless=True).start()


def test_devserver_reports_an_early_exit_with_its_output() -> None:
    server = DevServer(port=free_port(), headless=True, extra_args=["--no-such-flag"])

    with pytest.raises(DevServerError, match=r"exited with code 1.*unknown flag"):
        server.start()
    assert not server.running


def test_devserver_restart_on_the_same_db_keeps_runs(tmp_path: Path) -> None:
    db = tmp_path / "temporal.db"
    port = free_port()
    env = cli_env(f"127.0.0.1:{port}", tmp_path / "data")
    stack = Stack(address=f"127.0.0.1:{port}", env=env)

    with DevServer(port=port, headless=True, db_file=db, log_file=tmp_path / "s1.log"):
        worker = start_worker(env, tmp_path)
        run_id = stack.start(SMALL_REFUND)
        before = stack.wait_state(run_id, "REVIEWING", "tool_approval", "send_email")
        assert worker.stop() == 0

    # Restarting registers the same search attributes again; that must not break startup.
    with DevServer(port=port, headless=True, db_file=db, log_file=tmp_path / "s2.log"):
        worker = start_worker(env, tmp_path)
        try:
            after = stack.status(run_id)
            assert after["state"] == "REVIEWING"
            # Same path; times may differ by milliseconds (see _same_path).
            assert _same_path(after["transitions"], before["transitions"])
            stack.ok_json("review", run_id, "--decision", "approve", "--reviewer", "alice")
            stack.wait_state(run_id, "COMPLETED")
            rows = wait_until(
                lambda: [
                    r
                    for r in stack.ok_json("runs", "--state", "COMPLETED")
                    if r["run_id"] == run_id
                ],
                "the completed run in the listing",
            )
            assert rows[0]["agent"] == "refund"
        finally:
            assert worker.stop() == 0


def _same_path(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> bool:
    """Transitions equal up to their times.

    The PREPARING -> EXECUTING time is taken right after a local activity, and a replay on a new
    worker sometimes resolves that activity one workflow task earlier than the original run did,
    so that one timestamp can move by a few milliseconds.
    """

    def path(ts: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return [(t["source"], t["target"], t["reason"]) for t in ts]

    return path(a) == path(b)


def test_server_command_runs_in_the_foreground_and_stops_on_sigterm(tmp_path: Path) -> None:
    port, ui_port = free_port(), free_port()
    out = tmp_path / "server.out"
    env = cli_env(f"127.0.0.1:{port}", tmp_path / "data")
    with out.open("wb") as stdout:
        process = subprocess.Popen(
            [*AGENTRUN, "server", "--port", str(port), "--ui-port", str(ui_port), "--json"],
            env=env,
            stdout=stdout,
            stderr=subprocess.PIPE,
        )
    try:
        line = wait_until(lambda: out.read_text().strip() or None, "the server's ready line")
        ready = json.loads(line)
        assert ready["ui_url"] == f"http://localhost:{ui_port}/namespaces/default/workflows"
        assert ready["store"] == str(tmp_path / "data" / "temporal.db")
        assert port_in_use(port)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert process.returncode == 0, stderr
    assert not port_in_use(port)

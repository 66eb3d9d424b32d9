"""The first hour with the CLI: what a newcomer gets wrong, and what ``run --wait`` shows.

Real ``agentrun`` processes against a real dev server and worker; the worker also runs the test
agents (``reviewed`` always asks alice or bob for a final review, ``echo`` completes).
"""

import http.server
import json
import os
import re
import shlex
import subprocess
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentrun.cli.devserver import DevServer, free_port
from tests.cli.test_cli import (
    AGENTRUN,
    SMALL_REFUND,
    TEMPORAL,
    Stack,
    cli_env,
    one_error_line,
    start_worker,
    wait_until,
)

REPO = Path(__file__).resolve().parents[2]
# The time of day; with the date when it is not today (a deadline past midnight UTC).
CLOCK = r"(\d{4}-\d\d-\d\d )?\d\d:\d\d:\d\d UTC"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("first-hour")
    with DevServer(port=free_port(), headless=True, log_file=root / "server.log") as server:
        env = cli_env(server.address, root / "data")
        env["AGENTRUN_AGENT_MODULES"] = "agentrun.agents.refund,tests.support.agents"
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
        worker = start_worker(env, root)
        try:
            yield Stack(address=server.address, env=env)
        finally:
            worker.stop()


def start(stack: Stack, key: str, *args: str) -> str:
    request_id = f"fh-{uuid.uuid4().hex}"
    body = stack.ok_json(
        "run", "reviewed", "--input", json.dumps({"key": key}), "--request-id", request_id, *args
    )
    run_id: str = body["run_id"]
    return run_id


def run_with_stdin(stack: Stack, stdin: str, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [*AGENTRUN, *args],
        env=stack.env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


# ----------------------------------------------------------------- an ended run


def test_review_and_cancel_of_an_ended_run_say_how_it_ended(stack: Stack) -> None:
    run_id = start(stack, "ended")
    stack.wait_state(run_id, "REVIEWING", "final")
    stack.ok_json("review", run_id, "--decision", "reject", "--reviewer", "alice")
    stack.wait_state(run_id, "FAILED")

    update = one_error_line(stack.cli("review", run_id, "--decision", "approve", "--reviewer", "a"))
    signal = one_error_line(
        stack.cli("review", run_id, "--decision", "approve", "--reviewer", "a", "--signal")
    )
    cancel = one_error_line(stack.cli("cancel", run_id))

    ended = rf"^error: run {run_id} is FAILED \(review_rejected at {CLOCK}\): nothing to "
    assert re.match(ended + "review$", update), update
    assert re.match(ended + "review$", signal), signal
    assert re.match(ended + "cancel$", cancel), cancel


def test_review_without_a_worker_gives_up_with_one_line(stack: Stack) -> None:
    run_id = f"fh-no-worker-{uuid.uuid4().hex}"
    started = subprocess.run(
        [
            *(TEMPORAL, "workflow", "start", "--type", "AgentRun", "--workflow-id", run_id),
            *("--task-queue", "nobody-polls-this", "--address", stack.address),
            *("--input", '{"agent": "reviewed", "input": {"key": "k"}}'),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert started.returncode == 0, started.stderr

    line = one_error_line(
        stack.cli("review", run_id, "--decision", "approve", "--reviewer", "a", timeout_s=40)
    )

    assert line.startswith(f"error: run {run_id} did not answer the review"), line
    assert "is a worker running on task queue" in line


# ----------------------------------------------------------------- request ids


def test_a_request_id_reused_for_another_request_is_refused(stack: Stack) -> None:
    request_id = f"fh-idem-{uuid.uuid4().hex}"
    first = ["run", "reviewed", "--input", '{"key": "one"}', "--request-id", request_id]
    run_id = stack.ok_json(*first)["run_id"]
    stack.wait_state(run_id, "REVIEWING", "final")
    conflict = (
        f"error: request_id {request_id!r} was already used for a different request "
        "(input differs); use a new request_id"
    )

    # Still running: the same request is the same run; another input is refused.
    assert stack.ok_json(*first)["run_id"] == run_id
    other = ["run", "reviewed", "--input", '{"key": "two"}', "--request-id", request_id]
    assert one_error_line(stack.cli(*other)) == conflict
    refused_json = stack.cli(*other, "--json")
    assert one_error_line(refused_json) == conflict
    assert refused_json.stdout == ""

    # Ended: the same.
    stack.ok_json("review", run_id, "--decision", "approve", "--reviewer", "alice")
    stack.wait_state(run_id, "COMPLETED")
    again = stack.cli(*first)
    assert again.returncode == 0, again.stderr
    assert f"run {run_id}: COMPLETED" in again.stdout
    assert one_error_line(stack.cli(*other)) == conflict
    as_bob = one_error_line(stack.cli(*first, "--user", "bob", "--version", "1"))
    assert "(version/user differ)" in as_bob


# ----------------------------------------------------------------- run --wait


def _wait_process(stack: Stack, request_id: str, err: Path, *args: str) -> "subprocess.Popen[str]":
    with err.open("w") as stderr:
        return subprocess.Popen(
            [
                *AGENTRUN,
                *("run", "reviewed", "--input", '{"key": "wait"}', "--request-id", request_id),
                "--wait",
                *args,
            ],
            env=stack.env,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )


def test_run_wait_shows_the_pending_review_and_how_to_approve_it(
    stack: Stack, tmp_path: Path
) -> None:
    request_id = f"fh-wait-{uuid.uuid4().hex}"
    err = tmp_path / "wait.err"
    waiting = _wait_process(stack, request_id, err)
    try:
        line = wait_until(
            lambda: next(
                (x for x in err.read_text().splitlines() if "waiting for review" in x), None
            ),
            "the pending review on stderr",
        )
        assert waiting.poll() is None
        assert re.fullmatch(
            rf"run {request_id}: waiting for review final-1-[0-9a-f]{{16}} \(final\) by alice, bob "
            rf"until "
            rf"{CLOCK}; approve with: agentrun review {request_id} --decision approve "
            rf"--reviewer alice --address {re.escape(stack.address)}",
            line,
        ), line

        # The printed command is the one that works.
        command = shlex.split(line.split("approve with: ", 1)[1])
        approved = stack.cli(*command[1:])
        assert approved.returncode == 0, approved.stderr
        stdout, _ = waiting.communicate(timeout=60)
    finally:
        if waiting.poll() is None:
            waiting.kill()
            waiting.wait()

    assert waiting.returncode == 0, err.read_text()
    assert stdout.startswith(f"run {request_id}: COMPLETED")  # stdout: the result only
    progress = err.read_text().splitlines()
    assert progress[-1] == line  # one line per change, not one per poll
    assert all(p.startswith(f"run {request_id}: ") for p in progress), progress


def test_run_wait_json_keeps_stdout_one_document_and_progress_json_lines(
    stack: Stack, tmp_path: Path
) -> None:
    request_id = f"fh-wait-json-{uuid.uuid4().hex}"
    err = tmp_path / "wait-json.err"
    waiting = _wait_process(stack, request_id, err, "--json")
    try:
        wait_until(lambda: '"state": "REVIEWING"' in err.read_text(), "the REVIEWING event")
        stack.ok_json("review", request_id, "--decision", "approve", "--reviewer", "bob")
        stdout, _ = waiting.communicate(timeout=60)
    finally:
        if waiting.poll() is None:
            waiting.kill()
            waiting.wait()

    assert waiting.returncode == 0, err.read_text()
    assert json.loads(stdout)["state"] == "COMPLETED"
    events: list[dict[str, Any]] = [json.loads(x) for x in err.read_text().splitlines()]
    reviewing = events[-1]
    assert reviewing["event"] == "progress"
    assert reviewing["state"] == "REVIEWING"
    assert re.fullmatch(r"final-1-[0-9a-f]{16}", reviewing["pending_review"]["review_id"])
    assert reviewing["approve_command"].startswith(f"agentrun review {request_id} --decision")


# ----------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "command",
    [
        ["status"],
        ["cancel"],
        ["review", "--decision", "approve", "--reviewer", "alice"],
    ],
)
@pytest.mark.parametrize("run_id", ["", " "])
def test_an_empty_run_id_is_one_line(stack: Stack, command: list[str], run_id: str) -> None:
    line = one_error_line(stack.cli(command[0], run_id, *command[1:]))

    assert line == "error: RUN_ID: must not be empty"


def test_a_wrong_address_reads_as_one_reason(stack: Stack) -> None:
    closed = f"127.0.0.1:{free_port()}"

    assert one_error_line(stack.cli("status", "x", "--address", closed)) == (
        f"error: cannot reach Temporal at {closed}: connection refused "
        "(is `agentrun server` running?)"
    )
    assert one_error_line(stack.cli("runs", "--address", "nosuchhost.invalid:7233")) == (
        "error: cannot reach Temporal at nosuchhost.invalid:7233: unknown host 'nosuchhost.invalid'"
    )
    assert "invalid address" in one_error_line(stack.cli("status", "x", "--address", "h:99999"))


@pytest.fixture
def web_server() -> Iterator[str]:
    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def test_an_address_that_is_not_temporal_says_so(stack: Stack, web_server: str) -> None:
    line = one_error_line(stack.cli("cancel", "x", "--address", web_server))

    assert line.startswith(f"error: cannot reach Temporal at {web_server}: "), line
    assert "not a Temporal frontend" in line


def test_an_unknown_namespace_is_not_an_unknown_run(stack: Stack) -> None:
    for args in (["status", "x"], ["cancel", "x"], ["runs"]):
        line = one_error_line(stack.cli(*args, "--namespace", "no-such-namespace"))
        assert line.endswith("namespace 'no-such-namespace' not found"), line


# ----------------------------------------------------------------- --input @file and -


def test_input_from_a_file_and_from_stdin(stack: Stack, tmp_path: Path) -> None:
    payload = tmp_path / "input.json"
    payload.write_text(json.dumps(SMALL_REFUND, indent=2))

    from_file = stack.ok_json("run", "refund", "--input", f"@{payload}")
    from_stdin = run_with_stdin(stack, json.dumps(SMALL_REFUND), "run", "refund", "--input", "-")

    assert from_file["failure"] is None
    assert from_stdin.returncode == 0, from_stdin.stderr
    assert from_stdin.stdout.startswith("run ")
    # The input arrived: a wrong one fails the run in PREPARING, naming the field.
    partial = tmp_path / "partial.json"
    partial.write_text('{"order_id": "1001"}')
    assert "input.reason" in one_error_line(stack.cli("run", "refund", "--input", f"@{partial}"))


def test_bad_input_files_are_one_line_each(stack: Stack, tmp_path: Path) -> None:
    invalid = tmp_path / "invalid.json"
    invalid.write_text('{\n  "order_id": "1001",\n  "amount": ,\n}')
    array = tmp_path / "array.json"
    array.write_text("[1, 2]")
    binary = tmp_path / "binary.json"
    binary.write_bytes(b'{"a": "\xff"}')
    cases = {
        f"@{tmp_path / 'missing.json'}": "no such file",
        f"@{tmp_path}": "is a directory, not a file",
        "@": "name a file after @",
        f"@{invalid}": "is not valid JSON: Expecting value at line 3, column 13",
        f"@{array}": "must be a JSON object, got an array",
        f"@{binary}": "not UTF-8 text",
        "@/dev/zero": "more than 2097152 bytes",
    }
    if Path("/proc/self/mem").exists():  # opens, then fails to read, even for root
        cases["@/proc/self/mem"] = "cannot read it (Input/output error)"
    for value, reason in cases.items():
        line = one_error_line(stack.cli("run", "refund", "--input", value))
        assert line.startswith(f"error: --input {value}"), line
        assert reason in line, line

    empty = one_error_line(run_with_stdin(stack, "", "run", "refund", "--input", "-"))
    assert empty == "error: --input - (stdin): stdin is empty"
    not_object = one_error_line(run_with_stdin(stack, '"text"', "run", "refund", "--input", "-"))
    assert not_object == "error: --input - (stdin) must be a JSON object, got a string"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_input_file_is_one_line(stack: Stack, tmp_path: Path) -> None:
    secret = tmp_path / "secret.json"
    secret.write_text("{}")
    secret.chmod(0)

    line = one_error_line(stack.cli("run", "refund", "--input", f"@{secret}"))

    assert line == f"error: --input @{secret}: permission denied"


# ----------------------------------------------------------------- --version


def test_version_flag_prints_the_version_and_run_version_stays_the_agents(stack: Stack) -> None:
    shown = stack.cli("--version")
    agent_version = stack.ok_json("run", "echo", "--input", '{"key": "v"}', "--version", "1")
    unknown_version = stack.cli("run", "echo", "--input", '{"key": "v"}', "--version", "9")

    assert shown.returncode == 0, shown.stderr
    assert re.fullmatch(r"agentrun \d+\.\d+\.\d+\S*\n", shown.stdout), shown.stdout
    assert agent_version["failure"] is None
    assert "9" in one_error_line(unknown_version)

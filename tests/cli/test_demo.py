"""``agentrun demo`` as a newcomer runs it: what it shows, what it logs, and its printed commands.

The demo logs exactly as ``agentrun worker`` does (JSON, redacted) to its own file; its flaky
carrier shows ``http_503`` then success; its refunds wait for a person before the customer is
emailed; and the commands it prints run as printed.
"""

import io
import json
import logging
import shlex
import signal
import subprocess
from pathlib import Path

import structlog

from agentrun.cli.demo import log_to
from agentrun.cli.devserver import free_port, port_in_use
from agentrun.settings import Settings
from tests.cli.test_cli import AGENTRUN, Stack, cli_env, wait_until
from tests.conftest import TEST_AGENT_MODULES

CARD = "4111 1111 1111 1111"
EMAIL = "jane.doe@example.com"


def test_the_demos_log_is_the_workers_json_redacted(tmp_path: Path) -> None:
    """The demo's own logging path: structlog and stdlib lines alike, one JSON object each,
    PII redacted, and a failed tool call logged without raising (it once raised AttributeError
    from inside the tool wrapper, which replaced the tool's real error)."""
    stream = io.StringIO()
    try:
        log_to(stream, Settings(data_dir=tmp_path, agent_modules=TEST_AGENT_MODULES))
        structlog.get_logger("agentrun.activities.tools").warning(
            "tool call failed", error_class="http_503", retryable=True, note=f"card {CARD}"
        )
        logging.getLogger("temporalio.activity").warning("attempt failed for %s", EMAIL)
    finally:
        from agentrun.observability.logging import configure_logging

        configure_logging("WARNING", "console")  # what tests/conftest.py set up
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["event"] for line in lines] == [
        "tool call failed",
        "attempt failed for [REDACTED:email]",
    ]
    assert lines[0]["error_class"] == "http_503"
    assert lines[0]["logger"] == "agentrun.activities.tools"
    assert CARD not in stream.getvalue()
    assert EMAIL not in stream.getvalue()


def test_demo_shows_retries_gates_and_commands_that_run_as_printed(tmp_path: Path) -> None:
    port, ui_port = free_port(), free_port()
    out = tmp_path / "demo.out"
    data = tmp_path / "data"
    env = cli_env(f"127.0.0.1:{port}", data)
    env["AGENTRUN_LOG_LEVEL"] = "INFO"
    env["PATH"] = "/usr/bin:/bin"  # as after `pip install` into a venv that is not activated
    with out.open("wb") as stdout:
        process = subprocess.Popen(
            [*AGENTRUN, "demo", "--port", str(port), "--ui-port", str(ui_port), "--json"],
            env=env,
            stdout=stdout,
            stderr=subprocess.PIPE,
        )
    stack = Stack(address=f"127.0.0.1:{port}", env=env)
    try:
        line = wait_until(lambda: out.read_text().strip() or None, "the demo summary", 120)
        summary = json.loads(line)
        runs = {run["run_id"].rsplit("-", 1)[-1]: run for run in summary["runs"]}
        assert all(run["error"] is None for run in runs.values()), runs

        # Review gates side effects: the refund over 100 was approved at its gate, and the
        # customer email waits for a person before it goes out.
        gate = runs["gate"]
        assert (gate["state"], gate["pending_review"], gate["pending_tool"]) == (
            "REVIEWING",
            "tool_approval",
            "send_email",
        )
        assert any(note.startswith("issue_refund approved by alice") for note in gate["notes"])

        # The flaky carrier: an http_503, retried, then success (the record keeps each attempt).
        done = runs["done"]
        assert done["state"] == "COMPLETED"
        assert "get_shipping_status: attempt 1 http_503, attempt 2 success" in done["notes"]

        fallback = runs["fallback"]
        assert fallback["pending_tool"] == "send_email"
        assert any("fallback get_shipping_status_cached used" in n for n in fallback["notes"])
        assert runs["policy"]["state"] == "FAILED"
        assert any("refund-cap (refund-agent@1)" in note for note in runs["policy"]["notes"])
        assert summary["ui_url"] == f"http://localhost:{ui_port}/namespaces/default/workflows"

        # The printed command is the one that works, from a shell without the venv on PATH.
        command = next(c for c in summary["approve_commands"] if gate["run_id"] in c)
        words = shlex.split(command)
        assert Path(words[0]).is_absolute()
        assert words[1:4] == ["review", gate["run_id"], "--decision"]
        approved = subprocess.run(
            words, env=env, capture_output=True, text=True, timeout=60, check=False
        )
        assert approved.returncode == 0, approved.stderr
        stack.wait_state(gate["run_id"], "COMPLETED")

        # The demo scheduled the retention purge and the reconcile sweep: ensuring them again
        # only updates them.
        for command in ("retention", "reconcile"):
            scheduled = stack.cli(command, "schedule", "--json")
            assert scheduled.returncode == 0, scheduled.stderr
            assert json.loads(scheduled.stdout)["action"] == "updated"

        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert process.returncode == 0, stderr
    assert b"Traceback" not in stderr
    assert not port_in_use(port)
    check_worker_log(data / "demo-worker.log")


def check_worker_log(path: Path) -> None:
    """JSON lines only, the carrier's 503 classified as such, no customer's address."""
    log_text = path.read_text()
    entries = [json.loads(line) for line in log_text.splitlines() if line.strip()]
    failed = [e for e in entries if e["event"] == "tool call failed"]
    assert {(e["error_class"], e["retryable"]) for e in failed} >= {("http_503", True)}
    assert "AttributeError" not in log_text
    assert "@example.com" not in log_text  # the orders' customer emails

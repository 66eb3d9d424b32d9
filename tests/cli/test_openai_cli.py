"""``agentrun run --model openai:...`` from a terminal: a dev server, an ``agentrun worker``
process configured only by OPENAI_BASE_URL and OPENAI_API_KEY in its environment, and a local
server speaking OpenAI's wire protocol in place of OpenAI."""

import json
import signal
import subprocess
from pathlib import Path

from agentrun.cli.devserver import DevServer, free_port
from tests.cli.test_cli import AGENTRUN, GATED_REFUND, Stack, cli_env, start_worker, wait_until
from tests.support.fake_openai import FakeOpenAI

MODEL = "gpt-4o-mini"
KEY = "sk-test-cli"


def test_a_refund_on_openai_through_both_gates(tmp_path: Path) -> None:
    with (
        FakeOpenAI() as fake,
        DevServer(port=free_port(), headless=True, log_file=tmp_path / "server.log") as server,
    ):
        env = {
            k: v for k, v in cli_env(server.address, tmp_path / "data").items()
            if not k.startswith("OPENAI_")
        }  # fmt: skip
        env.update(OPENAI_BASE_URL=fake.url, OPENAI_API_KEY=KEY)
        worker = start_worker(env, tmp_path)
        try:
            stack = Stack(address=server.address, env=env)
            started = stack.ok_json(
                "run", "refund", "--model", f"openai:{MODEL}", "--input", json.dumps(GATED_REFUND)
            )
            run_id = started["run_id"]

            gate = stack.wait_state(run_id, "REVIEWING", "tool_approval", "issue_refund")
            assert gate["model"] == f"openai:{MODEL}"
            assert gate["pending_review"]["tool_args"]["amount"] == 250
            stack.ok_json("review", run_id, "--decision", "approve", "--reviewer", "alice")
            email = stack.wait_state(run_id, "REVIEWING", "tool_approval", "send_email")
            assert email["pending_review"]["tool_args"]["to"] == "alice.buyer@example.com"
            stack.ok_json("review", run_id, "--decision", "approve", "--reviewer", "bob")
            done = stack.wait_state(run_id, "COMPLETED")
        finally:
            assert worker.stop() == 0

    assert [c["tool"] for c in done["tool_calls"]] == [
        "lookup_order",
        "get_shipping_status",
        "issue_refund",
        "send_email",
        "add_order_note",
    ]
    assert done["usage"]["model_calls"] == 6
    assert done["output"]["order_id"] == "1001"
    assert done["output"]["refund_id"].startswith("rf_")
    assert done["usage"]["tokens"]["input_tokens"] > 0
    # Every model call went to the fake, as the worker's environment said, with its key.
    assert len(fake.received) == 6
    assert {r.body["model"] for r in fake.received} == {MODEL}
    assert {r.headers["Authorization"] for r in fake.received} == {f"Bearer {KEY}"}


def test_the_demo_runs_its_sample_agent_on_a_real_model(tmp_path: Path) -> None:
    """`agentrun demo --model openai:...`: the same four refunds, their tools chosen by the
    model behind OPENAI_BASE_URL instead of the offline script."""
    port = free_port()
    out = tmp_path / "demo.out"
    with FakeOpenAI() as fake:
        env = {
            k: v for k, v in cli_env(f"127.0.0.1:{port}", tmp_path / "data").items()
            if not k.startswith("OPENAI_")
        }  # fmt: skip
        env.update(OPENAI_BASE_URL=fake.url, OPENAI_API_KEY=KEY)
        with out.open("wb") as stdout:
            process = subprocess.Popen(
                [
                    *(*AGENTRUN, "demo", "--model", f"openai:{MODEL}", "--json"),
                    *("--port", str(port), "--ui-port", str(free_port())),
                ],
                env=env,
                stdout=stdout,
                stderr=subprocess.PIPE,
            )
        try:
            line = wait_until(lambda: out.read_text().strip() or None, "the demo summary", 120)
            summary = json.loads(line)
            process.send_signal(signal.SIGINT)
            _, stderr = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        requests = len(fake.received)
    assert process.returncode == 0, stderr
    runs = {run["run_id"].rsplit("-", 1)[-1]: run for run in summary["runs"]}
    assert all(run["error"] is None for run in runs.values()), runs
    assert runs["done"]["state"] == "COMPLETED"
    assert (runs["gate"]["state"], runs["gate"]["pending_tool"]) == ("REVIEWING", "send_email")
    assert runs["policy"]["state"] == "FAILED"
    assert requests >= 12  # every model call of the four runs went to the model's server
    assert {r.body["model"] for r in fake.received} == {MODEL}

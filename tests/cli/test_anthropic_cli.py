"""``agentrun run --model anthropic:...`` from a terminal: a dev server, an ``agentrun worker``
process configured only by ANTHROPIC_BASE_URL and ANTHROPIC_API_KEY in its environment, and a
local server speaking Anthropic's Messages API in place of Anthropic."""

import json
from pathlib import Path

from agentrun.cli.devserver import DevServer, free_port
from tests.cli.test_cli import GATED_REFUND, Stack, cli_env, start_worker
from tests.support.fake_anthropic import API_KEY, serving_in_thread

MODEL = "claude-haiku-4-5"


def test_a_refund_on_claude_through_both_gates(tmp_path: Path) -> None:
    with (
        serving_in_thread() as fake,
        DevServer(port=free_port(), headless=True, log_file=tmp_path / "server.log") as server,
    ):
        env = {
            k: v for k, v in cli_env(server.address, tmp_path / "data").items()
            if not k.startswith("ANTHROPIC_")
        }  # fmt: skip
        env.update(fake.environ)
        worker = start_worker(env, tmp_path)
        try:
            stack = Stack(address=server.address, env=env)
            started = stack.ok_json(
                "run", "refund", "--model", f"anthropic:{MODEL}",
                "--input", json.dumps(GATED_REFUND),
            )  # fmt: skip
            run_id = started["run_id"]

            gate = stack.wait_state(run_id, "REVIEWING", "tool_approval", "issue_refund")
            assert gate["model"] == f"anthropic:{MODEL}"
            assert gate["pending_review"]["tool_args"] == {
                "order_id": "1001",
                "amount": 250,
                "reason": "arrived broken",
            }
            ack = stack.ok_json("review", run_id, "--decision", "approve", "--reviewer", "alice")
            assert ack["next_state"] == "EXECUTING"
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
    assert done["output"]["customer_notified"] is True
    assert done["usage"]["model_calls"] == 6
    assert done["usage"]["tokens"]["input_tokens"] > 0
    # Every model call went to the fake, as the worker's environment said, with its key.
    sent = fake.received()
    assert [r.status for r in sent] == [200] * 6
    assert {r.body["model"] for r in sent} == {MODEL}
    assert {r.headers["Authorization"] for r in sent} == {f"Bearer {API_KEY}"}

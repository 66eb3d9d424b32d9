"""Logs of a real worker: JSON lines with run/tenant/agent/trace ids, replay-safe, no secrets."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from agentrun.client import AgentRunClient
from agentrun.contracts import Decision, ReviewDecision, RunRequest, RunState
from agentrun.store.db import make_engine, session_factory
from tests.conftest import TEST_AGENT_MODULES
from tests.support.store import migrate_data_dir
from tests.support.waiting import wait_for_stored_state

REPO = Path(__file__).resolve().parents[2]
SECRETS = ("hunter2", "sk_live_FAKE0123456789", "4111111111111111")


async def test_worker_logs_are_json_with_ids_once_per_event_and_secret_free(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    address = temporal_env.client.service_client.config.target_host
    log_file = tmp_path / "worker.log"
    engine = make_engine(migrate_data_dir(tmp_path))
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": address,
        "AGENTRUN_TASK_QUEUE": "logs-tests",
        "AGENTRUN_DATA_DIR": str(tmp_path),
        "AGENTRUN_AGENT_MODULES": ",".join(TEST_AGENT_MODULES),
        "AGENTRUN_LOG_FORMAT": "json",
        "AGENTRUN_LOG_LEVEL": "DEBUG",
        # Every workflow task replays the run from its start: logs must still appear once.
        "AGENTRUN_MAX_CACHED_WORKFLOWS": "0",
        "PYTHONPATH": str(REPO),
    }
    runs = AgentRunClient(temporal_env.client, task_queue="logs-tests")
    reason = f"card {SECRETS[2]} password={SECRETS[0]} key {SECRETS[1]}"
    with log_file.open("wb") as sink:
        worker = subprocess.Popen(  # noqa: ASYNC220 -- returns at once; the test awaits the run
            [sys.executable, "-m", "agentrun.cli", "worker"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )
        try:
            run_id = await runs.start(
                RunRequest(
                    agent="refund",
                    tenant_id="acme",
                    input={"order_id": "1002", "reason": reason, "amount": 20},
                )
            )
            # Waited for in the store, not with status queries: without a workflow cache, a
            # query replays the run, and one that lands between an event and the workflow task
            # that handles it runs that step outside replay, logging its lines a second time
            # (the SDK's behaviour, cf. temporalio/sdk-java#2076), which this test would blame
            # on the worker's logging.
            await wait_for_stored_state(session_factory(engine), run_id, "REVIEWING", timeout=60)
            await runs.review(run_id, ReviewDecision(decision=Decision.APPROVE, reviewer="alice"))
            assert (await runs.result(run_id)).state is RunState.COMPLETED
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=30)
            engine.dispose()

    text = log_file.read_text()
    for secret in SECRETS:
        assert secret not in text
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    ours = [line for line in lines if line.get("run_id") == run_id]
    assert ours, text[-2000:]
    for line in ours:
        assert {"timestamp", "level", "event", "run_id"} <= line.keys()
        assert line["agent"] == "refund", line
        if "tool" in line or "state" in line:
            assert line["tenant_id"] == "acme", line
            assert len(line["trace_id"]) == 32, line
    transitions = [line["event"] for line in ours if line["event"].startswith("run ")]
    assert transitions == [
        "run INIT -> PREPARING: run record initialised",
        "run PREPARING -> EXECUTING: agent refund@2 ready",
        # The ticket's reason is the customer's text (private, untrusted): the trifecta rule
        # holds the email too, in the same gate as its own approval.
        (
            "run EXECUTING -> REVIEWING: approval needed: policy lethal-trifecta (refund-agent@1): "
            "send_email can send data out and the run has read private data and seen untrusted "
            "content (lethal trifecta); send_email always requires approval"
        ),
        "run REVIEWING -> EXECUTING: approve by alice",
        "run EXECUTING -> COMPLETED: finished; review not required",
    ]
    retried = [line for line in ours if line["event"] == "tool call failed"]
    assert [(r["tool"], r["error_class"], r["attempt"]) for r in retried] == [
        ("get_shipping_status", "http_503", 1)
    ]

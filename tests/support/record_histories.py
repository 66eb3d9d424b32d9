"""Record workflow histories for the replay test: ``python -m tests.support.record_histories``.

Re-record only when a change is *meant* to alter histories, and only with a versioning plan for
runs already in flight (``workflow.patched``): the checked-in files stand for those runs.
"""

import asyncio
import sys
import tempfile
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from agentrun.client import AgentRunClient
from agentrun.contracts import Decision, ReviewDecision, RunRequest
from agentrun.contracts.names import SEARCH_ATTRIBUTES
from agentrun.converter import DATA_CONVERTER
from agentrun.workers.settings import Settings
from agentrun.workers.worker import build_worker
from tests.conftest import FAST_DEV_SERVER, TEMPORAL_BIN, TEST_AGENT_MODULES
from tests.support.store import migrate_data_dir
from tests.support.waiting import wait_for_review

OUT = Path(__file__).resolve().parents[1] / "histories"
REFUND = {"order_id": "1001", "reason": "arrived broken", "amount": 250}


async def _scenarios(runs: AgentRunClient) -> dict[str, str]:
    ids: dict[str, str] = {}

    ids["refund_gate_and_review"] = await runs.start(
        RunRequest(agent="refund", input=REFUND, request_id="hist-refund")
    )
    await wait_for_review(runs, ids["refund_gate_and_review"], kind="tool_approval")
    await runs.review(
        ids["refund_gate_and_review"], ReviewDecision(decision=Decision.APPROVE, reviewer="alice")
    )
    await wait_for_review(runs, ids["refund_gate_and_review"], kind="final")
    await runs.review(
        ids["refund_gate_and_review"], ReviewDecision(decision=Decision.APPROVE, reviewer="alice")
    )

    ids["request_changes_then_edit"] = await runs.start(
        RunRequest(agent="reviewed", input={"key": "h"}, request_id="hist-changes")
    )
    run_id = ids["request_changes_then_edit"]
    await wait_for_review(runs, run_id)
    await runs.review(
        run_id, ReviewDecision(decision=Decision.REQUEST_CHANGES, reviewer="bob", comment="more")
    )
    status = await runs.status(run_id)
    while status.pending_review is None or status.pending_review.review_id != "final-2":
        await asyncio.sleep(0.1)
        status = await runs.status(run_id)
    await runs.signal_review(run_id, ReviewDecision(decision=Decision.APPROVE, reviewer="mallory"))
    await runs.review(
        run_id, ReviewDecision(decision=Decision.EDIT, reviewer="alice", output={"answer": "x"})
    )

    for agent in ("slow", "flaky", "malformed", "looping"):
        ids[f"{agent}"] = await runs.start(
            RunRequest(agent=agent, input={"key": "h"}, request_id=f"hist-{agent}")
        )
    ids["invalid_input"] = await runs.start(
        RunRequest(agent="refund", input={"order_id": "x"}, request_id="hist-invalid")
    )
    ids["escalation_timeout"] = await runs.start(
        RunRequest(agent="timeout-escalate", input={"key": "h"}, request_id="hist-escalate")
    )
    for run_id in ids.values():
        await runs.result(run_id)
    return ids


async def main() -> None:
    env = await WorkflowEnvironment.start_local(
        data_converter=DATA_CONVERTER,
        search_attributes=SEARCH_ATTRIBUTES,
        dev_server_existing_path=str(TEMPORAL_BIN),
        dev_server_extra_args=FAST_DEV_SERVER,
    )
    data_dir = Path(tempfile.mkdtemp())
    migrate_data_dir(data_dir)
    settings = Settings(data_dir=data_dir, agent_modules=TEST_AGENT_MODULES, task_queue="record")
    async with env, build_worker(env.client, settings):
        runs = AgentRunClient(env.client, task_queue="record")
        ids = await _scenarios(runs)
        OUT.mkdir(exist_ok=True)
        for name, run_id in ids.items():
            history = await env.client.get_workflow_handle(run_id).fetch_history()
            (OUT / f"{name}.json").write_text(history.to_json())
            print(f"recorded {name}: {len(history.events)} events")


if __name__ == "__main__":
    asyncio.run(main())
    sys.stdout.flush()

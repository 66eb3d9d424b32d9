"""Input and output of the PREPARING step (agent resolution and input validation)."""

from typing import Any

from pydantic import BaseModel

from agentrun.contracts.agents import RunPlan
from agentrun.contracts.rollout import ShadowCopy
from agentrun.contracts.runs import ParentLink, RunStatus
from agentrun.contracts.states import FailureCategory
from agentrun.contracts.trust import InputTrust


class PrepareInput(BaseModel):
    agent: str
    version: str | None
    input: dict[str, Any]
    # The run as it starts: its record is created here, before any tool or model call writes
    # rows that refer to it (a local activity's input is not kept in history).
    status: RunStatus | None = None
    # The run's own model (provider:model) instead of the agent's, when the request asks.
    model: str | None = None
    # The execution asking (its first run id): a run id runs once, so another execution of a
    # run id the store already holds is refused before it writes anything.
    execution_id: str | None = None
    # The run that called this one as a tool (checked by the workflow): its policies bind this
    # run too.
    parent: ParentLink | None = None


class InputProblem(BaseModel):
    field: str
    message: str
    # Why the run cannot go on, when it is not its input (None: invalid_input).
    category: FailureCategory | None = None


GUARD_VERSION = 3


class PrepareResult(BaseModel):
    """Either the run plan with the normalised input, or the problem that stops the run."""

    plan: RunPlan | None = None
    input: dict[str, Any] | None = None
    # Which input fields are private or untrusted (None: runs that began before input labels).
    input_trust: InputTrust | None = None
    # How the run guards itself, recorded so a replay keeps what the run began with (data in the
    # marker rather than a patch marker next to it). 1: the first screen on escaped JSON, review
    # ids numbered only. 2: the screen on decoded text, review ids bound to the execution. 3: the
    # screen also reads Turkish, Polish, Indonesian, Vietnamese, Korean, Arabic and Ukrainian.
    guard_version: int = 1
    problem: InputProblem | None = None
    # Whether the worker keeps a run record, recorded in history with the rest: runs that began
    # before the store existed decode it as False and replay without flushing.
    record: bool = False
    # Whether the run hands its record to the worker directly (no local activity, no event):
    # recorded here so runs that began with the record activity replay with it.
    record_in_worker: bool = False
    # Runs the tenant started in the plan's rate-limit window (None: no rate limit in force).
    tenant_runs_in_window: int | None = None
    # With auth required: the public keys grants must be signed with (kid -> base64 key).
    # Public on purpose: history may hold them; the signing keys never leave the CLI side.
    grant_keys: dict[str, str] | None = None
    # Why the run got its version (None: runs that began before rollouts routed them).
    version_reason: str | None = None
    # A shadow rollout copies this run to its candidate (None: no copy).
    shadow: ShadowCopy | None = None
    # Whether the run may continue as new when its history grows long (docs/lifecycle.md):
    # recorded so runs that began before it replay without it. It does when Temporal suggests
    # it, and past ``continue_as_new_after_events`` events too (the worker's setting).
    continue_as_new: bool = False
    continue_as_new_after_events: int | None = None

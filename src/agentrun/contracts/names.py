"""Every name that crosses a process boundary, declared once.

Workers, clients, the CLI and the plain ``temporal`` CLI must agree on these strings; keeping them
here means a rename is one edit and a typo is an import error, not a silently unmatched task.
"""

from typing import Final

from temporalio.common import SearchAttributeKey

TASK_QUEUE: Final = "agentrun"

AGENT_RUN_WORKFLOW: Final = "AgentRun"
RETENTION_PURGE_WORKFLOW: Final = "RetentionPurge"
# The one schedule that runs the retention purge; its runs get ids "<this>-<time>".
RETENTION_SCHEDULE_ID: Final = "agentrun-retention"
# One sweep of the run record against Temporal (``agentrun reconcile`` on a worker).
RECONCILE_WORKFLOW: Final = "Reconcile"
# The schedule that runs it; its runs get ids "<this>-<time>".
RECONCILE_SCHEDULE_ID: Final = "agentrun-reconcile"
# The sweep a worker asks for when it starts, one per task queue: "<this>-<task queue>".
RECONCILE_STARTUP_ID: Final = "agentrun-reconcile-startup"
# Runs every case of a dataset against one agent version (``agentrun eval run``).
EVALUATION_WORKFLOW: Final = "Evaluation"
QUERY_EVAL_PROGRESS: Final = "progress"
# An agent's rollout of a candidate version: one at a time per agent, id "<this>-<agent>".
ROLLOUT_WORKFLOW: Final = "Rollout"
ROLLOUT_ID_PREFIX: Final = "rollout"
# A shadow rollout's copy of run R is the AgentRun R--shadow, a child of R.
SHADOW_RUN_SUFFIX: Final = "--shadow"
QUERY_ROLLOUT_STATUS: Final = "rollout_status"
UPDATE_ROLLOUT_COMMAND: Final = "rollout_command"

UPDATE_SUBMIT_REVIEW: Final = "submit_review"
SIGNAL_REVIEW: Final = "review"
# A child run (an agent called as a tool) tells its parent how it is doing: state, spend, review.
SIGNAL_CHILD_PROGRESS: Final = "child_progress"
# A child run's id: "<parent run id>--<step>-<call index>-<agent>".
CHILD_RUN_SEPARATOR: Final = "--"
QUERY_STATUS: Final = "status"

ACTIVITY_PREPARE_RUN: Final = "agentrun.prepare_run"
ACTIVITY_MODEL_CALL: Final = "agentrun.model_call"
ACTIVITY_RECORD_RUN: Final = "agentrun.record_run"
# The worker-side function a run hands its status to, instead of a record activity.
EXTERN_RECORD_RUN: Final = "agentrun.record_run"
# The worker-side function that audits a review decision an update validator refused.
EXTERN_AUDIT_REFUSAL: Final = "agentrun.audit_refusal"
# Checks a reviewer's edit against the schema of what it replaces (workers.catalog); validators
# call it, and validators never run on replay.
EXTERN_CHECK_EDIT: Final = "agentrun.check_edit"
# The ApplicationError type of a review decision the run refused.
REVIEW_REFUSED: Final = "ReviewRefused"
ACTIVITY_RETENTION_PURGE: Final = "retention.purge"
ACTIVITY_RECONCILE: Final = "reconcile.sweep"
ACTIVITY_EVAL_START: Final = "evaluation.start"
ACTIVITY_EVAL_SCORE: Final = "evaluation.score"
ACTIVITY_EVAL_FINISH: Final = "evaluation.finish"
ACTIVITY_ROLLOUT_SPLIT: Final = "rollout.split"
ACTIVITY_ROLLOUT_ANALYZE: Final = "rollout.analyze"
TOOL_ACTIVITY_PREFIX: Final = "tool."

SA_AGENT_STATE: Final = SearchAttributeKey.for_keyword("AgentState")
SA_AGENT_NAME: Final = SearchAttributeKey.for_keyword("AgentName")
SA_AGENT_VERSION: Final = SearchAttributeKey.for_keyword("AgentVersion")
SA_TENANT_ID: Final = SearchAttributeKey.for_keyword("TenantId")
SEARCH_ATTRIBUTES: Final = (SA_AGENT_STATE, SA_AGENT_NAME, SA_AGENT_VERSION, SA_TENANT_ID)


def tool_activity_name(tool: str) -> str:
    """Tool activities are named after the tool so the Temporal UI shows what ran."""
    return f"{TOOL_ACTIVITY_PREFIX}{tool}"


class ErrorType:
    """``ApplicationError.type`` values raised by our activities and workflow."""

    TOOL_UNAVAILABLE: Final = "ToolUnavailable"  # 429/502/503/504, connection refused
    TOOL_TIMEOUT: Final = "ToolTimeout"
    TOOL_REJECTED: Final = "ToolRejected"  # 4xx: the request itself is wrong
    TOOL_INTERNAL: Final = "ToolInternal"  # unexpected exception inside the tool
    INVALID_PARAMS: Final = "InvalidParams"
    CONTRACT_VIOLATION: Final = "ContractViolation"
    NOT_RETRIED: Final = "NonIdempotentNotRetried"
    UNKNOWN_AGENT: Final = "UnknownAgent"
    MODEL_ERROR: Final = "ModelError"
    CONTEXT_OVERFLOW: Final = "ContextOverflow"  # the prompt exceeds the model's context window
    CONVERSATION_MISSING: Final = "ConversationMissing"
    # The run store did not take a model call's conversation in time: retried, never final.
    STORE_UNAVAILABLE: Final = "StoreUnavailable"
    STORE_DISABLED: Final = "StoreDisabled"  # AGENTRUN_STORE_ENABLED=false
    PURGE_REFUSED: Final = "PurgeRefused"  # a retention purge as of a future time
    INVALID_PAYLOAD: Final = "InvalidPayload"  # a payload that does not decode to its type
    # An evaluation or shadow run reached a side-effecting tool that declares no dry run.
    NO_DRY_RUN: Final = "NoDryRun"
    # An evaluation replayed a failure the tool had in the production run it came from.
    RECORDED_FAILURE: Final = "RecordedFailure"


class Metric:
    """Metric names, emitted through Temporal's metric meter (replay-safe in workflows) and
    exported as-is by the worker's Prometheus endpoint: counters carry their ``_total`` here."""

    RUNS_STARTED: Final = "agentrun_runs_started_total"  # agent, version, tenant
    RUNS_FINISHED: Final = "agentrun_runs_finished_total"  # agent, version, state, category
    RUN_DURATION: Final = "agentrun_run_duration_seconds"  # agent, version, state
    STATE_DURATION: Final = "agentrun_state_duration_seconds"  # agent, state (the state left)
    # Entries into each state: minus STATE_DURATION's count (the exits), the runs in it now.
    STATE_ENTERED: Final = "agentrun_state_entered_total"  # agent, state (the state entered)
    REVIEWS: Final = "agentrun_reviews_total"  # agent, kind, decision, automatic
    REVIEW_LATENCY: Final = "agentrun_review_latency_seconds"  # agent, kind
    # Review deadlines that passed with no decision (an escalation, then perhaps its own).
    REVIEW_DEADLINES_MISSED: Final = "agentrun_review_deadlines_missed_total"  # agent, kind
    # A hold (deny, escalate) by an injection, lethal-trifecta or tool-allowlist rule, or a
    # refused review decision: agent, version, kind (the rule's kind, or review_refused).
    SECURITY_EVENTS: Final = "agentrun_security_events_total"
    HUMAN_OVERRIDES: Final = "agentrun_human_overrides_total"  # agent
    TOOL_CALLS: Final = "agentrun_tool_calls_total"  # tool, status, error_class, retryable
    TOOL_DURATION: Final = "agentrun_tool_duration_seconds"  # tool, status
    MODEL_TOKENS: Final = "agentrun_model_tokens_total"  # agent, model, direction=input|output
    # Temporal's counters take integers: cost is counted in millionths of a dollar.
    MODEL_COST: Final = "agentrun_model_cost_micro_usd_total"  # agent, model
    # The run store as the worker's writer sees it (store.health), from the runtime's meter.
    STORE_UP: Final = "agentrun_store_up"  # 1 while writes go through, 0 while they fail
    STORE_PENDING_ROWS: Final = "agentrun_store_pending_rows"  # rows queued, not yet written
    STORE_WRITE_FAILURES: Final = "agentrun_store_write_failures_total"  # error (its type)
    STORE_ROWS_DROPPED: Final = "agentrun_store_rows_dropped_total"  # rows given up

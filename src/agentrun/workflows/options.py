"""Every timeout and retry policy the workflows give their activities, in one place.

Tool calls are the exception by design: each tool's options are derived from its contract
(:func:`agentrun.logic.retry.activity_options`), capped by the run's EXECUTING deadline.
Changing a value here changes runs in flight from their next activity on (options are not part
of the replay check), so keep them backwards compatible.
"""

from datetime import timedelta

from temporalio.common import RetryPolicy

from agentrun.contracts.agents import StateDeadlines
from agentrun.contracts.names import ErrorType

# PREPARING (a local activity). Resolution is deterministic on the worker: an error that
# survives three tries is a bug in the agent's definition, reported at once with its message
# rather than retried to the deadline. The deadline is the default PREPARING deadline: the
# agent's own is only known once PREPARING has resolved it.
PREPARE_TIMEOUT = StateDeadlines().preparing
PREPARE_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_attempts=3)

# One model call. The model activity raises its permanent errors with non_retryable=True; the
# run's remaining EXECUTING time caps the whole call, retries included.
MODEL_TIMEOUT = timedelta(minutes=2)
# The model activity heartbeats through its whole attempt: a worker killed mid-call is noticed
# within this and the call retried (after MODEL_RETRY's first interval) on another, not at the end
# of MODEL_TIMEOUT. The same as tools' (logic.retry.HEARTBEAT_TIMEOUT), for the same reasons.
MODEL_HEARTBEAT_TIMEOUT = timedelta(seconds=2)
# No attempt limit: a run store outage (the model activity's StoreUnavailable, raised after it
# waited most of its attempt for the conversation) is waited out, bounded by the EXECUTING time
# left (the call's schedule-to-close). A provider's failures stay bounded by the activity: its
# permanent ones are non-retryable, its retryable ones final from attempt 5
# (activities.model.PROVIDER_ATTEMPTS).
# The first retry comes after half a second: a kill's cost includes it.
MODEL_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=500),
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=0,
)

# The legacy record local activity of runs started before the record hand-over.
RECORD_TIMEOUT = timedelta(minutes=10)
RECORD_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=30))

# One retention purge: a single transaction over a day's worth of expired records.
PURGE_TIMEOUT = timedelta(minutes=30)
PURGE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=10),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
    maximum_attempts=5,
    non_retryable_error_types=[ErrorType.STORE_DISABLED, ErrorType.PURGE_REFUSED],
)

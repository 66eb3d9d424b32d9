"""Run-level metrics, emitted from the workflow through Temporal's metric meter.

The meter drops emissions while a workflow replays, so a run is counted once however often a
worker rebuilds it; the worker's Prometheus endpoint exports the values.
"""

from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from agentrun.contracts.names import Metric
    from agentrun.contracts.review import ReviewRecord
    from agentrun.contracts.runs import Failure
    from agentrun.contracts.states import RunState, Transition


class RunMetrics:
    def __init__(self, agent: str) -> None:
        meter = workflow.metric_meter().with_additional_attributes({"agent": agent})
        self._started = meter.create_counter(Metric.RUNS_STARTED, "Runs past PREPARING")
        self._finished = meter.create_counter(Metric.RUNS_FINISHED, "Runs that ended")
        self._run_seconds = meter.create_histogram_float(
            Metric.RUN_DURATION, "Run duration from request to end", "s"
        )
        self._state_seconds = meter.create_histogram_float(
            Metric.STATE_DURATION, "Time spent in each state", "s"
        )
        self._reviews = meter.create_counter(Metric.REVIEWS, "Review decisions, human or automatic")
        self._review_seconds = meter.create_histogram_float(
            Metric.REVIEW_LATENCY, "Time from a review opening to its decision", "s"
        )
        self._overrides = meter.create_counter(Metric.HUMAN_OVERRIDES, "Outputs edited by people")
        self._reviews_seen = 0

    def transition(self, left: Transition, entered: Transition, version: str, tenant: str) -> None:
        seconds = (entered.at - left.at).total_seconds()
        self._state_seconds.record(seconds, {"state": left.target.value})
        if left.target is RunState.PREPARING:
            self._started.add(1, {"version": version, "tenant": tenant})

    def finished(
        self, started_at: datetime, ended: Transition, version: str, failure: Failure | None
    ) -> None:
        attrs = {
            "version": version,
            "state": ended.target.value,
            "category": failure.category.value if failure else "",
        }
        self._finished.add(1, attrs)
        self._run_seconds.record(
            (ended.at - started_at).total_seconds(),
            {"version": version, "state": ended.target.value},
        )

    def reviews(self, records: list[ReviewRecord]) -> None:
        """Count the records not yet counted (called on every transition)."""
        for record in records[self._reviews_seen :]:
            self._reviews.add(
                1,
                {
                    "kind": record.kind.value,
                    "decision": record.decision.value,
                    "automatic": str(record.automatic).lower(),
                },
            )
            if record.opened_at is not None:
                latency = (record.at - record.opened_at).total_seconds()
                self._review_seconds.record(latency, {"kind": record.kind.value})
            if record.human_override:
                self._overrides.add(1)
        self._reviews_seen = len(records)

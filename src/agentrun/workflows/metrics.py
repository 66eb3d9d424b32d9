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
    from agentrun.workflows.review import ESCALATION_REVIEWER


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
        self._entered = meter.create_counter(Metric.STATE_ENTERED, "Transitions into each state")
        self._reviews = meter.create_counter(Metric.REVIEWS, "Review decisions, human or automatic")
        self._review_seconds = meter.create_histogram_float(
            Metric.REVIEW_LATENCY, "Time from a review opening to its decision", "s"
        )
        self._overrides = meter.create_counter(Metric.HUMAN_OVERRIDES, "Outputs edited by people")
        self._missed = meter.create_counter(
            Metric.REVIEW_DEADLINES_MISSED, "Review deadlines that passed with no decision"
        )
        self._security = meter.create_counter(
            Metric.SECURITY_EVENTS, "Holds by security rules and refused review decisions"
        )
        self._reviews_seen = 0
        self._security_seen = 0

    def counted(self, reviews: int, security: int) -> None:
        """What an earlier execution of the run counted already (it continued as new)."""
        self._reviews_seen, self._security_seen = reviews, security

    def transition(self, left: Transition, entered: Transition, version: str, tenant: str) -> None:
        seconds = (entered.at - left.at).total_seconds()
        self._state_seconds.record(seconds, {"state": left.target.value})
        if left.target is RunState.INIT:  # a run's first transition: it was in INIT until now
            self._entered.add(1, {"state": left.target.value})
        self._entered.add(1, {"state": entered.target.value})
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

    def security(self, kinds: list[str], version: str) -> None:
        """Count the security events not yet counted (called on every transition): ``kinds``
        is the run's whole list so far, in order."""
        for kind in kinds[self._security_seen :]:
            self._security.add(1, {"version": version, "kind": kind})
        self._security_seen = len(kinds)

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
            # Counted when the review closes: a first deadline that escalated, and a last one
            # whose escalation policy decided (auto-approve, auto-reject).
            missed = int(record.escalated) + int(record.reviewer == ESCALATION_REVIEWER)
            if missed:
                self._missed.add(missed, {"kind": record.kind.value})
        self._reviews_seen = len(records)

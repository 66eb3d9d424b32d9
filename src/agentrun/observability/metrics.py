"""Activity-side metrics, recorded through ``activity.metric_meter()``.

They leave through the worker's Temporal runtime, so the worker's Prometheus endpoint shows them
next to the SDK's own metrics, labelled with namespace, task queue and activity type.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Generic, TypeVar

from temporalio import activity
from temporalio.client import Client
from temporalio.common import MetricCounter, MetricGauge, MetricHistogramFloat, MetricMeter
from temporalio.runtime import Runtime

from agentrun.contracts.model import TokenUsage
from agentrun.contracts.names import Metric
from agentrun.observability.tracing import ToolAttempt

# Temporal's counters take integers only, so cost is counted in millionths of a dollar.
MODEL_COST_MICRO_USD: Final = Metric.MODEL_COST

T = TypeVar("T")


class PerWorker(Generic[T]):
    """Instruments created on first use, then reused by every later call.

    The meter only exists inside an activity, so they cannot be made up front. The one we get
    carries the activity type as a label; that is safe to keep because each activity function
    (and each ModelActivities) is built for one activity type on one worker.
    """

    def __init__(self, factory: Callable[[MetricMeter], T]) -> None:
        self._factory = factory
        self._value: T | None = None

    def get(self) -> T:
        if self._value is None:
            self._value = self._factory(activity.metric_meter())
        return self._value


def _flag(value: bool | None) -> str:
    return "unknown" if value is None else str(value).lower()


@dataclass(frozen=True)
class ToolInstruments:
    calls: MetricCounter
    duration: MetricHistogramFloat

    @classmethod
    def create(cls, meter: MetricMeter) -> "ToolInstruments":
        return cls(
            calls=meter.create_counter(Metric.TOOL_CALLS, "Tool call attempts by outcome."),
            duration=meter.create_histogram_float(
                Metric.TOOL_DURATION, "Duration of one tool call attempt.", "s"
            ),
        )

    def record(self, tool: str, attempt: ToolAttempt, seconds: float) -> None:
        """One observation per attempt: retries show up as error attempts, then the success."""
        status = attempt.outcome
        self.calls.add(
            1,
            {
                "tool": tool,
                "status": status,
                "error_class": attempt.error_class or "none",
                "retryable": _flag(attempt.retryable if status == "error" else False),
            },
        )
        self.duration.record(seconds, {"tool": tool, "status": status})


@dataclass(frozen=True)
class ModelInstruments:
    tokens: MetricCounter
    cost: MetricCounter

    @classmethod
    def create(cls, meter: MetricMeter) -> "ModelInstruments":
        return cls(
            tokens=meter.create_counter(Metric.MODEL_TOKENS, "Model tokens by direction."),
            cost=meter.create_counter(
                MODEL_COST_MICRO_USD, "Model cost in millionths of a US dollar.", "uUSD"
            ),
        )

    def record(self, agent: str, model: str, usage: TokenUsage, cost_usd: float | None) -> None:
        attrs = {"agent": agent, "model": model}
        self.tokens.add(usage.input_tokens, {**attrs, "direction": "input"})
        self.tokens.add(usage.output_tokens, {**attrs, "direction": "output"})
        if cost_usd is not None:  # an unpriced model is warned about, not counted as free
            self.cost.add(round(cost_usd * 1_000_000), attrs)


@dataclass(frozen=True)
class StoreInstruments:
    """The run store's health as the worker's writer thread sees it (``store.health``).

    The writer is no activity, so these come from the runtime's own meter (the one the worker's
    Prometheus endpoint serves), unlabelled: one writer per worker process.
    """

    up: MetricGauge
    pending: MetricGauge
    failures: MetricCounter
    dropped: MetricCounter

    @classmethod
    def create(cls, meter: MetricMeter) -> "StoreInstruments":
        return cls(
            up=meter.create_gauge(Metric.STORE_UP, "1 while run store writes go through, else 0."),
            pending=meter.create_gauge(
                Metric.STORE_PENDING_ROWS, "Run store rows queued and not yet written."
            ),
            failures=meter.create_counter(
                Metric.STORE_WRITE_FAILURES, "Failed run store write tries, by error type."
            ),
            dropped=meter.create_counter(
                Metric.STORE_ROWS_DROPPED, "Run record rows given up (queue full, bad write)."
            ),
        )

    @classmethod
    def for_client(cls, client: Client) -> "StoreInstruments":
        """On the meter of the runtime ``client`` runs on (the process default if it has none)."""
        runtime = client.service_client.config.runtime or Runtime.default()
        return cls.create(runtime.metric_meter)

    def store_up(self, up: bool) -> None:
        self.up.set(1 if up else 0)

    def pending_rows(self, rows: int) -> None:
        self.pending.set(rows)

    def write_failed(self, error: str) -> None:
        self.failures.add(1, {"error": error})

    def rows_dropped(self, rows: int) -> None:
        self.dropped.add(rows)

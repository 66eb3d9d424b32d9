"""Collecting what evicted runs leave behind, so runs parked in review cost a worker little.

A run in the worker's cache lives in a sandbox of its own: its workflow instance, event loop and
coroutines (and, in an isolated sandbox, copies of the workflow's modules), which refer to each
other. When the cache evicts the run (a run parked in review is evicted as newer runs come in),
nothing but the cyclic garbage collector can free that graph, and only a full collection: a
cached run lives long enough to reach the oldest generation. Worker processes raise the young
generation's threshold (``worker.tune_gc``: 700 to 20,000 allocations, for 3-7 ms of CPU per
run), which also spaces full collections out to one per ~2 million allocations: in
``bench.parked`` not one ran while 1,000 runs parked. Evicted runs piled up until one did, and
the allocator's arenas they had filled stayed with the process (a CPython arena goes back to the
OS only when every block in it is free), which is what made each parked run cost ~50-80 KB of a
worker's memory after its eviction (docs/performance.md, "Memory per parked run").

A run's graph becomes garbage when another run's instance takes its place in the cache, so the
count of instances created says how much garbage can be waiting: this runner makes a full
collection once every ``every`` instances. At the cache's size, at most a cache's worth of
evicted runs ever waits, and a collection, which costs about as much as the live runs it scans,
costs each instance about as much as scanning one run: much less than building its sandbox.
"""

import gc
from collections.abc import Sequence
from typing import Final

from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails, WorkflowRunner
from temporalio.workflow import _Definition

# Fewest instances between two collections: with a cache of a few runs (or none, where every
# workflow task builds its run again), collecting each time would cost more than the instance.
MIN_EVERY: Final = 100


def collection_interval(max_cached_workflows: int) -> int:
    """Instances between full collections for a worker caching ``max_cached_workflows`` runs."""
    return max(max_cached_workflows, MIN_EVERY)


class CollectingRunner(WorkflowRunner):
    """``inner``'s instances, with a full garbage collection every ``every`` of them."""

    def __init__(self, inner: WorkflowRunner, every: int) -> None:
        if every < 1:
            raise ValueError(f"every must be at least 1, not {every}")
        self._inner = inner
        self._every = every
        self._created = 0
        self.collections = 0

    def prepare_workflow(self, defn: _Definition) -> None:
        self._inner.prepare_workflow(defn)

    def set_worker_level_failure_exception_types(
        self, types: Sequence[type[BaseException]]
    ) -> None:
        self._inner.set_worker_level_failure_exception_types(types)

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        self._created += 1
        if self._created >= self._every:
            # Before building the new instance: the garbage it replaces is freed first, and
            # its blocks are reused for it rather than taken from a new arena.
            self._created = 0
            self.collections += 1
            gc.collect()
        return self._inner.create_instance(det)

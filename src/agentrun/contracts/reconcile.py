"""What a reconcile sweep is asked to do and what it found (``agentrun reconcile``, the
``Reconcile`` workflow and its activity).

The report names at most ``MAX_LISTED`` runs per list and counts the rest: it travels through
Temporal history, where a payload must stay far below the server's size limit however many runs
a store outage left behind.
"""

from datetime import datetime, timedelta

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

# Runs named per list in a report; the counts cover the rest.
MAX_LISTED = 100
DEFAULT_SINCE = timedelta(hours=24)
DEFAULT_OLDER_THAN = timedelta(minutes=1)
DEFAULT_LIMIT = 10_000


class ReconcileRequest(BaseModel):
    """The window is ``[now - since, now - older_than)``: runs started or closed in it.

    ``older_than`` leaves alone runs that started or closed more recently: their record is still
    being written. ``limit`` bounds the runs read from Temporal's visibility, and separately the
    unfinished runs read from the store. ``now`` None: the workflow's clock (a schedule's runs).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    since: timedelta = Field(default=DEFAULT_SINCE, gt=timedelta(0))
    older_than: timedelta = Field(default=DEFAULT_OLDER_THAN, ge=timedelta(0))
    limit: int = Field(default=DEFAULT_LIMIT, ge=1)
    dry_run: bool = False
    now: AwareDatetime | None = None


class ReconcileReport(BaseModel):
    """``checked`` = ``in_step`` + ``rewritten_count`` + ``skipped_count``."""

    model_config = ConfigDict(frozen=True)

    dry_run: bool
    window_start: datetime
    window_end: datetime
    # Runs looked at: those in the window on this task queue, and the store's unfinished runs.
    checked: int
    # Of those, the runs asked for their status (the others agreed with their search attributes).
    queried: int = 0
    # Runs whose record is what it should be at this point of the run.
    in_step: int = 0
    # Runs whose record lagged Temporal (rewritten unless a dry run), the first MAX_LISTED.
    rewritten: list[str] = Field(default_factory=list)
    rewritten_count: int = 0
    # Of the rewritten runs, those the store had no row for at all.
    added: int = 0
    # Runs the sweep could not read or write, with why in one line, the first MAX_LISTED.
    skipped: dict[str, str] = Field(default_factory=dict)
    skipped_count: int = 0
    # Temporal's visibility held more runs in the window than ``limit``: the oldest were not read.
    truncated: bool = False

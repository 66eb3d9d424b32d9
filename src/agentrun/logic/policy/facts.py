"""What a rule may look at: the facts the workflow gathers at one checkpoint of a run."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from agentrun.contracts.policy import Checkpoint
from agentrun.contracts.tools import ToolPolicy
from agentrun.errors import UserError
from agentrun.logic.injection.screen import SCREEN_VERSION


@dataclass(frozen=True, slots=True)
class RunFacts:
    """Everything a rule may look at; the workflow builds one per checkpoint.

    - ``step``: the 1-based number of the step (model call) this checkpoint belongs to; a budget
      of ``max_steps`` fires once ``step`` is above it. ``tokens`` and ``cost_usd``: spent so far.
    - ``tool``/``tool_name``: at before_tool and after_tool, the call's contract (when the tool is
      in the agent's catalog) and the name the model asked for.
    - ``repeat_count``: how many times this run has already made this exact call (same tool, same
      arguments); the pending call is number ``repeat_count + 1``.
    - ``private_data_seen``/``untrusted_seen``: the run has read private data / seen outside
      content (from the tools' trust labels).
    - ``tenant_runs_in_window``: runs the tenant started in the rate-limit window before this one,
      counted by the caller for the engine's ``rate_limit_window``; None when not counted.
    - ``text``: what the injection screen reads: the input at input, the tool's output at
      after_tool, as their decoded strings (``agentrun.logic.injection.screened_text``).
    - ``screen_version``: which injection screen reads ``text``: 1, the first, frozen one (on
      escaped JSON); 2 and later, ``screen_injection`` at that version. A run screens with the
      version it began with, so that its replay decides as it did.
    """

    checkpoint: Checkpoint
    agent: str
    tenant_id: str
    known_tools: frozenset[str]
    step: int = 0
    tokens: int = 0
    cost_usd: float = 0.0
    tool: ToolPolicy | None = None
    tool_name: str | None = None
    tool_args: Mapping[str, Any] | None = None
    repeat_count: int = 0
    private_data_seen: bool = False
    untrusted_seen: bool = False
    tenant_runs_in_window: int | None = None
    text: str | None = None
    screen_version: int = SCREEN_VERSION


class PolicyError(UserError, ValueError):
    """A policy that cannot be used: unreadable, invalid, or inconsistent with the others.

    ``problems`` holds every problem found, each as ``<source>: <location>: <why>``; the message
    is the first of them.
    """

    def __init__(self, problems: list[str]) -> None:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(problems[0] + more)
        self.problems = problems


class CannotEvaluate(Exception):
    """A rule lacks a fact it needs; the engine turns this into a fail-closed deny."""


# A compiled rule: the facts and the call's tool name in, why the rule fires (or None) out.
Check = Callable[[RunFacts, str | None], str | None]

"""The Rollout workflow's I/O: writing an agent's routing (audited) and analysing a window of
its runs from the run record."""

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

from sqlmodel import Session
from temporalio import activity
from temporalio.exceptions import ApplicationError

from agentrun.agents.registry import AgentRegistry, RegistryError
from agentrun.contracts.names import ACTIVITY_ROLLOUT_ANALYZE, ACTIVITY_ROLLOUT_SPLIT, ErrorType
from agentrun.contracts.policy import SECURITY_RULE_KINDS
from agentrun.contracts.rollout import Analysis, AnalyzeInput, SplitChange
from agentrun.logic.rollout import judge
from agentrun.store.rollouts import window_figures, write_split


class RolloutActivities:
    def __init__(self, registry: AgentRegistry, sessions: Callable[[], Session] | None) -> None:
        self._registry = registry
        self._sessions = sessions

    @activity.defn(name=ACTIVITY_ROLLOUT_SPLIT)
    async def split(self, change: SplitChange) -> None:
        """Both versions must be served here, and a store must hold the routing."""
        split = change.split
        for version in (split.stable, split.candidate):
            try:
                self._registry.resolve(split.agent, version)
            except RegistryError as err:
                raise ApplicationError(
                    str(err), type=ErrorType.UNKNOWN_AGENT, non_retryable=True
                ) from None
        sessions = self._store()
        await asyncio.to_thread(self._write, sessions, change)

    @activity.defn(name=ACTIVITY_ROLLOUT_ANALYZE)
    async def analyze(self, request: AnalyzeInput) -> Analysis:
        sessions = self._store()
        rules = self._security_rules(request.agent, request.candidate)
        stable, candidate = await asyncio.to_thread(self._figures, sessions, request, rules)
        verdict, reasons = judge(stable, candidate, request.min_runs, request.thresholds)
        return Analysis(
            stage=request.stage,
            window_start=request.window_start,
            window_end=request.window_end,
            stable=stable,
            candidate=candidate,
            verdict=verdict,
            reasons=reasons,
        )

    def _store(self) -> Callable[[], Session]:
        if self._sessions is None:
            raise ApplicationError(
                "a rollout needs the run store (AGENTRUN_STORE_ENABLED is off on this worker)",
                type=ErrorType.STORE_DISABLED,
                non_retryable=True,
            )
        return self._sessions

    def _security_rules(self, agent: str, version: str) -> set[str]:
        spec = self._registry.resolve(agent, version).spec
        return {
            rule.id
            for policy in spec.policies
            for rule in policy.rules
            if rule.kind in SECURITY_RULE_KINDS
        }

    @staticmethod
    def _write(sessions: Callable[[], Session], change: SplitChange) -> None:
        with sessions() as session, session.begin():
            write_split(session, change, datetime.now(UTC))

    @staticmethod
    def _figures(sessions: Callable[[], Session], request: AnalyzeInput, rules: set[str]) -> tuple:  # type: ignore[type-arg]
        with sessions() as session:
            return tuple(
                window_figures(
                    session,
                    request.agent,
                    version,
                    start=request.window_start,
                    end=request.window_end,
                    security_rules=rules,
                )
                for version in (request.stable, request.candidate)
            )

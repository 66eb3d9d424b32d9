"""``Rollout``: one agent's candidate version through its stages, analysed after each window.

``run()`` reads as the rollout: for each stage, route its share of traffic to the candidate,
observe a window (commands may pause, promote or roll back meanwhile), analyse candidate against
stable over the same window; roll back at the first breach, wait another window when too few
runs finished, go on otherwise; at the end the candidate takes all traffic. Every routing change
is written to the run store (where PREPARING reads it) with an audit event saying who and why.
"""

from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from agentrun.contracts.names import (
        ACTIVITY_ROLLOUT_ANALYZE,
        ACTIVITY_ROLLOUT_SPLIT,
        QUERY_ROLLOUT_STATUS,
        ROLLOUT_WORKFLOW,
        UPDATE_ROLLOUT_COMMAND,
    )
    from agentrun.contracts.rollout import (
        Action,
        Analysis,
        AnalyzeInput,
        Command,
        Event,
        Phase,
        RolloutRequest,
        RolloutStatus,
        Split,
        SplitChange,
        Strategy,
        Verdict,
    )
    from agentrun.logic.rollout import share

STEP_TIMEOUT = timedelta(minutes=1)
STEP_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=30))
CONTROLLER = "rollout-controller"


@workflow.defn(name=ROLLOUT_WORKFLOW)
class RolloutWorkflow:
    @workflow.init
    def __init__(self, request: RolloutRequest) -> None:
        self._request = request
        self._stage = 0
        self._percent = 0.0
        self._phase = Phase.RUNNING
        self._analysis: Analysis | None = None
        self._events: list[Event] = []
        self._inbox: list[Command] = []

    # ----------------------------------------------------------------- outside

    @workflow.query(name=QUERY_ROLLOUT_STATUS)
    def status(self) -> RolloutStatus:
        request = self._request
        return RolloutStatus(
            rollout_id=workflow.info().workflow_id,
            agent=request.agent,
            stable=request.stable,
            candidate=request.candidate,
            strategy=request.strategy,
            stage=self._stage,
            percent=self._percent,
            phase=self._phase,
            last_analysis=self._analysis,
            events=tuple(self._events),
        )

    @workflow.update(name=UPDATE_ROLLOUT_COMMAND)
    async def command(self, command: Command) -> RolloutStatus:
        """Taken in turn by the controller; answers once it has acted on it."""
        self._inbox.append(command)
        await workflow.wait_condition(lambda: command not in self._inbox)
        return self.status()

    @command.validator
    def _acceptable(self, command: Command) -> None:
        if self._phase in (Phase.PROMOTED, Phase.ROLLED_BACK):
            raise ValueError(f"the rollout is over ({self._phase})")
        if command.action is Action.PAUSE and self._phase is Phase.PAUSED:
            raise ValueError("the rollout is already paused")
        if command.action is Action.RESUME and self._phase is not Phase.PAUSED:
            raise ValueError("the rollout is not paused")
        if self._phase is Phase.AWAITING_PROMOTION and command.action not in _DECISIONS:
            raise ValueError("the shadow windows passed: promote or roll back")

    # ----------------------------------------------------------------- the rollout

    @workflow.run
    async def run(self, request: RolloutRequest) -> RolloutStatus:
        plan = request.plan()
        outcome = None
        for index, percent in enumerate(plan):
            self._stage = index
            label = f"stage {index + 1}/{len(plan)}"
            by = request.started_by if index == 0 else CONTROLLER
            await self._route(percent, label, by, "stage")
            outcome = await self._observe(label)
            if outcome is Action.ROLLBACK:
                return self.status()
            if outcome is Action.PROMOTE:
                break
        shadow_passed = request.strategy is Strategy.SHADOW and outcome is not Action.PROMOTE
        if shadow_passed and await self._await_promotion() is Action.ROLLBACK:
            return self.status()
        self._phase = Phase.PROMOTED
        await self._route(100.0, "promoted", self._last_by(), "promoted")
        return self.status()

    async def _observe(self, label: str) -> Action | None:
        """Windows of the stage until its analysis lets it go on (None), or a rollback or a
        promotion (by analysis or by command) ends it."""
        request = self._request
        while True:
            start = workflow.now()
            command = await self._next(request.window)
            if command is not None:
                acted = await self._obey(command, label)
                if acted is not None:
                    return acted
                continue  # paused and resumed: a fresh window
            analysis = await self._analyze(label, start)
            if analysis.verdict is Verdict.ROLLBACK:
                await self._roll_back(CONTROLLER, "; ".join(analysis.reasons), analysis)
                return Action.ROLLBACK
            if analysis.verdict is Verdict.ADVANCE:
                return None

    async def _await_promotion(self) -> Action:
        """A shadow that passed changes no traffic by itself: the candidate has only run on
        copies, so a person decides, with its figures in hand, to switch (or to drop it)."""
        self._phase = Phase.AWAITING_PROMOTION
        self._note(CONTROLLER, "shadow windows passed: stable keeps all traffic until promote")
        command = await self._next(None)
        assert command is not None  # noqa: S101 -- no timeout: only a command wakes it
        self._phase = Phase.RUNNING
        acted = await self._obey(command, "shadow passed")
        assert acted is not None  # noqa: S101 -- the validator lets only decisions in
        return acted

    async def _obey(self, command: Command, label: str) -> Action | None:
        """Act on a command; pause waits here, for a resume or a decision."""
        try:
            if command.action is Action.ROLLBACK:
                await self._roll_back(command.by, command.reason or "", None)
                return Action.ROLLBACK
            if command.action is Action.PROMOTE:
                self._note(command.by, f"promote at {label}" + _because(command))
                return Action.PROMOTE
            if command.action is Action.PAUSE:
                self._phase = Phase.PAUSED
                self._note(command.by, f"paused at {label}" + _because(command))
        finally:
            self._inbox.remove(command)
        while self._phase is Phase.PAUSED:
            following = await self._next(None)
            assert following is not None  # noqa: S101 -- no timeout: only a command wakes it
            if following.action is Action.RESUME:
                self._phase = Phase.RUNNING
                self._note(following.by, f"resumed at {label}" + _because(following))
                self._inbox.remove(following)
                return None
            self._phase = Phase.RUNNING  # a rollback or promotion ends the pause
            return await self._obey(following, label)
        return None

    async def _next(self, window: timedelta | None) -> Command | None:
        self._show()
        try:
            await workflow.wait_condition(
                lambda: bool(self._inbox), timeout=window, timeout_summary="analysis window"
            )
        except TimeoutError:
            return None
        return self._inbox[0]

    async def _analyze(self, label: str, start: datetime) -> Analysis:
        request = self._request
        analysis: Analysis = await workflow.execute_activity(
            ACTIVITY_ROLLOUT_ANALYZE,
            AnalyzeInput(
                agent=request.agent,
                stable=request.stable,
                candidate=request.candidate,
                stage=label,
                window_start=start,
                window_end=workflow.now(),
                min_runs=request.min_runs,
                thresholds=request.thresholds,
            ),
            result_type=Analysis,
            start_to_close_timeout=STEP_TIMEOUT,
            retry_policy=STEP_RETRY,
        )
        self._analysis = analysis
        c = analysis.candidate
        self._note(
            CONTROLLER,
            f"analysis of {label}: {analysis.verdict} (candidate {c.runs} runs, "
            f"{c.error_rate:.1%} failed)"
            + (f": {'; '.join(analysis.reasons)}" if analysis.reasons else ""),
        )
        return analysis

    async def _roll_back(self, by: str, reason: str, analysis: Analysis | None) -> None:
        """All traffic back on stable at once, with the reason, the figures and the time."""
        self._phase = Phase.ROLLED_BACK
        detail: dict[str, object] = {"reason": reason}
        if analysis is not None:
            detail["analysis"] = analysis.model_dump(mode="json")
        await self._route(0.0, "rolled back", by, "rolled_back", detail)
        self._note(by, f"rolled back: {reason}")
        # Operators see a rollback in the worker's logs too, not only in the UI and the audit.
        workflow.logger.warning(
            "rollout of %s@%s rolled back by %s: %s",
            self._request.agent,
            self._request.candidate,
            by,
            reason,
        )

    async def _route(
        self,
        percent: float,
        stage: str,
        by: str,
        action: str,
        detail: dict[str, object] | None = None,
    ) -> None:
        request = self._request
        self._percent = percent
        shadow = request.strategy is Strategy.SHADOW and action == "stage"
        split = Split(
            agent=request.agent,
            rollout_id=workflow.info().workflow_id,
            stable=request.stable,
            candidate=request.candidate,
            percent=percent,
            stage=stage,
            shadow=shadow,
        )
        await workflow.execute_activity(
            ACTIVITY_ROLLOUT_SPLIT,
            SplitChange(split=split, by=by, action=action, detail=detail or {}),
            start_to_close_timeout=STEP_TIMEOUT,
            retry_policy=STEP_RETRY,
        )
        where = "copied to" if shadow else "to"
        self._note(by, f"{stage}: {percent:g} % of runs {where} {request.candidate}")
        workflow.logger.info(
            "rollout of %s: %s, %g %% of runs %s %s",
            request.agent,
            stage,
            percent,
            where,
            request.candidate,
        )

    def _note(self, by: str, what: str) -> None:
        self._events.append(Event(at=workflow.now(), what=what, by=by))
        self._show()

    def _last_by(self) -> str:
        return self._events[-1].by if self._events else CONTROLLER

    def _show(self) -> None:
        request = self._request
        last = self._analysis
        shown = share(request.strategy, self._phase, self._percent, request.candidate)
        heading = (
            f"**{request.agent}**: {shown} (stable {request.stable}), {request.strategy}, "
            f"{self._phase}"
        )
        lines = [heading]
        if last is not None:
            lines.append(f"last analysis ({last.stage}): {last.verdict}")
        if self._phase is Phase.RUNNING:
            lines.append(f"next: analysis after the {request.window} window")
        elif self._phase is Phase.AWAITING_PROMOTION:
            lines.append("next: `agentrun rollout promote` or `rollback` (stable has all traffic)")
        workflow.set_current_details("\n\n".join(lines))


_DECISIONS = (Action.PROMOTE, Action.ROLLBACK)


def _because(command: Command) -> str:
    return f" ({command.reason})" if command.reason else ""

"""The model activity's side of conversation compaction: estimates, summaries, what is sent.

``logic.compaction`` decides which turns a call leaves out; this module estimates each message's
tokens for it, asks the provider for the summaries that ``summarize`` sends in their place,
makes the call, and on a provider's ``context_overflow`` compacts once more and makes it again.
The stored conversation is never touched: compaction changes only what a call sends.
"""

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import structlog

from agentrun.activities.providers.base import (
    ModelProvider,
    ModelProviderError,
    ModelRequest,
    ModelResponse,
    estimate_tokens,
    fixed_prompt_text,
    messages_text,
    tokens_for_length,
)
from agentrun.contracts.agents import AgentSpec, CompactionStrategy
from agentrun.contracts.model import Compaction, Message
from agentrun.logic.compaction import (
    MARKER_TOKENS,
    SUMMARY_INSTRUCTIONS,
    Cut,
    Limits,
    Turns,
    cuts,
    forced_cut,
    marker_note,
    prompt_tokens,
    sent,
    summary_note,
    summary_prompt,
    summary_words,
    turns_of,
    window_of,
)

log = structlog.get_logger(__name__)

# Summaries a worker keeps (least recently used out first): a run's later calls, and a retried
# attempt, send the summary made before instead of paying for it again.
KEPT_SUMMARIES = 2_000
# Messages whose token estimate a worker keeps (by the message object, which the conversation
# store hands to a run's every call): a long run's estimates cost a pass, not a dump each.
KEPT_ESTIMATES = 50_000


@dataclass(frozen=True, slots=True)
class Call:
    """One model call as compaction sees it."""

    run_id: str
    step: int
    spec: AgentSpec
    model: str
    conversation: list[Message]


@dataclass(slots=True)
class Answered:
    """The provider's answer, with the compaction this call made (if any) and the summary
    calls made for it (their usage and cost are the call's too)."""

    response: ModelResponse
    compaction: Compaction | None = None
    summaries: list[ModelResponse] = field(default_factory=list)


@dataclass(slots=True)
class _Made:
    """What compacting has made so far in one call."""

    compaction: Compaction | None = None
    summaries: list[ModelResponse] = field(default_factory=list)


Reason = Literal["threshold", "context_overflow"]


class Compactor:
    """Keeps a run's prompts within its model's context window, as its agent declares."""

    def __init__(self) -> None:
        self._summaries: OrderedDict[tuple[str, str, int], str] = OrderedDict()
        self._estimates: dict[int, tuple[Message, int]] = {}

    async def complete(self, provider: ModelProvider, call: Call) -> Answered:
        """The provider's answer to the conversation, compacted first if it has grown past the
        threshold, and once more if the provider refuses it as too long (``fail``: never)."""
        policy = call.spec.model.context
        if policy.strategy is CompactionStrategy.FAIL:
            return Answered(await provider.complete(self._request(call, call.conversation)))
        made = _Made()
        plan = self._plan(call)
        messages = await self._compacted(provider, call, plan, made)
        try:
            response = await provider.complete(self._request(call, messages))
        except ModelProviderError as err:
            forced = forced_cut(plan.turns, plan.left_out, policy.keep_last_turns)
            if not err.context_overflow or forced is None:
                raise
            log.info(
                "prompt refused as too long; compacting and calling again",
                run_id=call.run_id,
                step=call.step,
                error=str(err),
            )
            plan = plan.with_cut(forced, reason="context_overflow")
            messages = await self._compacted(provider, call, plan, made)
            response = await provider.complete(self._request(call, messages))
        return Answered(response, made.compaction, made.summaries)

    @staticmethod
    def _request(call: Call, messages: list[Message]) -> ModelRequest:
        whole = call.conversation if messages is not call.conversation else None
        return ModelRequest(
            spec=call.spec, messages=messages, turn=call.step, model=call.model, conversation=whole
        )

    # ----------------------------------------------------------------- planning

    def _plan(self, call: Call) -> "_Plan":
        spec = call.spec
        policy = spec.model.context
        window = window_of(policy, call.model)
        summarize = policy.strategy is CompactionStrategy.SUMMARIZE
        limits = Limits(
            fixed=estimate_tokens(fixed_prompt_text(spec)),
            threshold=int(window * policy.compact_at) if window else None,
            keep=policy.keep_last_turns,
            # A summary may take up to the output limit; the marker is short.
            note=spec.model.max_output_tokens + 16 if summarize else MARKER_TOKENS,
        )
        turns = turns_of(call.conversation)
        tokens = self._tokens(call.conversation)
        return _Plan(turns, tokens, limits, window, cuts(turns, tokens, limits))

    def _tokens(self, messages: Sequence[Message]) -> list[int]:
        """Each message's estimate, as the scripted model counts a prompt (``messages_text``)."""
        if len(self._estimates) > KEPT_ESTIMATES:
            self._estimates.clear()
        found = []
        for message in messages:
            kept = self._estimates.get(id(message))
            if kept is None or kept[0] is not message:
                kept = (message, tokens_for_length(len(messages_text([message])) - 2))
                self._estimates[id(message)] = kept
            found.append(kept[1])
        return found

    # ----------------------------------------------------------------- what is sent

    async def _compacted(
        self, provider: ModelProvider, call: Call, plan: "_Plan", made: _Made
    ) -> list[Message]:
        """The conversation as this call sends it, and (when this call cut further) its record."""
        if not plan.found:
            return call.conversation
        turns, left_out = plan.turns, plan.left_out
        if call.spec.model.context.strategy is CompactionStrategy.SUMMARIZE:
            note = summary_note(await self._summary(provider, call, plan, made))
        else:
            note = marker_note(call.conversation[turns.head : turns.start(left_out)], left_out)
        messages = sent(call.conversation, turns, left_out, note)
        if plan.found[-1].at == turns.count:
            made.compaction = Compaction(
                step=call.step,
                strategy=call.spec.model.context.strategy,
                reason=plan.reason,
                turns_left_out=left_out,
                messages_left_out=turns.start(left_out) - turns.head,
                tokens_before=prompt_tokens(turns, plan.tokens, plan.limits, 0),
                tokens_after=plan.limits.fixed + sum(self._tokens(messages)),
                window_tokens=plan.window,
                summary_calls=len(made.summaries),
            )
            log.info(
                "conversation compacted",
                run_id=call.run_id,
                **made.compaction.model_dump(mode="json"),
            )
        return messages

    async def _summary(
        self, provider: ModelProvider, call: Call, plan: "_Plan", made: _Made
    ) -> str:
        """The summary of every turn left out: each cut's turns folded into the summary of the
        cuts before it, made once per worker (a worker that has not made the earlier ones makes
        them first)."""
        turns, conversation = plan.turns, call.conversation
        ends = [turns.start(cut.left_out) for cut in plan.found]
        summary: str | None = None
        begin = turns.head
        for end in ends:
            kept = self._kept(call, end)
            if kept is None:
                prompt = summary_prompt(
                    conversation[: turns.head], summary, conversation[begin:end]
                )
                kept = await self._summarize(provider, call, prompt, made)
                self._keep(call, end, kept)
            summary, begin = kept, end
        assert summary is not None  # noqa: S101 -- plan.found is not empty
        return summary

    async def _summarize(
        self, provider: ModelProvider, call: Call, prompt: str, made: _Made
    ) -> str:
        limit = call.spec.model.max_output_tokens
        spec = call.spec.model_copy(
            update={
                "system_prompt": SUMMARY_INSTRUCTIONS.format(words=summary_words(limit)),
                "tools": (),
            }
        )
        request = ModelRequest(
            spec=spec,
            messages=[Message(role="user", content=prompt)],
            turn=call.step,
            model=call.model,
            summarizing=True,
        )
        response = await provider.complete(request)
        made.summaries.append(response)
        # A model that answers with nothing leaves its turns as left out, and says so.
        return response.content.strip() or "(none: the earlier turns are left out)"

    def _kept(self, call: Call, end: int) -> str | None:
        key = (call.run_id, call.model, end)
        summary = self._summaries.get(key)
        if summary is not None:
            self._summaries.move_to_end(key)
        return summary

    def _keep(self, call: Call, end: int, summary: str) -> None:
        self._summaries[(call.run_id, call.model, end)] = summary
        while len(self._summaries) > KEPT_SUMMARIES:
            self._summaries.popitem(last=False)


@dataclass(frozen=True, slots=True)
class _Plan:
    turns: Turns
    tokens: list[int]
    limits: Limits
    window: int | None
    found: list[Cut]
    reason: Reason = "threshold"

    @property
    def left_out(self) -> int:
        return self.found[-1].left_out if self.found else 0

    def with_cut(self, cut: Cut, *, reason: Reason) -> "_Plan":
        return _Plan(self.turns, self.tokens, self.limits, self.window, [*self.found, cut], reason)

"""Conversation compaction: which turns a model call leaves out once the conversation nears the
model's context window (docs/models.md, "Long conversations").

Pure: the model activity hands in the conversation with each message's estimated tokens and
gets back the turns to leave out; it then writes the summary or the marker, and sends the rest.

A *turn* is one model reply and everything that answered it (its tool results, a reviewer's
feedback). Cuts fall between turns only, and never between a tool call and a later result for
it, so no call is sent without its results, nor a result without its call: providers refuse
both. The *head*, the task and whatever precedes the first reply, is always sent, and so is the
system prompt (the provider adds it from the spec; the stored conversation does not hold it).

There is no compaction state to keep. Every call works the cuts out again from the stored
conversation, replaying the calls that built it: call ``p`` sent the head and turns ``0..p-1``,
less those cut before it. So a retried attempt, on any worker, leaves out exactly what the first
one did. And a cut moves only when a prompt passes the threshold again, and then takes it down to
half of it (``AFTER_SHARE``): between compactions every call's prompt begins as the previous
one's did, so a summary is made once per cut and the provider's prompt cache keeps working.
"""

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate

from agentrun.contracts.agents import ContextPolicy
from agentrun.contracts.model import Message

# Context windows (input tokens) of common models as their providers publish them; an agent's
# ``model.context.window_tokens`` overrides, and a model not listed has none unless declared.
# A dated snapshot (``gpt-4o-mini-2024-07-18``) or a proxy's prefix (``openai/gpt-4o``) counts.
KNOWN_WINDOWS: dict[str, int] = {
    "gpt-4o": 128_000,
    "gpt-4o-mini": 128_000,
    "gpt-4.1": 1_047_576,
    "gpt-4.1-mini": 1_047_576,
    "gpt-4.1-nano": 1_047_576,
    "o1": 200_000,
    "o3": 200_000,
    "o3-mini": 200_000,
    "o4-mini": 200_000,
    # 400k in all, of which 128k are output: the prompt may take 272k.
    "gpt-5": 272_000,
    "gpt-5-mini": 272_000,
    "gpt-5-nano": 272_000,
    "claude-opus-4-1": 200_000,
    "claude-opus-4": 200_000,
    "claude-sonnet-4-5": 200_000,
    "claude-sonnet-4": 200_000,
    "claude-haiku-4-5": 200_000,
    "claude-3-5-haiku": 200_000,
}

# A compaction takes the prompt down to this share of the threshold (as far as the turns it must
# keep allow): far enough below it that the next compaction is many turns away.
AFTER_SHARE = 0.5
# What the marker of ``drop_oldest`` is estimated to take, before it is written.
MARKER_TOKENS = 120

SUMMARY_HEADING = "Summary of earlier conversation: "
SUMMARY_INSTRUCTIONS = (
    "You condense the earlier part of an AI agent's conversation, so that the agent can go on "
    "with its task with your summary in place of those turns. Keep every fact it learned from "
    "its tools (identifiers, amounts, names, statuses, errors), every action it already took "
    "(it must not take them again), what it decided and why, and what is still open. Leave out "
    "greetings and repetition. Write plain prose, in at most {words} words."
)


def known_window(model: str) -> int | None:
    """The listed window of ``model``: by its name, the longest listed one it begins with (a
    dated snapshot), after a proxy's ``vendor/`` prefix."""
    name = model.rsplit("/", 1)[-1]
    if name in KNOWN_WINDOWS:
        return KNOWN_WINDOWS[name]
    listed = [known for known in KNOWN_WINDOWS if name.startswith(f"{known}-")]
    return KNOWN_WINDOWS[max(listed, key=len)] if listed else None


def window_of(policy: ContextPolicy, model: str) -> int | None:
    """The window a run's model has: the agent's word for it, else the listed one."""
    return policy.window_tokens or known_window(model)


# ----------------------------------------------------------------- turns


@dataclass(frozen=True, slots=True)
class Turns:
    """Where a conversation's turns begin (ascending); ``messages[:head]`` is always sent."""

    starts: tuple[int, ...]
    length: int

    @property
    def head(self) -> int:
        return self.start(0)

    @property
    def count(self) -> int:
        return len(self.starts)

    def start(self, turn: int) -> int:
        """The first message of ``turn``; ``count`` gives the conversation's end."""
        return self.starts[turn] if turn < len(self.starts) else self.length


def turns_of(messages: Sequence[Message]) -> Turns:
    """Turns begin at model replies after the first user message (the task), except where a cut
    would part a tool result from the call it answers: such a reply stays in the turn before."""
    first_user = next((i for i, m in enumerate(messages) if m.role == "user"), None)
    if first_user is None:
        return Turns((), len(messages))
    # Message i is inside a call-to-result span when some result after it answers a call before
    # it: counted with a running sum of +1 after each call and -1 after its last result.
    called_at: dict[str, int] = {}
    answered_at: dict[int, int] = {}
    for i, message in enumerate(messages):
        for call in message.tool_calls:
            called_at[call.call_id] = i
        if message.role == "tool" and message.tool_call_id in called_at:
            source = called_at[message.tool_call_id]
            answered_at[source] = i
    opens = [0] * (len(messages) + 1)
    for source, last in answered_at.items():
        opens[source + 1] += 1
        opens[last + 1] -= 1
    inside = list(accumulate(opens))
    starts = tuple(
        i
        for i, message in enumerate(messages)
        if i > first_user and message.role == "assistant" and inside[i] == 0
    )
    return Turns(starts, len(messages))


# ----------------------------------------------------------------- cuts


@dataclass(frozen=True, slots=True)
class Limits:
    """What the cuts are worked out against, in estimated tokens."""

    fixed: int  # the system prompt and tool schemas, sent on every call
    threshold: int | None  # a prompt above it is compacted; None: only when the provider refuses
    keep: int  # the latest turns always sent
    note: int  # the summary or marker sent in place of the turns left out


@dataclass(frozen=True, slots=True)
class Cut:
    """From the call whose prompt held turns ``0..at-1`` on, the oldest ``left_out`` turns are
    not sent."""

    at: int
    left_out: int


class _Prompts:
    def __init__(self, turns: Turns, tokens: Sequence[int], limits: Limits) -> None:
        if len(tokens) != turns.length:
            raise ValueError(f"{len(tokens)} token counts for {turns.length} messages")
        self._turns = turns
        self._limits = limits
        self._sums = list(accumulate(tokens, initial=0))

    def size(self, at: int, left_out: int) -> int:
        """The estimated prompt of the call that held turns ``0..at-1``, less ``left_out``."""
        turns, sums = self._turns, self._sums
        kept = sums[turns.start(at)] - sums[turns.start(left_out)]
        note = self._limits.note if left_out else 0
        return self._limits.fixed + sums[turns.head] + note + kept


def cuts(turns: Turns, tokens: Sequence[int], limits: Limits) -> list[Cut]:
    """Every cut of the conversation so far, the latest last (this call's, if ``at`` is
    ``turns.count``); each leaves out more turns than the one before.

    A prompt above the threshold loses its oldest turns until it is at most ``AFTER_SHARE`` of
    the threshold, but never its last ``keep`` turns: a prompt that still does not fit goes to
    the provider as it is, which may refuse it (``context_overflow``)."""
    threshold = limits.threshold
    if threshold is None:
        return []
    prompts = _Prompts(turns, tokens, limits)
    target = threshold * AFTER_SHARE
    found: list[Cut] = []
    left_out = 0
    for at in range(1, turns.count + 1):
        if prompts.size(at, left_out) <= threshold:
            continue
        cut = left_out
        while at - cut > limits.keep and prompts.size(at, cut) > target:
            cut += 1
        if cut > left_out:
            found.append(Cut(at, cut))
            left_out = cut
    return found


def forced_cut(turns: Turns, left_out: int, keep: int) -> Cut | None:
    """The cut for a prompt the provider refused, though the estimate said it fits: all but the
    last ``keep`` turns; None when that leaves out nothing more."""
    cut = turns.count - keep
    return Cut(turns.count, cut) if cut > left_out else None


def prompt_tokens(turns: Turns, tokens: Sequence[int], limits: Limits, left_out: int) -> int:
    """The estimated prompt of the current call with its oldest ``left_out`` turns left out."""
    return _Prompts(turns, tokens, limits).size(turns.count, left_out)


def sent(messages: Sequence[Message], turns: Turns, left_out: int, note: Message) -> list[Message]:
    """What the call sends: the head, the note in place of the turns left out, the rest."""
    if not left_out:
        return list(messages)
    return [*messages[: turns.head], note, *messages[turns.start(left_out) :]]


# ----------------------------------------------------------------- notes


def summary_note(summary: str) -> Message:
    """The summary, in place of the turns it covers.

    A system message: OpenAI's protocol takes it where it stands, Anthropic's provider adds it to
    the system prompt, and none reads it as the user's words (a user message after the task is
    a reviewer's feedback to the scripted model)."""
    return Message(role="system", content=SUMMARY_HEADING + summary.strip())


def marker_note(left_out: Sequence[Message], turns: int) -> Message:
    """What ``drop_oldest`` sends in place of the turns: how many, and which tools they called,
    so that a model does not take an action again only because it no longer sees it."""
    calls = Counter(call.tool for message in left_out for call in message.tool_calls)
    called = ", ".join(f"{tool} ({n} {'call' if n == 1 else 'calls'})" for tool, n in calls.items())
    return Message(
        role="system",
        content=(
            f"[{turns} earlier {'turn' if turns == 1 else 'turns'} ({len(left_out)} messages) "
            "after the task are left out to fit the model's context window."
            + (f" Tools called in them: {called}." if called else "")
            + " Their results are no longer shown: check before repeating an action.]"
        ),
    )


def summary_prompt(task: Sequence[Message], previous: str | None, turns: Sequence[Message]) -> str:
    """The one user message of a summary request: the task for context, the summary so far (a
    later compaction extends it), and the turns to fold in, as plain text (tool-use blocks need
    tool definitions, which a summary request does not offer)."""
    parts = ["The agent's task:", transcript(task)]
    if previous:
        parts += ["", "Summary of the turns before these:", previous]
    parts += ["", "Turns to summarise:", transcript(turns)]
    return "\n".join(parts)


def summary_words(max_output_tokens: int) -> int:
    """Words to ask for: well inside the output limit (about 0.75 words a token), since an
    answer cut off at the limit fails the call."""
    return max(20, max_output_tokens // 2)


def transcript(messages: Sequence[Message]) -> str:
    lines = []
    for message in messages:
        if message.role == "tool":
            lines.append(f"tool {message.name or message.tool_call_id or ''}: {message.content}")
            continue
        text = message.content
        calls = "; ".join(
            f"{call.tool}({json.dumps(call.args, separators=(',', ':'))})"
            for call in message.tool_calls
        )
        if calls:
            text = f"{text} [calls {calls}]" if text else f"[calls {calls}]"
        lines.append(f"{message.role}: {text}")
    return "\n".join(lines)

"""Which turns a model call leaves out (logic.compaction): pure, so most of it is properties over
generated conversations: a cut never parts a tool call from its results, keeps the task and the
last turns, and is the same whenever it is worked out again (a retry, a later call)."""

from collections.abc import Sequence
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from agentrun.contracts.agents import AgentSpec, CompactionStrategy, ContextPolicy, ModelSettings
from agentrun.contracts.model import Message, ToolCallRequest
from agentrun.logic.compaction import (
    AFTER_SHARE,
    SUMMARY_HEADING,
    Cut,
    Limits,
    cuts,
    forced_cut,
    known_window,
    marker_note,
    prompt_tokens,
    sent,
    summary_note,
    summary_prompt,
    turns_of,
    window_of,
)
from agentrun.logic.versions import changes, digest, snapshot


def task(text: str = '{"order_id": "1001"}') -> Message:
    return Message(role="user", content=text)


def reply(*tools: str, step: int = 0, text: str = "") -> Message:
    calls = tuple(
        ToolCallRequest(call_id=f"call_{step}_{i}", tool=tool, args={"n": i})
        for i, tool in enumerate(tools)
    )
    return Message(role="assistant", content=text, tool_calls=calls)


def result(tool: str, *, step: int = 0, index: int = 0) -> Message:
    return Message(
        role="tool", content='{"ok": true}', tool_call_id=f"call_{step}_{index}", name=tool
    )


def tool_turn(step: int, *tools: str) -> list[Message]:
    return [
        reply(*tools, step=step),
        *(result(tool, step=step, index=i) for i, tool in enumerate(tools)),
    ]


# ----------------------------------------------------------------- generated conversations


@dataclass(frozen=True)
class Conversation:
    messages: list[Message]
    tokens: list[int]
    turns: int


@st.composite
def conversations(draw: st.DrawFn) -> Conversation:
    """The task (perhaps after a system message), then turns: a reply with 0-3 tool calls and
    their results in any order, or a final answer a reviewer answers with feedback."""
    messages: list[Message] = []
    if draw(st.booleans()):
        messages.append(Message(role="system", content="context"))
    messages.append(task())
    count = draw(st.integers(min_value=0, max_value=14))
    for step in range(count):
        calls = draw(st.integers(min_value=0, max_value=3))
        tools = [f"tool{draw(st.integers(0, 2))}" for _ in range(calls)]
        messages.append(reply(*tools, step=step, text="" if calls else "answer"))
        order = draw(st.permutations(range(calls)))
        messages += [result(tools[i], step=step, index=i) for i in order]
        if not calls and draw(st.booleans()):
            messages.append(Message(role="user", content="please fix the amount"))
    tokens = draw(
        st.lists(
            st.integers(min_value=1, max_value=400),
            min_size=len(messages),
            max_size=len(messages),
        )
    )
    return Conversation(messages, tokens, count)


limits_st = st.builds(
    Limits,
    fixed=st.integers(min_value=0, max_value=300),
    threshold=st.integers(min_value=200, max_value=4000),
    keep=st.integers(min_value=1, max_value=5),
    note=st.integers(min_value=1, max_value=150),
)


def orphans(messages: Sequence[Message]) -> list[str]:
    """Tool results without their call, and calls (answered in ``whole``) without results."""
    called = {c.call_id for m in messages for c in m.tool_calls}
    answered = {m.tool_call_id or "" for m in messages if m.role == "tool"}
    return sorted((answered - called) | (called - answered))


def left_out_at(found: Sequence[Cut], at: int) -> int:
    return max((c.left_out for c in found if c.at <= at), default=0)


@given(conversations())
def test_turns_begin_at_replies_after_the_task(conv: Conversation) -> None:
    turns = turns_of(conv.messages)
    assert turns.count == conv.turns
    assert list(turns.starts) == sorted(set(turns.starts))
    first_user = next(i for i, m in enumerate(conv.messages) if m.role == "user")
    assert all(conv.messages[s].role == "assistant" and s > first_user for s in turns.starts)
    assert turns.head > first_user


@given(conversations(), st.data())
def test_no_cut_parts_a_call_from_its_results(conv: Conversation, data: st.DataObject) -> None:
    turns = turns_of(conv.messages)
    left_out = data.draw(st.integers(min_value=0, max_value=turns.count))
    shown = sent(conv.messages, turns, left_out, marker_note([], left_out))
    assert orphans(shown) == []
    # The task is always sent, and the turns not left out are sent whole, in order.
    assert shown[: turns.head] == conv.messages[: turns.head]
    assert (
        shown[len(shown) - (turns.length - turns.start(left_out)) :]
        == (conv.messages[turns.start(left_out) :])
    )


@settings(max_examples=200)
@given(conversations(), limits_st)
def test_cuts_only_grow_and_keep_the_last_turns(conv: Conversation, limits: Limits) -> None:
    found = cuts(turns_of(conv.messages), conv.tokens, limits)
    assert [c.at for c in found] == sorted({c.at for c in found})
    assert [c.left_out for c in found] == sorted({c.left_out for c in found})
    for cut in found:
        assert 1 <= cut.at <= conv.turns
        assert cut.at - cut.left_out >= limits.keep


@settings(max_examples=200)
@given(conversations(), limits_st)
def test_every_prompt_fits_unless_only_the_kept_turns_are_left(
    conv: Conversation, limits: Limits
) -> None:
    """Each call of the conversation's history, replayed: its prompt is within the threshold,
    or it sends no more than its last ``keep`` turns; right after a cut, within half of it."""
    assert limits.threshold is not None
    turns = turns_of(conv.messages)
    found = cuts(turns, conv.tokens, limits)
    for at in range(1, turns.count + 1):
        length = turns.start(at)
        prefix = turns_of(conv.messages[:length])
        left_out = left_out_at(found, at)
        size = prompt_tokens(prefix, conv.tokens[:length], limits, left_out)
        kept_only = at - left_out <= limits.keep
        assert size <= limits.threshold or kept_only
        if any(c.at == at for c in found):
            assert size <= limits.threshold * AFTER_SHARE or kept_only


@settings(max_examples=200)
@given(conversations(), limits_st)
def test_a_cut_is_the_same_when_worked_out_again_later(conv: Conversation, limits: Limits) -> None:
    """A call decides from the stored conversation alone: what an earlier call (or an earlier
    attempt of this one) left out is what every later call works out it left out."""
    turns = turns_of(conv.messages)
    found = cuts(turns, conv.tokens, limits)
    for at in range(turns.count + 1):
        length = turns.start(at)
        earlier = cuts(turns_of(conv.messages[:length]), conv.tokens[:length], limits)
        assert earlier == [c for c in found if c.at <= at]
    assert cuts(turns, conv.tokens, limits) == found


@given(conversations(), st.integers(min_value=1, max_value=5), st.data())
def test_a_forced_cut_leaves_only_the_kept_turns(
    conv: Conversation, keep: int, data: st.DataObject
) -> None:
    turns = turns_of(conv.messages)
    before = data.draw(st.integers(min_value=0, max_value=turns.count))
    forced = forced_cut(turns, before, keep)
    if turns.count - keep > before:
        assert forced == Cut(turns.count, turns.count - keep)
    else:
        assert forced is None


# ----------------------------------------------------------------- cases


def test_a_conversation_that_fits_is_sent_whole() -> None:
    messages = [task(), *tool_turn(0, "lookup"), *tool_turn(1, "ship")]
    limits = Limits(fixed=100, threshold=10_000, keep=1, note=50)
    assert cuts(turns_of(messages), [10] * len(messages), limits) == []
    assert cuts(turns_of(messages), [10_000] * len(messages), Limits(0, None, 1, 1)) == []


def test_a_prompt_past_the_threshold_goes_down_to_half_of_it() -> None:
    # The task, then six turns of a call and its result, 100 tokens a message.
    messages = [task(), *(m for step in range(6) for m in tool_turn(step, "read"))]
    tokens = [100] * len(messages)
    limits = Limits(fixed=0, threshold=1000, keep=1, note=50)
    # Call 5 (turns 0-4) sends 100 + 5 * 200 = 1100 > 1000: it leaves out turns until the prompt
    # is at most 500: 100 + 50 + 200 * 1 = 350 (4 turns out; 3 would leave 550).
    assert cuts(turns_of(messages), tokens, limits) == [Cut(at=5, left_out=4)]


def test_the_last_turns_stay_even_when_they_do_not_fit() -> None:
    messages = [task(), *(m for step in range(4) for m in tool_turn(step, "read"))]
    tokens = [5000] * len(messages)
    limits = Limits(fixed=0, threshold=1000, keep=2, note=50)
    found = cuts(turns_of(messages), tokens, limits)
    assert found == [Cut(at=3, left_out=1), Cut(at=4, left_out=2)]


def test_parallel_calls_and_their_results_stay_one_turn() -> None:
    messages = [
        task(),
        *tool_turn(0, "a", "b", "c"),
        *tool_turn(1, "d"),
        reply(text="done", step=2),
        Message(role="user", content="feedback"),
    ]
    turns = turns_of(messages)
    assert turns.starts == (1, 5, 7)
    assert turns.head == 1


def test_a_reply_between_a_call_and_its_result_does_not_begin_a_turn() -> None:
    """Not what runs write, but a cut there would send a result without its call."""
    messages = [
        task(),
        reply("a", step=0),
        reply(text="thinking", step=9),
        result("a", step=0),
        *tool_turn(1, "b"),
    ]
    turns = turns_of(messages)
    assert turns.starts == (1, 4)
    assert orphans(sent(messages, turns, 1, marker_note(messages[1:4], 1))) == []


def test_a_conversation_without_a_task_has_no_turns() -> None:
    messages = [reply(text="hello"), reply(text="again")]
    turns = turns_of(messages)
    assert (turns.count, turns.head) == (0, 2)
    assert sent(messages, turns, 0, marker_note([], 0)) == messages


def test_known_windows_by_name_snapshot_and_proxy_prefix() -> None:
    assert known_window("gpt-4o-mini") == 128_000
    assert known_window("gpt-4o-mini-2024-07-18") == 128_000
    assert known_window("openai/gpt-4.1-mini") == 1_047_576
    assert known_window("claude-sonnet-4-5-20250929") == 200_000
    assert known_window("scripted-1") is None
    assert known_window("llama3.1:8b") is None
    assert window_of(ContextPolicy(window_tokens=8000), "gpt-4o") == 8000
    assert window_of(ContextPolicy(), "gpt-4o") == 128_000


def test_the_marker_says_what_was_left_out_and_which_tools_ran() -> None:
    left = [*tool_turn(0, "issue_refund"), *tool_turn(1, "lookup", "lookup")]
    note = marker_note(left, 2)
    assert note.role == "system"
    assert note.content.startswith("[2 earlier turns (5 messages) after the task are left out")
    assert "issue_refund (1 call), lookup (2 calls)" in note.content
    assert "Tools called" not in marker_note([reply(text="hi")], 1).content


def test_a_summary_request_carries_the_task_the_summary_so_far_and_the_turns() -> None:
    text = summary_prompt([task()], "Looked the order up.", tool_turn(3, "issue_refund"))
    assert text.splitlines() == [
        "The agent's task:",
        'user: {"order_id": "1001"}',
        "",
        "Summary of the turns before these:",
        "Looked the order up.",
        "",
        "Turns to summarise:",
        'assistant: [calls issue_refund({"n":0})]',
        'tool issue_refund: {"ok": true}',
    ]
    assert "Summary of the turns before" not in summary_prompt([task()], None, [])
    assert summary_note(" done \n").content == SUMMARY_HEADING + "done"


def test_token_counts_must_match_the_messages() -> None:
    with pytest.raises(ValueError, match="2 token counts for 3 messages"):
        cuts(turns_of([task(), *tool_turn(0, "a")]), [1, 2], Limits(0, 10, 1, 1))


# ----------------------------------------------------------------- the declaration


def test_an_agent_that_declares_nothing_keeps_its_snapshot_and_digest() -> None:
    """Versions published before ``model.context`` existed must still match their snapshot:
    the default policy (``fail``, what they did) is left out of it."""
    base = AgentSpec(name="greeter", version="1", system_prompt="Hi.")
    content = snapshot(base, {}, None)
    assert set(content["spec"]["model"]) == {
        "provider", "model", "temperature", "max_output_tokens", "scripted"
    }  # fmt: skip
    spelled_out = base.model_copy(
        update={"model": ModelSettings(context=ContextPolicy(strategy=CompactionStrategy.FAIL))}
    )
    assert digest(snapshot(spelled_out, {}, None)) == digest(content)

    declared = AgentSpec.model_validate(
        {
            "name": "greeter",
            "version": "1",
            "system_prompt": "Hi.",
            "model": {"context": {"strategy": "summarize", "window_tokens": 8000}},
        }
    )
    [changed] = changes(content, snapshot(declared, {}, None))
    assert changed.startswith('spec.model.context: added {"compact_at": 0.8, "keep_last_turns": 4')
    assert AgentSpec.model_validate(declared.model_dump(mode="json")) == declared


def test_a_policy_is_checked_when_declared() -> None:
    with pytest.raises(ValidationError, match="compact_at"):
        ContextPolicy(compact_at=1.5)
    with pytest.raises(ValidationError, match="keep_last_turns"):
        ContextPolicy(keep_last_turns=0)
    with pytest.raises(ValidationError, match="strategy"):
        ModelSettings.model_validate({"context": {"strategy": "forget"}})

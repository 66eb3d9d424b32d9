"""What travels between the workflow and the model activity.

The conversation itself stays out of history: the workflow sends only the messages that are new
since the last call plus the index they start at, and the activity keeps the full conversation in
the conversation store. History bytes therefore grow with the steps, not with their square.
"""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agentrun.contracts.agents import AgentRef, CompactionStrategy


class ToolCallRequest(BaseModel):
    model_config = ConfigDict(frozen=True)

    call_id: str
    tool: str
    args: dict[str, Any] = Field(default_factory=dict)
    # Why the arguments cannot be used (not JSON, or not what the tool's params model accepts),
    # found by the model activity: the run sends this back to the model instead of calling.
    error: str | None = None


class Message(BaseModel):
    """One conversation entry; ``role`` follows the chat-completions convention."""

    model_config = ConfigDict(frozen=True)

    role: Literal["system", "user", "assistant", "tool"]
    content: str = ""
    tool_calls: tuple[ToolCallRequest, ...] = ()
    tool_call_id: str | None = None
    name: str | None = None


class TokenUsage(BaseModel):
    input_tokens: int = 0
    output_tokens: int = 0
    # Of the input tokens, those the provider served from its prompt cache (billed lower).
    cached_input_tokens: int = 0

    @property
    def total(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: "TokenUsage") -> "TokenUsage":
        return TokenUsage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cached_input_tokens=self.cached_input_tokens + other.cached_input_tokens,
        )


class FinalAnswer(BaseModel):
    output: dict[str, Any]
    confidence: float = Field(default=1.0, ge=0.0, le=1.0)


class ModelDecision(BaseModel):
    """Either tool calls to make next, or the final answer (never both)."""

    tool_calls: tuple[ToolCallRequest, ...] = ()
    final: FinalAnswer | None = None


class ModelCallInput(BaseModel):
    run_id: str
    agent: AgentRef
    turn: int
    start_index: int
    new_messages: tuple[Message, ...]
    # The run's model (its plan's, a per-run override included); None: the agent's own (runs
    # that began before runs could choose their model).
    provider: str | None = None
    model: str | None = None


class Compaction(BaseModel):
    """A model call that left more of the conversation out than the call before it, to keep
    within the model's context window (docs/models.md, "Long conversations"). The stored
    conversation keeps every message; this says what was not sent, from this call on."""

    model_config = ConfigDict(frozen=True)

    step: int
    strategy: CompactionStrategy
    # "threshold": the estimate passed the agent's compact_at share of the window;
    # "context_overflow": the provider refused the prompt, and the call was made again, shorter.
    reason: Literal["threshold", "context_overflow"] = "threshold"
    # The oldest turns (a model reply with its answers) not sent, all compactions so far counted,
    # replaced by one summary or marker message.
    turns_left_out: int
    messages_left_out: int
    # Estimated prompt tokens (system prompt and tools included): all of the conversation, and
    # what was sent instead.
    tokens_before: int
    tokens_after: int
    window_tokens: int | None = None
    # Provider calls made for summaries (their usage is in the call's usage and cost).
    summary_calls: int = 0


class ModelCallResult(BaseModel):
    decision: ModelDecision
    usage: TokenUsage
    model: str
    # Length of the stored conversation after the assistant's reply was appended.
    conversation_length: int
    cost_usd: float = 0.0
    # Set when this call compacted the conversation (an optional field: replays of histories
    # recorded before it read None).
    compaction: Compaction | None = None

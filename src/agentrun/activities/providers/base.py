"""The provider interface every model backend implements."""

import json
import math
from dataclasses import dataclass
from typing import Protocol

from agentrun.contracts.agents import AgentSpec
from agentrun.contracts.model import Message, ModelDecision, TokenUsage


@dataclass(frozen=True)
class ModelRequest:
    spec: AgentSpec
    messages: list[Message]
    turn: int


@dataclass(frozen=True)
class ModelResponse:
    decision: ModelDecision
    usage: TokenUsage
    model: str
    content: str = ""


class ModelProviderError(Exception):
    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class ModelProvider(Protocol):
    name: str

    async def complete(self, request: ModelRequest) -> ModelResponse: ...


def estimate_tokens(text: str) -> int:
    """~4 characters per token, the usual rule of thumb for English text and JSON."""
    return max(1, math.ceil(len(text) / 4))


def fixed_prompt_text(spec: AgentSpec) -> str:
    """The part of every request that depends only on the spec: system prompt and tool schemas."""
    tools = [
        {"name": t.name, "description": t.description, "parameters": t.input_schema}
        for t in spec.tools
    ]
    return spec.system_prompt + json.dumps(tools)


def messages_text(messages: list[Message]) -> str:
    return json.dumps([m.model_dump(mode="json", exclude_defaults=True) for m in messages])

"""``provider:model`` references, on their own so that every contract can check one (the
evaluation's grader as well as an agent's model) without importing the agent specs."""

import re

# The providers agentrun ships; a worker serves those it can configure (docs/agents.md).
PROVIDERS = ("scripted", "openai", "anthropic")
MODEL_PATTERN = r"^[a-z][a-z0-9_-]{0,31}:\S{1,200}$"
_MODEL = re.compile(r"([a-z][a-z0-9_-]{0,31}):(\S{1,200})")


def split_model(text: str) -> tuple[str, str]:
    """``openai:gpt-4o-mini`` -> (provider, model); the model may hold colons (``llama3:8b``).

    Only the form is checked here: which providers a worker serves is the worker's to say."""
    match = _MODEL.fullmatch(text)
    if match is None:
        raise ValueError(
            f"{text[:80]!r} is not provider:model (e.g. openai:gpt-4o-mini, "
            f"anthropic:claude-sonnet-4-5, scripted:scripted-1; providers: {', '.join(PROVIDERS)})"
        )
    return match.group(1), match.group(2)

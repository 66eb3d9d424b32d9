"""Model providers. The scripted one is the offline default; hosted ones come when configured."""

from agentrun.activities.providers.base import (
    ModelProvider,
    ModelProviderError,
    ModelRequest,
    ModelResponse,
)
from agentrun.activities.providers.scripted import ScriptedProvider

__all__ = [
    "ModelProvider",
    "ModelProviderError",
    "ModelRequest",
    "ModelResponse",
    "ScriptedProvider",
]

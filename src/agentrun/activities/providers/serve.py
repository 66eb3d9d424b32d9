"""Which model providers a worker serves: the scripted one always, hosted ones when configured.

A hosted provider is configured the way its official SDK documents (``OPENAI_API_KEY`` and
``OPENAI_BASE_URL``, ``ANTHROPIC_API_KEY`` and ``ANTHROPIC_BASE_URL``, ...): the SDK reads its
own variables, so whatever works with the SDK works here. One that cannot be configured is left
out, with the reason, so PREPARING can refuse a run that asks for it in one line and the worker
can say at start-up which agents it cannot serve.
"""

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import structlog

from agentrun.activities.providers.base import ModelProvider
from agentrun.activities.providers.scripted import ScriptedProvider
from agentrun.agents.registry import AgentRegistry, unguarded_senders

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Hosted:
    """``target``: "module:factory"; a factory takes the environment and returns a provider or
    raises ProviderUnavailable. ``variables``: with none of them set, the provider is not
    configured and its module (its SDK: ~1 s of a worker's start each) is never imported."""

    target: str
    variables: tuple[str, ...]
    unset: str


HOSTED: Mapping[str, Hosted] = {
    "openai": Hosted(
        "agentrun.activities.providers.openai:from_environment",
        ("OPENAI_API_KEY", "OPENAI_BASE_URL"),
        "openai: set OPENAI_API_KEY (or OPENAI_BASE_URL for a compatible server that needs no key)",
    ),
    "anthropic": Hosted(
        "agentrun.activities.providers.anthropic:from_environment",
        ("ANTHROPIC_API_KEY",),
        "anthropic: ANTHROPIC_API_KEY is not set",
    ),
}


class ProviderUnavailable(Exception):
    """A hosted provider that cannot be configured here; the message says why and what to set."""


@dataclass
class ServedProviders:
    providers: dict[str, ModelProvider]
    unavailable: dict[str, str] = field(default_factory=dict)

    def why_not(self, provider: str) -> str:
        return self.unavailable.get(provider, f"agentrun has no provider {provider!r}")


def serve_providers(environ: Mapping[str, str]) -> ServedProviders:
    served = ServedProviders(providers={ScriptedProvider.name: ScriptedProvider()})
    for name, hosted in HOSTED.items():
        if not any(environ.get(variable, "").strip() for variable in hosted.variables):
            served.unavailable[name] = hosted.unset
            continue
        module_name, _, factory_name = hosted.target.partition(":")
        try:
            factory: Callable[[Mapping[str, str]], ModelProvider] = getattr(
                importlib.import_module(module_name), factory_name
            )
            served.providers[name] = factory(environ)
        except ProviderUnavailable as why:
            served.unavailable[name] = str(why)
        except ImportError as err:  # the provider's SDK is missing from this install
            served.unavailable[name] = f"{name}: its SDK cannot be imported ({err})"
    return served


def warn_unguarded(registry: AgentRegistry) -> None:
    """Say at start-up which agents can send data out with no lethal-trifecta rule in force
    (docs/governance.md#trust-labels): the safe default is to have one."""
    for definition in registry.definitions():
        senders = unguarded_senders(definition.spec)
        if senders:
            log.warning(
                "agent can send data out with no lethal_trifecta rule: a hijacked run could "
                "mail out what it read with nobody asked",
                agent=str(definition.spec.ref),
                tools=", ".join(senders),
            )


def warn_unserved(registry: AgentRegistry, served: ServedProviders) -> None:
    """Say at start-up which agents' models this worker cannot call (their runs would fail in
    PREPARING): a missing API key should be found by whoever starts the worker."""
    for definition in registry.definitions():
        provider = definition.spec.model.provider
        if provider not in served.providers:
            log.warning(
                "agent's model provider is not served by this worker",
                agent=str(definition.spec.ref),
                model=definition.spec.model.ref,
                reason=served.why_not(provider),
            )

"""Prices per model and per tool second, loaded from a settings file (docs/observability.md)."""

from pydantic import BaseModel, ConfigDict, Field


class ModelPrice(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    input_per_mtok: float = Field(ge=0, description="USD per 1M input tokens")
    output_per_mtok: float = Field(ge=0, description="USD per 1M output tokens")
    # Input tokens read from the provider's prompt cache; None: billed as other input.
    cached_input_per_mtok: float | None = Field(default=None, ge=0)


class PriceTable(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    models: dict[str, ModelPrice] = Field(default_factory=dict)
    # USD per second of tool execution, for tools whose time is billed (e.g. a paid API).
    tool_seconds: dict[str, float] = Field(default_factory=dict)

    def price_of(self, model: str) -> ModelPrice | None:
        """The model's price; providers answer with dated snapshots (``gpt-4o-mini-2024-07-18``),
        so the longest listed name the model starts with counts too."""
        if model in self.models:
            return self.models[model]
        listed = [name for name in self.models if model.startswith(f"{name}-")]
        return self.models[max(listed, key=len)] if listed else None

    def model_cost(
        self, model: str, input_tokens: int, output_tokens: int, cached_input_tokens: int = 0
    ) -> float | None:
        """Cost of one call, or None when the model has no price (the caller decides)."""
        price = self.price_of(model)
        if price is None:
            return None
        cached = min(cached_input_tokens, input_tokens) if price.cached_input_per_mtok else 0
        return (
            (input_tokens - cached) * price.input_per_mtok
            + cached * (price.cached_input_per_mtok or 0.0)
            + output_tokens * price.output_per_mtok
        ) / 1e6

    def tool_cost(self, tool: str, duration_ms: float) -> float:
        return self.tool_seconds.get(tool, 0.0) * duration_ms / 1000


def _price(inp: float, out: float, cached: float | None = None) -> ModelPrice:
    return ModelPrice(input_per_mtok=inp, output_per_mtok=out, cached_input_per_mtok=cached)


# List prices (USD per 1M tokens) of common models as published by their providers in 2025, and
# an illustrative one for the offline scripted model, so cost and budgets work out of the box.
# Prices change: a prices file (AGENTRUN_PRICES_FILE) replaces the whole table.
DEFAULT_PRICES = PriceTable(
    models={
        "scripted-1": _price(0.15, 0.60),
        "gpt-4o-mini": _price(0.15, 0.60, 0.075),
        "gpt-4o": _price(2.50, 10.00, 1.25),
        "gpt-4.1": _price(2.00, 8.00, 0.50),
        "gpt-4.1-mini": _price(0.40, 1.60, 0.10),
        "gpt-4.1-nano": _price(0.10, 0.40, 0.025),
        "o4-mini": _price(1.10, 4.40, 0.275),
        "claude-opus-4-1": _price(15.00, 75.00, 1.50),
        "claude-sonnet-4-5": _price(3.00, 15.00, 0.30),
        "claude-sonnet-4": _price(3.00, 15.00, 0.30),
        "claude-haiku-4-5": _price(1.00, 5.00, 0.10),
        "claude-3-5-haiku": _price(0.80, 4.00, 0.08),
    }
)

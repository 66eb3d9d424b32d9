"""Prices per model and per tool second, loaded from a settings file (docs/observability.md)."""

from pydantic import BaseModel, ConfigDict, Field


class ModelPrice(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    input_per_mtok: float = Field(ge=0, description="USD per 1M input tokens")
    output_per_mtok: float = Field(ge=0, description="USD per 1M output tokens")


class PriceTable(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    models: dict[str, ModelPrice] = Field(default_factory=dict)
    # USD per second of tool execution, for tools whose time is billed (e.g. a paid API).
    tool_seconds: dict[str, float] = Field(default_factory=dict)

    def model_cost(self, model: str, input_tokens: int, output_tokens: int) -> float | None:
        """Cost of one call, or None when the model has no price (the caller decides)."""
        price = self.models.get(model)
        if price is None:
            return None
        return (input_tokens * price.input_per_mtok + output_tokens * price.output_per_mtok) / 1e6

    def tool_cost(self, tool: str, duration_ms: float) -> float:
        return self.tool_seconds.get(tool, 0.0) * duration_ms / 1000


# Illustrative prices for the offline scripted model, so cost and budgets work in the demo; a
# prices file (AGENTRUN_PRICES_FILE) replaces the whole table.
DEFAULT_PRICES = PriceTable(
    models={"scripted-1": ModelPrice(input_per_mtok=0.15, output_per_mtok=0.60)}
)

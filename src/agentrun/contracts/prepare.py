"""Input and output of the PREPARING step (agent resolution and input validation)."""

from typing import Any

from pydantic import BaseModel

from agentrun.contracts.agents import RunPlan


class PrepareInput(BaseModel):
    agent: str
    version: str | None
    input: dict[str, Any]


class InputProblem(BaseModel):
    field: str
    message: str


class PrepareResult(BaseModel):
    """Either the run plan with the normalised input, or the problem that stops the run."""

    plan: RunPlan | None = None
    input: dict[str, Any] | None = None
    problem: InputProblem | None = None

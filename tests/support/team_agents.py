"""Teams for the team tests (tests/workflows/test_teams.py): children that spend, a child that
waits for a review, and the parents that call them. Served only by that test's worker."""

from pydantic import BaseModel, Field

from agentrun.agents.api import Agent, tool
from agentrun.contracts.agents import Budget

SCRIPTED = "scripted:scripted-1"
BURNS = 12  # the spender's tool calls: each model call reads the whole conversation again


class Job(BaseModel):
    job: str = Field(min_length=1, max_length=200)


@tool
def burn(job: str) -> str:
    """Work on the job a while: a long answer, so the next model call reads many tokens."""
    return f"{job}: " + "progress noted; " * 40


@tool
def note(job: str) -> str:
    """Write the job down."""
    return f"noted {job}"


spender = Agent(
    name="spender",
    model=SCRIPTED,
    instructions="Work on the job step by step.",
    description="Works on a job, at length.",
    tools=[burn],
    input_model=Job,
    review="never",
    script=[
        *({"tool": "burn", "args": {"job": f"{{{{input.job}}}} step {n}"}} for n in range(BURNS)),
        {"final": {"done": "{{input.job}}"}},
    ],
)

spend_lead = Agent(
    name="spend-lead",
    model=SCRIPTED,
    instructions="Hand the three jobs out at once.",
    description="Hands three jobs to spenders at once.",
    tools=[spender.as_tool()],
    input_model=Job,
    review="never",
    budget=Budget(max_tokens=9_000),
    script=[
        {
            "calls": [
                {"tool": "ask_spender", "args": {"job": "{{input.job}} part 1"}},
                {"tool": "ask_spender", "args": {"job": "{{input.job}} part 2"}},
                {"tool": "ask_spender", "args": {"job": "{{input.job}} part 3"}},
            ]
        },
        {"final": {"done": "{{input.job}}"}},
    ],
)

approver = Agent(
    name="needs-approval",
    model=SCRIPTED,
    instructions="Note the job; a person approves the answer.",
    description="Notes a job; alice approves its answer.",
    tools=[note],
    input_model=Job,
    reviewers=["alice"],
    review="always",
    script=[
        {"tool": "note", "args": {"job": "{{input.job}}"}},
        {"final": {"noted": "{{tools.note.result}}"}},
    ],
)

review_lead = Agent(
    name="review-lead",
    model=SCRIPTED,
    instructions="Have the job noted and approved.",
    description="Delegates a job that needs approval.",
    tools=[approver.as_tool()],
    input_model=Job,
    review="never",
    script=[
        {"tool": "ask_needs_approval", "args": {"job": "{{input.job}}"}},
        # The child's whole answer (or its error): it may have been rejected.
        {"final": {"answer": "{{tools.ask_needs_approval}}"}},
    ],
)

nested_lead = Agent(
    name="nested-lead",
    model=SCRIPTED,
    instructions="Delegate to the review lead.",
    description="Delegates to the review lead, whose child needs approval.",
    tools=[review_lead.as_tool()],
    input_model=Job,
    review="never",
    script=[
        {"tool": "ask_review_lead", "args": {"job": "{{input.job}}"}},
        {"final": {"answer": "{{tools.ask_review_lead.answer}}"}},
    ],
)

"""Hierarchical: a supervisor delegates the work and has it checked before it answers.

``editor`` asks ``drafter`` for a paragraph on a topic, then asks ``fact-checker`` to check
that draft, and answers with both. The checker reads the draft from the drafter's answer: what
one member wrote reaches another only through the supervisor, which sees (and guards) all of it.
"""

from pydantic import BaseModel, Field

from agentrun.agents.api import Agent, tool

SCRIPTED = "scripted:scripted-1"


class Topic(BaseModel):
    topic: str = Field(min_length=1, max_length=200, description="What to write about.")


class Draft(BaseModel):
    draft: str = Field(min_length=1, max_length=8000, description="The text to check.")


class Checked(BaseModel):
    draft: str
    verdict: str


FACTS = {
    "temporal": "Temporal keeps a workflow's history, so a run resumes where it stopped.",
}


@tool
def notes(topic: str) -> str:
    """What is known about a topic, from the newsroom's notes."""
    return FACTS.get(topic.lower(), f"No notes on {topic}; say so.")


@tool
def check_claims(text: str) -> str:
    """Check a text's claims against the notes: 'verified' or what is unsupported."""
    known = any(fact in text for fact in FACTS.values())
    return "verified" if known else "unsupported: no note backs this text"


drafter = Agent(
    name="drafter",
    model=SCRIPTED,
    instructions="Write one paragraph on the topic from the notes.",
    description="Writes a paragraph on a topic from the newsroom's notes.",
    tools=[notes],
    input_model=Topic,
    review="never",
    script=[
        {"tool": "notes", "args": {"topic": "{{input.topic}}"}},
        {"final": {"draft": "{{tools.notes.result}}"}},
    ],
)

checker = Agent(
    name="fact-checker",
    model=SCRIPTED,
    instructions="Check every claim of the draft against the notes.",
    description="Checks a draft's claims against the newsroom's notes.",
    tools=[check_claims],
    input_model=Draft,
    review="never",
    script=[
        {"tool": "check_claims", "args": {"text": "{{input.draft}}"}},
        {"final": {"verdict": "{{tools.check_claims.result}}"}},
    ],
)

editor = Agent(
    name="editor",
    model=SCRIPTED,
    instructions="Have a draft written, have it fact-checked, and answer with both.",
    description="Delegates a paragraph to the drafter and has it checked before answering.",
    tools=[drafter.as_tool(), checker.as_tool()],
    input_model=Topic,
    output_model=Checked,
    example_input={"topic": "Temporal"},
    review="never",
    script=[
        {"tool": "ask_drafter", "args": {"topic": "{{input.topic}}"}},
        {"tool": "ask_fact_checker", "args": {"draft": "{{tools.ask_drafter.draft}}"}},
        {
            "final": {
                "draft": "{{tools.ask_drafter.draft}}",
                "verdict": "{{tools.ask_fact_checker.verdict}}",
            }
        },
    ],
)

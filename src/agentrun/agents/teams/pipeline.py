"""Sequential: a support pipeline, one agent after another, each answer feeding the next.

``support-pipeline`` asks ``ticket-classifier`` which queue a message is for, then asks
``reply-writer`` for a reply in that queue's words. ``front-desk`` does the first step itself
and then hands the ticket off: ``reply-writer``'s answer is its own.
"""

from pydantic import BaseModel, Field

from agentrun.agents.api import Agent, tool

SCRIPTED = "scripted:scripted-1"


class Ticket(BaseModel):
    message: str = Field(min_length=1, max_length=4000, description="The customer's message.")


class Brief(BaseModel):
    message: str = Field(min_length=1, max_length=4000, description="The customer's message.")
    category: str = Field(min_length=1, max_length=40, description="Its queue.")


class Category(BaseModel):
    category: str


class Reply(BaseModel):
    category: str
    reply: str


QUEUES = {
    "billing": ("invoice", "charge", "charged", "refund", "paid", "payment"),
    "shipping": ("parcel", "delivery", "shipping", "arrive", "tracking", "package"),
}
ARTICLES = {
    "billing": "Refunds reach your card within 5 working days of our confirmation.",
    "shipping": "Parcels arrive within 3 working days; the tracking link is in your email.",
    "other": "A colleague will answer within one working day.",
}


@tool
def classify_text(text: str) -> str:
    """The queue a customer message belongs to: billing, shipping or other."""
    words = text.lower()
    return next((queue for queue, keys in QUEUES.items() if any(k in words for k in keys)), "other")


@tool
def knowledge_base(category: str) -> str:
    """The help article for a queue."""
    return ARTICLES.get(category, ARTICLES["other"])


classifier = Agent(
    name="ticket-classifier",
    model=SCRIPTED,
    instructions="Say which queue the customer's message belongs to.",
    description="Says which queue (billing, shipping, other) a customer message belongs to.",
    tools=[classify_text],
    input_model=Ticket,
    output_model=Category,
    review="never",
    script=[
        {"tool": "classify_text", "args": {"text": "{{input.message}}"}},
        {"final": {"category": "{{tools.classify_text.result}}"}},
    ],
)

writer = Agent(
    name="reply-writer",
    model=SCRIPTED,
    instructions="Write the reply to the customer from the help article of the message's queue.",
    description="Writes the reply to a customer message, given its queue.",
    tools=[knowledge_base],
    input_model=Brief,
    output_model=Reply,
    review="never",
    script=[
        {"tool": "knowledge_base", "args": {"category": "{{input.category}}"}},
        {
            "final": {
                "category": "{{input.category}}",
                "reply": "Thank you for writing. {{tools.knowledge_base.result}}",
            }
        },
    ],
)

pipeline = Agent(
    name="support-pipeline",
    model=SCRIPTED,
    instructions="Classify the ticket with the classifier, then have the reply written.",
    description="Answers a support ticket: classify, then write the reply.",
    tools=[classifier.as_tool(), writer.as_tool()],
    input_model=Ticket,
    output_model=Reply,
    example_input={"message": "I was charged twice for my last invoice."},
    review="never",
    script=[
        {"tool": "ask_ticket_classifier", "args": {"message": "{{input.message}}"}},
        {
            "tool": "ask_reply_writer",
            "args": {
                "message": "{{input.message}}",
                "category": "{{tools.ask_ticket_classifier.category}}",
            },
        },
        {
            "final": {
                "category": "{{tools.ask_reply_writer.category}}",
                "reply": "{{tools.ask_reply_writer.reply}}",
            }
        },
    ],
)

front_desk = Agent(
    name="front-desk",
    model=SCRIPTED,
    instructions="Classify the ticket, then hand it to the reply writer, whose answer is yours.",
    description="Takes a support ticket and hands it to the right writer.",
    tools=[classify_text, writer.as_handoff()],
    input_model=Ticket,
    output_model=Reply,
    example_input={"message": "My parcel did not arrive."},
    review="never",
    script=[
        {"tool": "classify_text", "args": {"text": "{{input.message}}"}},
        {
            "tool": "handoff_to_reply_writer",
            "args": {"message": "{{input.message}}", "category": "{{tools.classify_text.result}}"},
        },
        # Not reached: the hand-off's answer ends the run.
        {"final": {"category": "other", "reply": "not handed off"}},
    ],
)

"""Agents whose conversations outgrow a small declared context window (docs/models.md, "Long
conversations"): tests.activities.test_compaction and tests.workflows.test_compaction_runs.

Each reads ``READS`` pages of ~1,600 characters (~450-480 tokens a turn), then names the last
one. With ``WINDOW`` = 3,000 tokens the prompt passes the threshold (80 %: 2,400) after 5 or 6
turns, and the window itself a turn or two later, where the scripted model refuses it (as a
hosted model would) unless the agent compacts.
"""

from pydantic import BaseModel, ConfigDict

from agentrun.agents.registry import AgentDefinition, AgentRegistry, ToolContext, define_tool
from agentrun.contracts.agents import (
    AgentSpec,
    CompactionStrategy,
    ContextPolicy,
    ModelSettings,
    ReviewMode,
    ReviewPolicy,
    ScriptedOptions,
    ScriptStep,
)

WINDOW = 3000
KEEP = 2
READS = 8
PAGE_CHARS = 1600
DROPPING = "pages-drop"
SUMMARIZING = "pages-summary"
FAILING = "pages-fail"


class Topic(BaseModel):
    model_config = ConfigDict(extra="forbid")

    topic: str = "pages"


class PageKey(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str


class Page(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str
    text: str


async def _read_page(params: PageKey, ctx: ToolContext) -> Page:
    return Page(key=params.key, text=f"{params.key}: " + "lorem ipsum " * (PAGE_CHARS // 12))


READ_PAGE = define_tool(
    _read_page,
    name="read_page",
    description="Read one page of the topic.",
    params=PageKey,
    output=Page,
)


def pages_agent(
    name: str,
    strategy: CompactionStrategy,
    *,
    window: int | None = WINDOW,
    model: str = "scripted:scripted-1",
) -> AgentDefinition:
    provider, model_name = model.split(":", 1)
    script = (
        *(ScriptStep(tool="read_page", args={"key": f"p{i}"}) for i in range(READS)),
        ScriptStep(final={"topic": "{{input.topic}}", "last": "{{tools.read_page.key}}"}),
    )
    settings = ModelSettings(
        provider=provider,
        model=model_name,
        max_output_tokens=200,
        scripted=ScriptedOptions(script=script),
        context=ContextPolicy(strategy=strategy, window_tokens=window, keep_last_turns=KEEP),
    )
    spec = AgentSpec(
        name=name,
        version="1",
        system_prompt="Read every page of the topic, then say which page was the last.",
        model=settings,
        tools=(READ_PAGE.contract,),
        max_steps=READS + 2,
        review=ReviewPolicy(mode=ReviewMode.NEVER, sample_rate=0.0),
    )
    return AgentDefinition(spec=spec, input_model=Topic, tools=(READ_PAGE,))


def register(registry: AgentRegistry) -> None:
    registry.register(pages_agent(DROPPING, CompactionStrategy.DROP_OLDEST))
    registry.register(pages_agent(SUMMARIZING, CompactionStrategy.SUMMARIZE))
    registry.register(pages_agent(FAILING, CompactionStrategy.FAIL))

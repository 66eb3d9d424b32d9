"""Parallel: a trip planner asks three agents at once and gathers their answers.

The planner's model asks for the three calls in one step; their child runs run together (at most
four of a run's children at once), each with an equal share of what the planner's budget has
left, and their answers come back in the order asked.
"""

from pydantic import BaseModel, Field

from agentrun.agents.api import Agent, tool
from agentrun.agents.registry import ToolDefinition
from agentrun.contracts.agents import Budget

SCRIPTED = "scripted:scripted-1"


class Trip(BaseModel):
    city: str = Field(min_length=1, max_length=80, description="Where to.")
    nights: int = Field(ge=1, le=30, description="How many nights.")


class Plan(BaseModel):
    flight: str
    hotel: str
    weather: str


@tool
def flight_search(city: str) -> str:
    """The cheapest direct flight to a city."""
    return f"direct flight to {city}, departs 08:40"


@tool
def hotel_search(city: str, nights: int) -> str:
    """A central hotel with rooms free for the nights asked."""
    return f"Hotel Central {city}, {nights} nights"


@tool
def forecast(city: str) -> str:
    """The weather in a city for the coming days."""
    return f"dry and mild in {city}"


def _finder(name: str, description: str, search: ToolDefinition, args: dict[str, str]) -> Agent:
    tool_name = search.contract.name
    return Agent(
        name=name,
        model=SCRIPTED,
        instructions=f"{description} Answer in one line.",
        description=description,
        tools=[search],
        input_model=Trip,
        review="never",
        script=[
            {"tool": tool_name, "args": args},
            {"final": {"found": "{{tools." + tool_name + ".result}}"}},
        ],
    )


flights = _finder(
    "flight-finder", "Finds a flight to the trip's city.", flight_search, {"city": "{{input.city}}"}
)
hotels = _finder(
    "hotel-finder",
    "Finds a hotel for the trip.",
    hotel_search,
    {"city": "{{input.city}}", "nights": "{{input.nights}}"},
)
weather = _finder(
    "weather-reporter", "Says what the weather will be.", forecast, {"city": "{{input.city}}"}
)

TRIP = {"city": "{{input.city}}", "nights": "{{input.nights}}"}

planner = Agent(
    name="trip-planner",
    model=SCRIPTED,
    instructions="Ask the three finders at once, then put their answers together.",
    description="Plans a trip: flight, hotel and weather, asked in parallel.",
    tools=[flights.as_tool(), hotels.as_tool(), weather.as_tool()],
    input_model=Trip,
    output_model=Plan,
    example_input={"city": "Lisbon", "nights": 3},
    review="never",
    budget=Budget(max_tokens=20_000),
    script=[
        {
            "calls": [
                {"tool": "ask_flight_finder", "args": TRIP},
                {"tool": "ask_hotel_finder", "args": TRIP},
                {"tool": "ask_weather_reporter", "args": TRIP},
            ]
        },
        {
            "final": {
                "flight": "{{tools.ask_flight_finder.found}}",
                "hotel": "{{tools.ask_hotel_finder.found}}",
                "weather": "{{tools.ask_weather_reporter.found}}",
            }
        },
    ],
)

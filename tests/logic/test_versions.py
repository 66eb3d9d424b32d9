"""A version's snapshot, digest and field-level changes (pure: no store, no Temporal)."""

from agentrun.contracts.agents import AgentSpec, Budget
from agentrun.contracts.tools import ToolContract
from agentrun.logic.versions import changes, digest, snapshot

INPUT = {"type": "object", "properties": {"key": {"type": "string"}}}


def spec(**fields: object) -> AgentSpec:
    return AgentSpec.model_validate(
        {"name": "greeter", "version": "1", "system_prompt": "Hi."} | fields
    )


def tool(name: str, **fields: object) -> ToolContract:
    schema = {"type": "object"}
    return ToolContract.model_validate(
        {"name": name, "description": f"{name}.", "input_schema": schema, "output_schema": schema}
        | fields
    )


def test_digest_is_over_content_not_key_order_or_spacing() -> None:
    content = snapshot(spec(), INPUT, None)
    shuffled = dict(reversed(list(content.items())))
    assert digest(shuffled) == digest(content)
    assert digest(content).startswith("sha256:")
    assert len(digest(content)) == len("sha256:") + 64


def test_every_part_of_a_version_moves_its_digest() -> None:
    base = snapshot(spec(), INPUT, None)
    variants = [
        snapshot(spec(system_prompt="Hello."), INPUT, None),
        snapshot(spec(budget=Budget(max_cost_usd=2.0)), INPUT, None),
        snapshot(spec(tools=(tool("lookup"),)), INPUT, None),
        snapshot(spec(), {**INPUT, "required": ["key"]}, None),
        snapshot(spec(), INPUT, {"type": "object"}),
    ]
    digests = {digest(base), *(digest(v) for v in variants)}
    assert len(digests) == len(variants) + 1


def test_changes_name_each_changed_field_by_its_path() -> None:
    old = snapshot(spec(tools=(tool("lookup"), tool("refund"))), INPUT, None)
    new = snapshot(
        spec(
            system_prompt="Be brief.",
            budget=Budget(max_cost_usd=2.5),
            tools=(tool("audit"), tool("lookup", description="Look it up."), tool("refund")),
        ),
        INPUT,
        None,
    )
    found = changes(old, new)
    assert 'spec.system_prompt: "Hi." -> "Be brief."' in found
    assert any(line.startswith("spec.budget.max_cost_usd: ") and "2.5" in line for line in found)
    # Matched by name: the tool added in front is one added tool, not three changed ones.
    assert any(line.startswith("spec.tools[name=audit]: added ") for line in found)
    assert 'spec.tools[name=lookup].description: "lookup." -> "Look it up."' in found
    assert not any(line.startswith("spec.tools[name=refund]") for line in found)
    assert changes(old, old) == []


def test_a_long_changed_value_is_cut_with_its_length() -> None:
    long_prompt = "Answer the customer. " * 40
    (line,) = changes(
        snapshot(spec(), INPUT, None), snapshot(spec(system_prompt=long_prompt), INPUT, None)
    )
    assert line.startswith('spec.system_prompt: "Hi." -> "Answer the customer.')
    assert line.endswith(f"({len(long_prompt) + 2} chars)")
    assert len(line) < 160


def test_removed_fields_and_unnamed_lists_are_reported() -> None:
    old = snapshot(spec(reviewers=("ana", "bo")), INPUT, {"type": "object"})
    new = snapshot(spec(reviewers=("ana",)), INPUT, None)
    found = changes(old, new)
    assert 'spec.reviewers: ["ana", "bo"] -> ["ana"]' in found
    assert 'output_schema: {"type": "object"} -> null' in found

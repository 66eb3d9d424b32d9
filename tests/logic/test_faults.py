"""Which drill hits which attempt (pure): matching, rate and expiry."""

from datetime import UTC, datetime, timedelta

from agentrun.contracts.faults import FaultMode, FaultRule
from agentrun.logic.faults import fault_for, hits

NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)


def rule(**fields: object) -> FaultRule:
    base: dict[str, object] = {
        "fault_id": "f-00000001",
        "agent": "refund",
        "tool": "lookup_order",
        "mode": FaultMode.ERROR,
        "rate": 0.3,
        "created_by": "dana",
        "created_at": NOW,
    }
    return FaultRule.model_validate(base | fields)


def pick(
    rules: list[FaultRule], key: str = "run/1/0", attempt: int = 1, **call: str
) -> FaultRule | None:
    target = {"agent": "refund", "version": "2", "tenant_id": "acme", "tool": "lookup_order"} | call
    return fault_for(rules, idempotency_key=key, attempt=attempt, now=NOW, **target)


def test_the_rate_is_the_share_of_attempts_hit_and_each_draw_is_reproducible() -> None:
    drill = rule()
    draws = [hits(drill, f"run-{i}/1/0", 1) for i in range(20_000)]
    assert 0.28 < sum(draws) / len(draws) < 0.32
    assert hits(drill, "run-7/1/0", 1) == hits(drill, "run-7/1/0", 1)
    # Attempts draw apart: a retry is not doomed by its first attempt's draw.
    assert any(hits(drill, f"run-{i}/1/0", 1) != hits(drill, f"run-{i}/1/0", 2) for i in range(50))


def test_a_drill_hits_only_what_it_names_and_only_while_live() -> None:
    always = rule(rate=1.0)
    assert pick([always]) is always
    assert pick([always], tool="issue_refund") is None
    assert pick([always], agent="other") is None
    assert pick([rule(rate=1.0, version="3")]) is None
    assert pick([rule(rate=1.0, version="2", tenant_id="acme")]) is not None
    assert pick([rule(rate=1.0, tenant_id="globex")]) is None
    assert pick([rule(rate=1.0, until=NOW - timedelta(seconds=1))]) is None
    assert pick([rule(rate=1.0, until=NOW + timedelta(minutes=5))]) is not None

"""The labelled corpus: it is what the seeded generator writes, and the detectors meet targets.

Overall (micro) precision and recall must stay at 0.99 or more: the bar set when the red team's
gaps were closed (issue 17). Per-type floors sit a little under what was measured then (see the
Redaction table in docs/performance.md): the misses are a documented limit (a UK national
number with no phone keyword) and the false positives ids no detector can tell from a card
(Luhn-valid, in Visa's range).
"""

import json

import pytest
from bench.make_redaction_corpus import build
from bench.redaction import (
    CORPUS,
    TARGET_PRECISION,
    TARGET_RECALL,
    load_corpus,
    overall,
    score,
)

from agentrun.logic.redaction import EntityType

FLOORS: dict[EntityType, tuple[float, float]] = {  # (precision, recall)
    EntityType.EMAIL: (0.97, 0.97),
    EntityType.PHONE: (0.97, 0.90),
    EntityType.CARD: (0.90, 0.90),
    EntityType.IBAN: (0.97, 0.97),
    EntityType.SSN: (0.97, 0.97),
    EntityType.API_KEY: (0.97, 0.97),
    EntityType.JWT: (0.97, 0.97),
    EntityType.BEARER: (0.97, 0.97),
    EntityType.PASSWORD: (0.97, 0.97),
}


def test_committed_corpus_is_the_generators_output() -> None:
    lines = [json.loads(raw) for raw in CORPUS.read_text(encoding="utf-8").splitlines()]
    assert [(r["text"], [(e["type"], e["value"]) for e in r["entities"]]) for r in lines] == [
        (text, entities) for text, entities in build()
    ]


def test_corpus_is_large_and_covers_every_type() -> None:
    lines = load_corpus()
    assert len(lines) >= 600
    assert sum(1 for _, labels in lines if not labels) >= 150
    for kind in EntityType:
        assert sum(1 for _, labels in lines for k, _ in labels if k is kind) >= 25, kind
    for text, labels in lines:
        assert all(value in text for _, value in labels)


def test_overall_precision_and_recall_meet_the_targets() -> None:
    total = overall(score(load_corpus()))
    assert total.precision >= TARGET_PRECISION, (total.tp, total.findings)
    assert total.recall >= TARGET_RECALL, (total.tp, total.labels)
    assert (TARGET_PRECISION, TARGET_RECALL) >= (0.99, 0.99)  # lowering them is a decision


@pytest.mark.parametrize("kind", list(EntityType))
def test_precision_and_recall_floors(kind: EntityType) -> None:
    tally = score(load_corpus())[kind]
    precision, recall = FLOORS[kind]
    assert tally.precision >= precision, (tally.tp, tally.findings)
    assert tally.recall >= recall, (tally.tp, tally.labels)

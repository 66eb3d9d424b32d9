"""The screen's rates on the labelled corpus: the regression guard behind ``bench.injection``.

The whole corpus must keep detection at or above 0.90 with false positives at or below 0.05;
the ``fresh`` lines (never tuned on) are held to a looser floor, so that a change which only
fits the tuning lines shows up. The corpus file is generated: it must match its generator.
"""

import json
from pathlib import Path

import pytest
from bench.make_injection_corpus import build

from agentrun.logic.injection import screen_injection, screened_text

CORPUS = Path(__file__).resolve().parents[2] / "data" / "injection_corpus.jsonl"


@pytest.fixture(scope="module")
def lines() -> list[dict[str, str]]:
    return [json.loads(raw) for raw in CORPUS.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def flagged(lines: list[dict[str, str]]) -> list[bool]:
    return [screen_injection(screened_text(line["text"])) is not None for line in lines]


def _rate(lines: list[dict[str, str]], flagged: list[bool], label: str, subset: str = "") -> float:
    chosen = [
        hit
        for line, hit in zip(lines, flagged, strict=True)
        if line["label"] == label and (not subset or line.get("set", "tuning") == subset)
    ]
    return sum(chosen) / len(chosen)


def test_the_committed_corpus_is_what_the_generator_writes(lines: list[dict[str, str]]) -> None:
    assert lines == build()


def test_the_corpus_is_large_and_varied(lines: list[dict[str, str]]) -> None:
    attacks = [line for line in lines if line["label"] == "attack"]
    benign = [line for line in lines if line["label"] == "benign"]
    assert len(attacks) >= 300
    assert len(benign) >= 150
    families = {line["family"] for line in attacks}
    assert families >= {
        "override", "role", "system_prompt", "exfiltration", "hidden", "encoded", "obfuscated",
        "multilingual", "split", "role_spoof", "tool_call",
    }  # fmt: skip
    assert len({line["lang"] for line in attacks} - {"en"}) >= 4
    assert len({line["lang"] for line in benign} - {"en"}) >= 4


def test_detection_and_false_positives_meet_the_target(
    lines: list[dict[str, str]], flagged: list[bool]
) -> None:
    assert _rate(lines, flagged, "attack") >= 0.90
    assert _rate(lines, flagged, "benign") <= 0.05


def test_lines_never_tuned_on_keep_a_floor(
    lines: list[dict[str, str]], flagged: list[bool]
) -> None:
    """Measured at 13/32 attacks and 0/26 benign when written; a tripwire's honest rate."""
    assert _rate(lines, flagged, "attack", "fresh") >= 0.35
    assert _rate(lines, flagged, "benign", "fresh") <= 0.10


def test_every_family_is_mostly_caught(lines: list[dict[str, str]], flagged: list[bool]) -> None:
    families: dict[str, list[bool]] = {}
    for line, hit in zip(lines, flagged, strict=True):
        if line["label"] == "attack" and line.get("set", "tuning") == "tuning":
            families.setdefault(line["family"], []).append(hit)
    low = {f: sum(h) / len(h) for f, h in families.items() if sum(h) / len(h) < 0.85}
    assert not low, low

"""The overhead table: on the terminal, as a history breakdown, and between docs/performance.md
markers.

That section is regenerated rather than edited by hand so that published figures always come
from one complete run of the benchmark, with the settings that produced them beside them.
"""

import operator
from collections.abc import Callable
from dataclasses import dataclass

from bench._measure import HistoryStats

X = "\N{MULTIPLICATION SIGN}"

PEERS = (
    ("pydantic-ai's Temporal integration", f"0.56{X}", f"7.7{X}"),
    ("the OpenAI Agents SDK's Temporal integration", f"0.64{X}", f"2.6{X}"),
)


@dataclass(frozen=True)
class Row:
    name: str
    agentrun: float
    bare: float
    decimals: int = 0
    # (comparison, limit) on the ratio agentrun/bare; None for figures shown for context only.
    target: tuple[str, float] | None = None

    @property
    def ratio(self) -> float:
        return self.agentrun / self.bare if self.bare else float("inf")

    @property
    def ok(self) -> bool | None:
        if self.target is None:
            return None
        compare: Callable[[float, float], bool] = (
            operator.ge if self.target[0] == "≥" else operator.le
        )
        return compare(round(self.ratio, 2), self.target[1])

    def cells(self) -> list[str]:
        target = f"{self.target[0]} {self.target[1]:.2f}{X}" if self.target else "—"
        verdict = {None: "", True: "PASS", False: "MISS"}[self.ok]
        return [
            self.name,
            f"{self.agentrun:,.{self.decimals}f}",
            f"{self.bare:,.{self.decimals}f}",
            f"{self.ratio:.2f}{X}",
            target,
            verdict,
        ]


HEADER = ["figure", "agentrun", "bare Temporal", "agentrun/bare", "target", "result"]


def text_table(rows: list[Row]) -> str:
    lines = [HEADER, *(row.cells() for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(HEADER))]
    out = []
    for n, line in enumerate(lines):
        out.append("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)))
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def peers_text() -> str:
    lines = ["Peers on the same task (reported in the issue, not measured here):"]
    lines += [
        f"  {name}: {tp} bare throughput, {hb} bare history bytes, bare's event count"
        for name, tp, hb in PEERS
    ]
    return "\n".join(lines)


def breakdown_text(ours: HistoryStats, bare: HistoryStats) -> str:
    """Events, bytes and worker time per run by event kind, largest byte difference first.

    This is where overhead sits: extra events, bigger payloads, slower workflow tasks or
    activities. Time is shown for workflow tasks (started to completed) and activities.
    """
    kinds = set(ours.by_kind) | set(bare.by_kind)
    zero = [0, 0, 0]

    def cell(values: list[int]) -> str:
        ms = f"{values[2] / 1000:5.1f} ms" if values[2] else ""
        return f"{values[0]:>3} ev {values[1]:>6} B {ms:>8}"

    def diff(kind: str, i: int) -> int:
        return ours.by_kind.get(kind, zero)[i] - bare.by_kind.get(kind, zero)[i]

    head = f"{'event kind (per run)':<44} {'agentrun':^24} {'bare':^24} {'Δ bytes':>8} {'Δ ms':>6}"
    lines = [head, "-" * len(head)]
    lines.extend(
        f"{kind[:44]:<44} {cell(ours.by_kind.get(kind, zero))} "
        f"{cell(bare.by_kind.get(kind, zero))} {diff(kind, 1):>+8} {diff(kind, 2) / 1000:>+6.1f}"
        for kind in sorted(kinds, key=lambda k: (-abs(diff(k, 1)), k))
    )
    total_ms = [sum(v[2] for v in side.by_kind.values()) / 1000 for side in (ours, bare)]
    lines.append(
        f"{'total':<44} {ours.events:>3} ev {ours.bytes:>6} B {total_ms[0]:5.1f} ms "
        f"{bare.events:>3} ev {bare.bytes:>6} B {total_ms[1]:5.1f} ms "
        f"{ours.bytes - bare.bytes:>+8} {total_ms[0] - total_ms[1]:>+6.1f}"
    )
    return "\n".join(lines)


def markdown_section(rows: list[Row], settings: str) -> str:
    lines = [
        "| " + " | ".join(HEADER) + " |",
        "|" + "---|" * len(HEADER),
        *("| " + " | ".join(row.cells()) + " |" for row in rows),
    ]
    peers = [
        f"- {name}: {tp} bare throughput, {hb} bare history bytes, bare's event count"
        for name, tp, hb in PEERS
    ]
    return "\n".join(
        [
            (
                "Overhead of an agentrun run of the refund agent (5 tool calls, 6 model calls, "
                "scripted model) against a bare Temporal workflow running the same 11 activities "
                "with the same tool arguments and results, in the same process and server."
            ),
            "",
            settings,
            "",
            *lines,
            "",
            "For context, reported in the issue for the same task (not measured here):",
            "",
            *peers,
            "",
            "Reproduce with `python -m bench.overhead --write-docs`.",
        ]
    )

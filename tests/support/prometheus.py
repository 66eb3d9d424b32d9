"""Reading a worker's Prometheus endpoint in tests: a free port to bind it to, and its samples."""

import re
import urllib.request

from agentrun.cli.devserver import free_port

__all__ = ["Samples", "free_port", "scrape", "total", "value"]

SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][\w:]*)(?:\{(?P<labels>[^}]*)\})? (?P<value>\S+)$")
Samples = list[tuple[str, dict[str, str], float]]


def scrape(port: int) -> Samples:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    samples = []
    for line in text.splitlines():
        match = SAMPLE.match(line)
        if match and not line.startswith("#"):
            labels = dict(re.findall(r'(\w+)="([^"]*)"', match["labels"] or ""))
            samples.append((match["name"], labels, float(match["value"])))
    return samples


def value(samples: Samples, name: str, **labels: str) -> float | None:
    """The sum of ``name``'s samples with these labels; None when it has none."""
    found = [v for n, lab, v in samples if n == name and labels.items() <= lab.items()]
    return sum(found) if found else None


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of ``name``'s samples with these labels; 0 when it has none."""
    return value(samples, name, **labels) or 0.0

"""Deterministic orchestration. No I/O, clocks, randomness or env reads outside workflow APIs."""

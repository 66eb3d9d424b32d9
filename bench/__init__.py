"""Benchmarks that compare agentrun with plain Temporal code doing the same work on the same server.

They live outside the package so that nothing in production imports them, and they measure against
a hand-written baseline because a platform's cost is only meaningful relative to what the same
work costs without it.
"""

"""Pure decision logic: deterministic, I/O-free, called from workflows and unit-tested alone."""

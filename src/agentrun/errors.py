"""The one base class of errors a person can fix from their message alone.

A bad setting, an unreachable store, an unknown agent, a refused review: each is an expected
condition, and its message says what is wrong and where. The CLI prints such an error as one
``error:`` line; anything else reaching it is a bug, reported as such. Layers raise their own
subclasses, so this module imports nothing.
"""


class UserError(Exception):
    """An expected condition, explained by its message (one line, naming the field or thing)."""

"""Activities: all I/O of a run (agent resolution, model calls, tools, conversation store)."""

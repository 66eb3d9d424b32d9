"""Agent definitions: the registry and the sample agents shipped with agentrun."""

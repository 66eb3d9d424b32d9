"""agentrun: durable AI-agent runs on Temporal."""

__version__ = "0.1.0"

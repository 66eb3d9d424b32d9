"""Alembic environment of the run record store; applied only by ``agentrun.store.migrate``."""

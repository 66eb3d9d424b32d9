"""Processes and wiring: settings, worker, client, CLI, embedded dev server."""

"""Payload encryption: the AES-256-GCM codec and its keyring (``cipher``, ``keys``), and the
codec server that lets the Temporal Web UI and CLI read encrypted payloads (``server``, with its
browser login in ``login``). Nothing is imported here: the server needs aiohttp, and the settings
only need the keyring's validators."""

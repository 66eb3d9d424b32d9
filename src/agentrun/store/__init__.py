"""The run record store: a relational copy of every run, tool call, model call and review.

Temporal history is the source of truth while a run lives; this store keeps the queryable record
and a tamper-evident audit trail after history is gone. Nothing here touches a database until a
caller hands it an engine or a session, and the schema changes only through ``migrate.upgrade``.
"""

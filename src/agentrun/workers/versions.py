"""A worker publishes the agent versions it serves, so a version stays one snapshot for good.

The first worker to serve ``name@version`` records its snapshot; every later one must serve the
same content, or it does not start: its runs would be recorded under a version that means
something else. Workers without a store publish nothing (they keep no record to refer to it).
"""

from collections.abc import Callable
from datetime import UTC, datetime

import structlog
from sqlmodel import Session

from agentrun.agents.registry import AgentDefinition, AgentRegistry
from agentrun.errors import UserError
from agentrun.logic.versions import snapshot
from agentrun.store.versions import Published, VersionConflictError, publish

log = structlog.get_logger(__name__)


class VersionRefusedError(UserError):
    pass


def published(definition: AgentDefinition) -> Published:
    spec = definition.spec
    output = definition.output_model.model_json_schema() if definition.output_model else None
    content = snapshot(spec, definition.input_model.model_json_schema(), output)
    return Published(name=spec.name, version=spec.version, content=content)


def publish_versions(sessions: Callable[[], Session], registry: AgentRegistry) -> list[str]:
    """Record the registry's versions; a version recorded with other content stops the worker."""
    try:
        added = publish(sessions, map(published, registry.definitions()), datetime.now(UTC))
    except VersionConflictError as err:
        raise VersionRefusedError(str(err)) from None
    if added:
        log.info("agent versions published", versions=",".join(added))
    return added

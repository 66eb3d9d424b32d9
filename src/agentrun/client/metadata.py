"""What the client writes beside a run, and how it finds runs again.

The memo is how a second start with the same ``request_id`` tells a retry (same request: the
same run) from a reuse (different request: refused). The details are what the Web UI shows
under "details" for the run, fixed at start. The visibility query finds runs by the search
attributes the run keeps up to date.
"""

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from agentrun.client.errors import AgentRunError
from agentrun.contracts.names import AGENT_RUN_WORKFLOW, SA_AGENT_NAME, SA_AGENT_STATE, SA_TENANT_ID
from agentrun.contracts.runs import RunRequest
from agentrun.contracts.states import RunState

# What makes two starts with one request_id the same request (RunRequest field -> the name a
# conflict is reported by). Not the grant: a retry may carry a freshly signed one.
IDEMPOTENT_FIELDS = {
    "agent": "agent",
    "version": "version",
    "input": "input",
    "tenant_id": "tenant",
    "user_id": "user",
    "budget": "budget",
    "model": "model",
}
MEMO_DIGEST = "request_digest"
# The visibility status of an execution that continued as new (docs/lifecycle.md).
CONTINUED = "'ContinuedAsNew'"
MEMO_FIELDS = "request_fields"


def _digest(value: object) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def request_memo(request: RunRequest) -> dict[str, Any]:
    """What a later start with the same request_id is compared with: a digest of the whole
    request, and short ones per field so a conflict can say which field differs."""
    # Through pydantic's JSON: what it cannot encode raises PydanticSerializationError here, as
    # the start itself would, and start() names the field.
    fields = json.loads(request.model_dump_json(include=set(IDEMPOTENT_FIELDS)))
    return {
        MEMO_DIGEST: _digest(fields),
        MEMO_FIELDS: {name: _digest(fields[key])[:16] for key, name in IDEMPOTENT_FIELDS.items()},
    }


def differing_fields(memo: Mapping[str, Any], request: RunRequest) -> list[str]:
    """The fields in which ``request`` is not the request the memo was written for; none for
    the same request, and none for a run without our memo (another client started it: there is
    nothing to compare, so it counts as the same)."""
    if MEMO_DIGEST not in memo:
        return []
    mine = request_memo(request)
    if memo[MEMO_DIGEST] == mine[MEMO_DIGEST]:
        return []
    theirs = memo.get(MEMO_FIELDS)
    if not isinstance(theirs, dict):
        return list(IDEMPOTENT_FIELDS.values())
    differ = [name for name, digest in mine[MEMO_FIELDS].items() if theirs.get(name) != digest]
    return differ or list(IDEMPOTENT_FIELDS.values())


def _markdown(text: str) -> str:
    """Caller-given text shown as itself in the UI's Markdown, never as formatting."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~])", r"\\\1", text)


def static_details(request: RunRequest, request_id: str) -> str:
    """Who asked for what, in the Markdown the Web UI renders."""
    version = f"version {_markdown(request.version)}" if request.version else "default version"
    return "\n".join(
        [
            f"- **agent**: {_markdown(request.agent)} ({version})",
            f"- **tenant**: {_markdown(request.tenant_id)}",
            f"- **user**: {_markdown(request.user_id)}",
            f"- **request id**: {_markdown(request_id)}",
        ]
    )


def _quote(value: str) -> str:
    if "'" in value or "\\" in value:
        raise AgentRunError(f"invalid filter value {value!r}")
    return f"'{value}'"


def runs_query(
    *, states: Sequence[RunState] = (), agent: str | None = None, tenant_id: str | None = None
) -> str:
    """A visibility query over our search attributes; values are validated, never spliced raw."""
    # A run that continued as new is one run: only its latest execution is listed.
    parts = [f"WorkflowType = {_quote(AGENT_RUN_WORKFLOW)}", f"ExecutionStatus != {CONTINUED}"]
    if states:
        parts.append(
            f"{SA_AGENT_STATE.name} IN ({', '.join(_quote(RunState(s).value) for s in states)})"
        )
    if agent:
        parts.append(f"{SA_AGENT_NAME.name} = {_quote(agent)}")
    if tenant_id:
        parts.append(f"{SA_TENANT_ID.name} = {_quote(tenant_id)}")
    return " AND ".join(parts)

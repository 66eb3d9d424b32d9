"""Governance events of a run: policy decisions, refused review decisions and the input's trust
labels (docs/governance.md).

Each is an audit event: a run keeps them in its status (so they are in history and replay the
same), and the record writes them with the rest of the run, once each (key: run id, event id).
"""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

GovernanceKind = Literal["policy_decision", "review_refused", "input_labels"]


class GovernanceEvent(BaseModel):
    # Unique within the run: the decision's position in the run ("p3"), or for a decision the
    # workflow never saw (an update its validator refused) the update's id.
    event_id: str
    kind: GovernanceKind
    at: datetime
    reason: str
    checkpoint: str | None = None
    verdict: str | None = None
    rule_id: str | None = None
    policy_id: str | None = None
    policy_version: str | None = None
    policy_digest: str | None = None
    # Who acted: the reviewer a refused decision named, or the tool a decision was about.
    actor: str | None = None
    tool: str | None = None

"""What the codec-server tests share: the UI's request shape, payload JSON, keys in a real store."""

from datetime import UTC, datetime
from typing import Any

from google.protobuf import json_format
from sqlalchemy import Engine
from temporalio.api.common.v1 import Payload

from agentrun.store.db import session_factory
from agentrun.store.keys import create_api_key, revoke_key

UI_ORIGIN = "http://localhost:8233"
K1 = bytes(range(32))
K2 = bytes(range(1, 33))
SECRET_TEXT = '{"iban": "DE89 3704 0044 0532 0130 00"}'


def ui_headers(key: str | None, origin: str = UI_ORIGIN) -> dict[str, str]:
    """What the Web UI's fetch sends (data-encoder.ts), plus the Origin the browser adds."""
    headers = {"Content-Type": "application/json", "X-Namespace": "default", "Origin": origin}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    return headers


def as_json(payloads: list[Payload]) -> dict[str, Any]:
    return {"payloads": [json_format.MessageToDict(p) for p in payloads]}


def from_json(body: dict[str, Any]) -> list[Payload]:
    return [json_format.ParseDict(p, Payload()) for p in body["payloads"]]


class Keys:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        with session_factory(engine)() as session:
            self.operator, _ = create_api_key(session, name="ops", role="operator", tenant="acme")
            self.admin, _ = create_api_key(session, name="root", role="admin", tenant="*")
            self.reviewer, _ = create_api_key(session, name="rev", role="reviewer", tenant="acme")
            self.revoked, info = create_api_key(session, name="gone", role="operator", tenant="x")
            revoke_key(session, info.key_id, now=datetime.now(UTC))
            session.commit()

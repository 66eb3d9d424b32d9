"""A worker setup that requires signed grants, and runs started under a runner's start grant."""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from agentrun.client import AgentRunClient
from agentrun.contracts import RunRequest
from agentrun.contracts.identity import ApiKeyInfo, Role
from agentrun.settings import Settings
from agentrun.signing import SigningKey, init_signing_key, mint_start_grant, signing_dir
from agentrun.store.db import make_engine, session_factory
from agentrun.store.keys import create_api_key
from tests.conftest import TEST_AGENT_MODULES
from tests.support.store import migrate_data_dir

TTL = timedelta(minutes=10)


@dataclass
class SignedSetup:
    settings: Settings
    url: str
    key: SigningKey
    # By label: each holder's API key secret and its record.
    secrets: dict[str, str]
    holders: dict[str, ApiKeyInfo]


def signed_setup(
    data_dir: Path, queue_prefix: str, holders: Iterable[tuple[str, str, Role, str]]
) -> SignedSetup:
    """A migrated store with a signing key and API keys for ``holders`` (label, name, role,
    tenant), and the settings of a worker over it that requires signed grants."""
    url = migrate_data_dir(data_dir)
    settings = Settings(
        data_dir=data_dir,
        agent_modules=TEST_AGENT_MODULES,
        task_queue=f"{queue_prefix}-{uuid.uuid4().hex[:8]}",
        auth_required=True,
    )
    key = init_signing_key(signing_dir(settings))
    secrets, infos = {}, {}
    engine = make_engine(url)
    with session_factory(engine)() as session, session.begin():
        for label, name, role, tenant in holders:
            secrets[label], infos[label] = create_api_key(
                session, name=name, role=role, tenant=tenant
            )
    engine.dispose()
    return SignedSetup(settings, url, key, secrets, infos)


async def start_signed(
    runs: AgentRunClient, key: SigningKey, runner: ApiKeyInfo, request: RunRequest
) -> str:
    """Start ``request`` carrying a start grant minted now for ``runner``."""
    grant = mint_start_grant(key, runner, request=request, now=datetime.now(UTC), ttl=TTL)
    return await runs.start(request.model_copy(update={"grant": grant}))

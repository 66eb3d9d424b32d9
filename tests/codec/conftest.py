"""Fixtures of the codec server's tests (HTTP API and browser login)."""

from collections.abc import Iterator

import pytest

from agentrun.codec.cipher import EncryptionCodec, Keyring
from agentrun.store.db import make_engine
from tests.support.codec_http import K1, K2, Keys
from tests.support.store import migrate_data_dir


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Keys]:
    url = migrate_data_dir(tmp_path_factory.mktemp("codec-store"))
    engine = make_engine(url)
    yield Keys(engine)
    engine.dispose()


@pytest.fixture
def codec() -> EncryptionCodec:
    return EncryptionCodec(Keyring({"k1": K1, "k2": K2}, "k2"))

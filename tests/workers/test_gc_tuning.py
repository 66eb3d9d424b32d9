"""The worker entrypoint's GC settings (process-wide: restored after each test)."""

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentrun.settings import Settings
from agentrun.workers.worker import tune_gc


@pytest.fixture
def restore_gc() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


@pytest.mark.usefixtures("restore_gc")
def test_tuning_freezes_start_up_objects_and_raises_the_young_threshold(tmp_path: Path) -> None:
    gc.unfreeze()
    _, older, oldest = gc.get_threshold()
    tune_gc(Settings(data_dir=tmp_path, gc_threshold=20_000))
    assert gc.get_threshold() == (20_000, older, oldest)
    assert gc.get_freeze_count() > 1000  # the modules and objects start-up built


@pytest.mark.usefixtures("restore_gc")
def test_zero_leaves_the_collector_alone(tmp_path: Path) -> None:
    gc.unfreeze()
    before = gc.get_threshold()
    tune_gc(Settings(data_dir=tmp_path, gc_threshold=0))
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_a_negative_threshold_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="gc_threshold"):
        Settings(data_dir=tmp_path, gc_threshold=-1)

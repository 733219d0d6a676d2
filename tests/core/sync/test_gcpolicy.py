"""Generation-0 collections are rarer while syncs run, and the thresholds come back after."""

from __future__ import annotations

import gc

import pytest

from core.sync.gcpolicy import SYNC_THRESHOLD, sync_collection


def test_threshold_is_raised_while_any_sync_runs_and_restored_after_the_last() -> None:
    before = gc.get_threshold()
    with sync_collection():
        assert gc.get_threshold() == (SYNC_THRESHOLD, *before[1:])
        with sync_collection():  # a second, concurrent sync
            assert gc.get_threshold()[0] == SYNC_THRESHOLD
        assert gc.get_threshold()[0] == SYNC_THRESHOLD  # the first still runs
    assert gc.get_threshold() == before


def test_restored_when_the_sync_raises_and_left_off_when_collection_is_off() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), sync_collection():
        raise RuntimeError
    assert gc.get_threshold() == before
    gc.set_threshold(0)
    try:
        with sync_collection():
            assert gc.get_threshold()[0] == 0
    finally:
        gc.set_threshold(*before)

"""core.startup: a command's imports run without the cyclic collector, then are frozen."""

from __future__ import annotations

import gc

from core.startup import quiet_imports


def test_the_collector_is_off_inside_then_on_again_with_the_heap_frozen() -> None:
    assert gc.isenabled()
    gc.unfreeze()
    try:
        with quiet_imports():
            assert not gc.isenabled()
            kept = [[] for _ in range(10)]
        assert gc.isenabled()
        assert gc.get_freeze_count() > len(kept)
    finally:
        gc.unfreeze()


def test_a_disabled_collector_stays_disabled() -> None:
    gc.disable()
    try:
        with quiet_imports():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
        gc.unfreeze()

"""core.startup: a command's imports run without the cyclic collector, then are frozen,
and without the modules no crmkpi process uses."""

from __future__ import annotations

import gc
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import core.startup
from core.startup import quiet_imports, skip_unused_modules


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


def test_an_unused_module_is_not_imported_and_one_already_imported_stays(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(core.startup, "UNUSED_MODULES", ("tests_unused_module", "json"))
    monkeypatch.delitem(sys.modules, "tests_unused_module", raising=False)
    try:
        skip_unused_modules()
        with pytest.raises(ModuleNotFoundError):
            importlib.import_module("tests_unused_module")
        assert sys.modules["json"] is json
    finally:
        sys.modules.pop("tests_unused_module", None)


def test_the_libraries_fall_back_when_their_unused_modules_are_skipped() -> None:
    """httpx and mako (through alembic) import, with their own fallbacks, in a process of
    its own (this one has imported both modules already)."""
    script = (
        "import sys\n"
        "from core.startup import skip_unused_modules\n"
        "skip_unused_modules()\n"
        "import httpx, alembic.command, mako.exceptions\n"
        "print(httpx.main.__module__, mako.exceptions.pygments_html_formatter,"
        " 'pygments.lexers.python' in sys.modules, 'click' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert done.stdout.split() == ["httpx", "None", "False", "False"]

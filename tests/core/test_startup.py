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


#: Renders one logged exception through crmkpi's processors (core.logging) in each format,
#: the timestamp left out; run in a process of its own, its start-up quiet or not.
_RENDER = """
import json, sys
quiet = sys.argv[1] == "quiet"
if quiet:
    from core.startup import quiet_imports
    with quiet_imports():
        import core.logging
else:
    import core.logging
import structlog, structlog.dev

PROBE = '''
def render(fmt, tty):
    sys.stderr.isatty = lambda: tty
    core.logging.configure_logging("INFO", fmt)
    chain = [p for p in structlog.get_config()["processors"]
             if not isinstance(p, structlog.processors.TimeStamper)]
    try:
        raise ValueError("boom api_token=s3cret")
    except ValueError:
        event = {"event": "sync.failed", "exc_info": True, "connection": "c1"}
        for processor in chain:
            event = processor(None, "error", event)
    return event
'''
scope = {"sys": sys, "core": core, "structlog": structlog}
exec(compile(PROBE, "<probe>", "exec"), scope)
formats = [(fmt, tty) for fmt in ("console", "json") for tty in (False, True)]
lines = {f"{fmt}-{tty}": scope["render"](fmt, tty) for fmt, tty in formats}
import rich.console  # still importable after the start-up
print(json.dumps({"rich": structlog.dev.rich is not None, "lines": lines}))
"""


def test_structlog_without_rich_renders_the_same_lines() -> None:
    """The quiet start-up imports structlog without rich (core.startup.OPTIONAL_DEPENDENCIES),
    and crmkpi's log lines, an exception's included, come out exactly as with rich."""
    reports = {}
    for mode in ("quiet", "plain"):
        done = subprocess.run(
            [sys.executable, "-c", _RENDER, mode],
            env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        reports[mode] = json.loads(done.stdout.strip().splitlines()[-1])
    assert reports["quiet"]["rich"] is False and reports["plain"]["rich"] is True
    assert reports["quiet"]["lines"] == reports["plain"]["lines"]
    line = reports["quiet"]["lines"]["console-True"]
    assert "ValueError: boom api_token=***" in line and "s3cret" not in line
    assert "\x1b[" in line  # colours on a terminal


@pytest.mark.parametrize("before", ["absent", "imported", "skipped"])
def test_a_dependency_is_hidden_only_while_its_user_imports(
    before: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "probe_user.py").write_text(
        "try:\n    import probe_dep\nexcept ImportError:\n    probe_dep = None\n"
    )
    (tmp_path / "probe_dep.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("probe_user", "probe_dep"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    if before == "imported":
        dep = importlib.import_module("probe_dep")
    elif before == "skipped":
        monkeypatch.setitem(sys.modules, "probe_dep", None)
    try:
        core.startup.import_without("probe_user", "probe_dep")
        assert sys.modules["probe_user"].probe_dep is None
        if before == "imported":
            assert sys.modules["probe_dep"] is dep
        elif before == "skipped":
            assert sys.modules["probe_dep"] is None
        else:
            assert "probe_dep" not in sys.modules
            assert importlib.import_module("probe_dep").__name__ == "probe_dep"
    finally:
        sys.modules.pop("probe_user", None)
        sys.modules.pop("probe_dep", None)

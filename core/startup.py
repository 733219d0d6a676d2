"""A command's start-up: its imports without the cyclic garbage collector, then frozen, and
without the modules libraries import eagerly that no crmkpi process uses (or that only
serve features crmkpi never asks of them: structlog's rich).

Why: importing what ``crmkpi sync`` needs (SQLAlchemy and the models, httpx, pydantic)
allocates about a million objects that live as long as the process. The collector ran
some 250 times over them while they were created and freed nothing: 0.1 CPU-s, about a
sixth of the process's start-up. Frozen afterwards (``gc.freeze``), they are not walked
again by the full collections of the work that follows either. Unlike a served app's
lifespan (``api.app.freeze_startup_heap``), nothing is collected first: the cyclic garbage
imports leave is little, and a full collection of that heap costs what is saved.
"""

from __future__ import annotations

import gc
import importlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager

#: Modules a library imports eagerly that crmkpi never uses, each with a fallback of the
#: library's own when its import fails:
#: - ``httpx._main``, httpx's command-line client (click, pygments, rich's progress bars),
#:   imported whenever those are installed (typer and rich make them); httpx then defines
#:   a stub ``httpx.main``. 11 ms of CPU in every process.
#: - ``mako.ext.pygmentplugin``, syntax highlighting for mako's HTML error pages, imported
#:   by ``mako.exceptions`` (alembic imports it) whenever pygments is installed; it builds
#:   pygments' Python lexers, some 60 ms of CPU in a process that imports alembic. mako
#:   then escapes the source its HTML error page shows instead of highlighting it; alembic
#:   renders migration scripts with mako and reports their errors as text, never as that
#:   page.
UNUSED_MODULES = ("httpx._main", "mako.ext.pygmentplugin")


#: Libraries that import an optional dependency when it is installed only for features
#: crmkpi's configuration never asks of them, each imported first with that dependency
#: hidden (:func:`import_without`):
#: - ``structlog`` imports rich (with pygments' lexers, and attrs through ``rich.pretty``)
#:   to render exceptions (``structlog.dev``'s default exception formatter) and the locals
#:   of dict tracebacks (``structlog.tracebacks``): about 40 ms of CPU in every process.
#:   crmkpi's processors format an exception as text before the renderer
#:   (``format_exc_info``, core.logging), so ConsoleRenderer prints that text and never
#:   calls its formatter, and crmkpi has no dict tracebacks. structlog without rich then
#:   falls back to its plain formatter; the lines it renders are the same. rich itself
#:   stays importable by the commands that print with it.
OPTIONAL_DEPENDENCIES = (("structlog", "rich"),)


def import_without(module: str, dependency: str) -> None:
    """Import ``module`` with ``dependency`` hidden (its import raises ModuleNotFoundError,
    the library's own fallback applies), then make ``dependency`` importable again. A
    ``module`` already imported is left as it is."""
    if module in sys.modules:
        return
    absent = dependency not in sys.modules
    hidden = sys.modules.get(dependency)
    sys.modules[dependency] = None  # type: ignore[assignment]
    try:
        importlib.import_module(module)
    finally:
        if absent:
            del sys.modules[dependency]
        else:
            sys.modules[dependency] = hidden  # type: ignore[assignment]


def skip_unused_modules() -> None:
    """Make the imports of :data:`UNUSED_MODULES` fail, before anything imports them.

    A ``None`` entry in ``sys.modules`` is the import system's documented way to make an
    import raise ``ModuleNotFoundError`` (the library's own fallback then applies). A
    module already imported is left as it is.
    """
    for name in UNUSED_MODULES:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]


@contextmanager
def quiet_imports() -> Iterator[None]:
    """The collector off for the block (nothing it holds is garbage: imports), then on
    again if it was, and every object alive then frozen into the permanent generation.
    The modules no crmkpi process uses are skipped (:func:`skip_unused_modules`), and the
    libraries of :data:`OPTIONAL_DEPENDENCIES` are imported without what they do not need."""
    skip_unused_modules()
    enabled = gc.isenabled()
    gc.disable()
    try:
        for module, dependency in OPTIONAL_DEPENDENCIES:
            import_without(module, dependency)
        yield
    finally:
        if enabled:
            gc.enable()
        gc.freeze()

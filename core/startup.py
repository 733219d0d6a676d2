"""A command's start-up: its imports without the cyclic garbage collector, then frozen, and
without the modules libraries import eagerly that no crmkpi process uses.

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
    The modules no crmkpi process uses are skipped (:func:`skip_unused_modules`)."""
    skip_unused_modules()
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
        gc.freeze()

"""A command's start-up: its imports without the cyclic garbage collector, then frozen.

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
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def quiet_imports() -> Iterator[None]:
    """The collector off for the block (nothing it holds is garbage: imports), then on
    again if it was, and every object alive then frozen into the permanent generation."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
        gc.freeze()

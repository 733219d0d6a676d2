"""The event loop a crmkpi process runs its commands on: uvloop where it is installed.

Why: a sync is a long run of small reads and writes on a few sockets (the CRM, the
database), where asyncio's pure-Python selector loop is a tenth of the process's CPU; uvloop
(libuv, the loop uvicorn already serves the API on) runs the same callbacks for about half
of that, which measured 7% of a HubSpot first load's CPU. Where uvloop is not available
(Windows, PyPy) or ``CRMKPI_EVENT_LOOP=asyncio`` asks for the standard loop (to rule the
loop out while debugging), asyncio's own runs; nothing in crmkpi depends on which.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

#: The environment variable that asks for asyncio's own loop instead of uvloop.
LOOP_VARIABLE = "CRMKPI_EVENT_LOOP"


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop constructor, or None for asyncio's default loop."""
    if os.environ.get(LOOP_VARIABLE, "").strip().lower() == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def run(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(coro)`` on the loop :func:`loop_factory` picks."""
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(coro)

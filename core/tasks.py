"""Stopping a helper task (a prefetching producer, a lease renewer, a poller) from the task
that started it.

Why not ``task.cancel()`` then ``with suppress(CancelledError): await task``: that also
swallows a cancellation of the *caller* that arrives while it waits (a sync cancelled during
its clean-up), which then carries on as if nothing had asked it to stop. Here the wait is
``asyncio.wait``, which raises only the caller's own cancellation; the helper's expected
cancellation is read from the task afterwards, not caught.
"""

from __future__ import annotations

import asyncio
from typing import Any


async def stop_task(task: asyncio.Task[Any]) -> None:
    """Cancel ``task`` and wait until it has ended. An error it ended with is raised; so is
    a cancellation of the calling task that arrives while it waits."""
    task.cancel()
    await asyncio.wait((task,))
    if not task.cancelled() and (error := task.exception()) is not None:
        raise error

"""Per-record reads issued concurrently, results in input order.

Pipedrive offers no bulk source for some reads (a deal's flow, a lead by id): one request
each. Issued one after another, a first load is bound by round trips; a few in flight
make it bound by the account's rate allowance instead (the engine's shared limiter paces
every send, so concurrency never exceeds the budget). Results come back in input order so
a stream can commit its cursor record by record.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: Per-record reads in flight at once: enough to keep Pipedrive's burst window (80
#: requests per 2 s on the Professional plan: one every 25 ms) busy when an answer takes
#: half a second, few enough to keep memory and a cancelled run's wasted reads small. The
#: limiter, not this number, sets the pace (12 left the allowance a quarter unused once
#: answers slowed down under load).
IN_FLIGHT = 24


async def ordered_map(
    items: Iterable[T], fetch: Callable[[T], Awaitable[R]], limit: int = IN_FLIGHT
) -> AsyncIterator[tuple[T, R]]:
    """``(item, await fetch(item))`` for each item in order, at most ``limit`` fetches in
    flight. An error is raised when its item's turn comes; the reads still in flight are
    cancelled when the consumer stops early or a read fails."""
    pending: deque[tuple[T, asyncio.Future[R]]] = deque()
    try:
        for item in items:
            pending.append((item, asyncio.ensure_future(fetch(item))))
            if len(pending) >= limit:
                first, task = pending.popleft()
                yield first, await task
        while pending:
            first, task = pending.popleft()
            yield first, await task
    finally:
        for _, task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*(task for _, task in pending), return_exceptions=True)

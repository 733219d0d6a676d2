"""The account's window budgets shared by every worker process, through PostgreSQL.

DESIGN.md wants one limiter per CRM account "shared by all streams and workers of that
account". In one process :class:`~core.sync.ratelimit.RateLimiter` is that limiter; with
several worker processes each would allow the whole allowance. On PostgreSQL every
request start is therefore also recorded in the account's ``rate_budgets`` row: a
sliding-window log of start times (database clock, so the processes' clocks do not
matter), read and written under the row's lock, so two processes can never both take the
last slot of a window. A request that finds the window full waits until its oldest start
leaves it and tries again. SQLite runs one worker process: it needs none of this.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

#: A worker that cannot get the row within this time fails its request rather than hang.
_LOCK_TIMEOUT = text("SET LOCAL lock_timeout = '10s'")
_CREATE = text(
    "INSERT INTO rate_budgets (account_key, budget, starts) VALUES (:key, :budget, '[]') "
    "ON CONFLICT (account_key, budget) DO NOTHING"
)
_LOCK = text(
    "SELECT starts, extract(epoch from clock_timestamp()) AS now FROM rate_budgets "
    "WHERE account_key = :key AND budget = :budget FOR UPDATE"
)
_SAVE = text(
    "UPDATE rate_budgets SET starts = CAST(:starts AS jsonb) "
    "WHERE account_key = :key AND budget = :budget"
)


class SharedWindows:
    """The window budgets of one account, shared through the ``rate_budgets`` table."""

    def __init__(self, engine: AsyncEngine, account_key: str) -> None:
        self.engine = engine
        self.account_key = account_key
        #: Database time of the last start this process was granted (diagnostics, tests).
        self.last_granted: float | None = None

    async def try_start(self, budget: str, requests: int, span: float) -> float:
        """Count one request start in ``budget`` (at most ``requests`` per ``span``
        seconds) and return 0, or return the seconds to wait before trying again.

        The transaction is shielded: a caller cancelled half-way (a stream ending while
        its next page is prefetched) must not leave the row locked behind it.
        """
        return await asyncio.shield(self._try_start(budget, requests, span))

    async def _try_start(self, budget: str, requests: int, span: float) -> float:
        key = {"key": self.account_key, "budget": budget}
        async with self.engine.begin() as conn:
            await conn.execute(_LOCK_TIMEOUT)
            row = (await conn.execute(_LOCK, key)).one_or_none()
            if row is None:
                await conn.execute(_CREATE, key)
                row = (await conn.execute(_LOCK, key)).one()
            now = float(row.now)
            starts = [float(s) for s in row.starts if float(s) > now - span]
            if len(starts) >= requests:
                return max(starts[len(starts) - requests] + span - now, 0.001)
            starts.append(now)
            await conn.execute(_SAVE, {**key, "starts": _json(starts)})
        self.last_granted = now
        return 0.0


def _json(numbers: list[float]) -> str:
    return "[" + ",".join(repr(n) for n in numbers) + "]"

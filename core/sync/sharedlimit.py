"""The account's window budgets shared by every worker process, through PostgreSQL.

DESIGN.md wants one limiter per CRM account "shared by all streams and workers of that
account". In one process :class:`~core.sync.ratelimit.RateLimiter` is that limiter; with
several worker processes each would allow the whole allowance. On PostgreSQL the request
starts are therefore also recorded in the account's ``rate_budgets`` row: a sliding-window
log of start times (database clock, so the processes' clocks do not matter), read and
written under the row's lock, so two processes can never both take the last slot of a
window. A request that finds the window full waits until its oldest start leaves it and
tries again. SQLite runs one worker process: it needs none of this.

Leases: one statement per request cost a sync a database transaction per page, so a
process takes several slots at once (a lease, :func:`lease_size`) and spends them within
its life (:func:`lease_life`, counted from before the transaction began); what is left
then is dropped. The log records a lease's slots at the *end* of its life: every request
really starts at or before its recorded time. A new lease is granted when the slots
recorded after ``now - span`` leave room for it (``span`` being the padded window). The
process's next statement settles its previous lease: its slots are replaced by the times
its requests really started (an upper bound in database time) and the unspent ones are
given back, so leasing costs the account neither slots nor window time.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

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
#: At most this many slots per lease: a process that stops early wastes no more.
MAX_LEASE = 50
#: The longest life of a lease, in seconds.
MAX_LIFE = 1.0


def lease_size(requests: int) -> int:
    """Slots taken per statement: a tenth of the allowance (several processes then still
    share a window finely), at least 1 and at most :data:`MAX_LEASE`."""
    return max(1, min(requests // 10, MAX_LEASE))


def lease_life(per_seconds: float) -> float:
    """Seconds a lease may be spent in: half the window, at most :data:`MAX_LIFE`."""
    return min(MAX_LIFE, per_seconds / 2)


@dataclass(slots=True)
class _Lease:
    """Slots granted at database time ``granted_at``, recorded at ``recorded``."""

    granted: int
    granted_at: float
    recorded: float
    #: ``time.monotonic()`` before the transaction that granted it, and the end of its life.
    began: float
    until: float
    #: ``time.monotonic()`` of each start spent from it.
    spent: list[float]

    def settlement(self) -> tuple[float, int, list[float]]:
        """(recorded time, slots recorded, database times the spent starts are at or before):
        a start at local time ``t`` happened ``t - began`` after a moment no later than
        ``granted_at``."""
        real = [min(self.recorded, self.granted_at + (t - self.began)) for t in self.spent]
        return self.recorded, self.granted, real


#: (recorded time, slots recorded, what really started) of the previous lease.
_Settlement = tuple[float, int, list[float]]


class SharedWindows:
    """The window budgets of one account, shared through the ``rate_budgets`` table."""

    def __init__(self, engine: AsyncEngine, account_key: str) -> None:
        self.engine = engine
        self.account_key = account_key
        #: Database time of the last lease this process was granted (diagnostics, tests).
        self.last_granted: float | None = None
        #: Statements run on the shared rows (tests, statistics).
        self.statements = 0
        self._leases: dict[str, _Lease] = {}
        self._lock = asyncio.Lock()

    async def take(self, budget: str, requests: int, span: float, per_seconds: float) -> float:
        """Count one request start in ``budget`` (at most ``requests`` per ``per_seconds``,
        ``span`` being that window padded) and return 0, or the seconds to wait before
        trying again. Spends the process's lease, taking a new one when it is used up."""
        async with self._lock:
            lease = self._leases.get(budget)
            now = time.monotonic()
            if lease is not None and len(lease.spent) < lease.granted and now < lease.until:
                lease.spent.append(now)
                return 0.0
            life = lease_life(per_seconds)
            settle = lease.settlement() if lease is not None else None
            granted, wait = await self.try_lease(
                budget, requests, span, lease_size(requests), life, settle
            )
            self._leases.pop(budget, None)  # settled
            if granted:
                assert self.last_granted is not None
                # This start is made after the grant: spent now, not when it was asked for.
                spent = [time.monotonic()]
                self._leases[budget] = _Lease(
                    granted, self.last_granted, self.last_granted + life, now, now + life, spent
                )
            return wait

    async def try_start(self, budget: str, requests: int, span: float) -> float:
        """One slot, no lease: 0, or the seconds to wait before trying again."""
        return (await self.try_lease(budget, requests, span, 1, 0.0))[1]

    async def try_lease(
        self,
        budget: str,
        requests: int,
        span: float,
        size: int,
        life: float,
        settle: _Settlement | None = None,
    ) -> tuple[int, float]:
        """Settle the previous lease (if given), then take up to ``size`` slots to spend
        within ``life`` seconds: (slots granted, 0), or (0, seconds to wait) when the
        window is full.

        The transaction is shielded: a caller cancelled half-way (a stream ending while
        its next page is prefetched) must not leave the row locked behind it.
        """
        return await asyncio.shield(self._try_lease(budget, requests, span, size, life, settle))

    async def _try_lease(
        self,
        budget: str,
        requests: int,
        span: float,
        size: int,
        life: float,
        settle: _Settlement | None,
    ) -> tuple[int, float]:
        key = {"key": self.account_key, "budget": budget}
        async with self.engine.begin() as conn:
            self.statements += 1
            await conn.execute(_LOCK_TIMEOUT)
            row = (await conn.execute(_LOCK, key)).one_or_none()
            if row is None:
                await conn.execute(_CREATE, key)
                row = (await conn.execute(_LOCK, key)).one()
            now = float(row.now)
            starts = [float(s) for s in row.starts]
            if settle is not None:
                starts = _settled(starts, *settle)
            starts = sorted(s for s in starts if s > now - span)
            room = requests - len(starts)
            granted = max(0, min(size, room))
            starts.extend([now + life] * granted)
            if granted or settle is not None:
                await conn.execute(_SAVE, {**key, "starts": _json(starts)})
            if not granted:
                return 0, max(starts[len(starts) - requests] + span - now, 0.001)
        self.last_granted = now
        return granted, 0.0


def _settled(starts: list[float], recorded: float, count: int, real: list[float]) -> list[float]:
    """``starts`` with ``count`` slots recorded at ``recorded`` replaced by ``real``. Slots
    are bare times: whichever process's slot at that time is removed, the log is the same."""
    kept = []
    for start in starts:
        if count and start == recorded:
            count -= 1
            continue
        kept.append(start)
    return kept + real


def _json(numbers: list[float]) -> str:
    return "[" + ",".join(repr(n) for n in numbers) + "]"

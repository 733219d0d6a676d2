"""Rate-limit test helpers: a fake clock (sleeping advances time instead of waiting), the
engine's HTTP policy around one connector on that clock, and limiters on it for whole runs."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from core.sync.connector import Connector, RateLimitPolicy
from core.sync.http import RetryPolicy, SyncHttp
from core.sync.ratelimit import RateLimiter, RateLimiters


class FakeClock:
    """Monotonic and wall time that move only when someone sleeps (or ``advance`` is called)."""

    def __init__(self, wall: float = 1_700_000_000.0) -> None:
        self.now = 0.0
        self.wall_start = wall
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def wall(self) -> float:
        return self.wall_start + self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def limited_http(
    connector: Connector,
    clock: FakeClock,
    base_url: str,
    credentials: Mapping[str, str],
) -> SyncHttp:
    """``SyncHttp`` for ``connector`` whose limiter runs on ``clock`` (respx mocks the CRM)."""
    limiter = RateLimiter(
        connector.rate_limit, clock=clock.monotonic, sleep=clock.sleep, wall=clock.wall
    )
    return SyncHttp(
        client=httpx.AsyncClient(),
        connector=connector,
        credentials=credentials,
        base_url=base_url,
        limiter=limiter,
        retry=RetryPolicy(attempts=3, base=0.001, cap=0.002),
    )


class RecordingLimiter(RateLimiter):
    """A limiter on a :class:`FakeClock` that notes the (fake) time of every start it grants."""

    def __init__(self, policy: RateLimitPolicy, clock: FakeClock) -> None:
        super().__init__(policy, clock=clock.monotonic, sleep=clock.sleep, wall=clock.wall)
        self.granted: list[float] = []

    async def acquire(self, budgets: Iterable[str] = ()) -> None:
        await super().acquire(budgets)
        # Nothing awaited since the grant (no shared windows): the clock has not moved.
        self.granted.append(self.clock())


class FakeClockLimiters(RateLimiters):
    """What a run's ``SyncOptions.limiters`` hands out: one :class:`RecordingLimiter` per
    account on ``clock``, never shared through the database (that would wait in real time).
    So a test reads the limiter's decisions instead of timing the requests."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__()
        self.clock = clock
        self.by_account: dict[str, RecordingLimiter] = {}

    def get(
        self, account_key: str, policy: RateLimitPolicy, engine: AsyncEngine | None = None
    ) -> RateLimiter:
        limiter = self.by_account.get(account_key)
        if limiter is None or limiter.policy != policy:
            limiter = self.by_account[account_key] = RecordingLimiter(policy, self.clock)
        return limiter

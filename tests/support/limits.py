"""Rate-limit test helpers: a fake clock (sleeping advances time instead of waiting) and
the engine's HTTP policy around one connector on that clock."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import httpx

from core.sync.connector import Connector
from core.sync.http import RetryPolicy, SyncHttp
from core.sync.ratelimit import RateLimiter


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

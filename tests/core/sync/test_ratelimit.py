"""The shared rate limiter: window allowance, CRM quota headers, pauses."""

from __future__ import annotations

import asyncio
import time

from core.sync.connector import RateLimitPolicy
from core.sync.ratelimit import RateLimiter, RateLimiters, parse_reset


async def test_at_most_requests_per_window_and_the_whole_allowance_is_used() -> None:
    limiter = RateLimiter(RateLimitPolicy(requests=10, per_seconds=0.5))
    started = time.monotonic()
    stamps: list[float] = []

    async def call() -> None:
        await limiter.acquire()
        stamps.append(time.monotonic() - started)

    await asyncio.gather(*(call() for _ in range(25)))
    stamps.sort()
    assert sum(1 for s in stamps if s < 0.45) == 10  # the first window: exactly its allowance
    assert all(b - a >= 0.5 - 0.02 for a, b in zip(stamps, stamps[10:], strict=False))
    assert stamps[-1] < 1.3  # no more waiting than the windows require


async def test_exhausted_quota_header_pauses_until_reset() -> None:
    policy = RateLimitPolicy(100, 10.0, remaining_header="x-remaining", reset_header="x-reset")
    limiter = RateLimiter(policy)
    limiter.observe({"x-remaining": "5", "x-reset": "1"})
    started = time.monotonic()
    await limiter.acquire()
    assert time.monotonic() - started < 0.05
    limiter.observe({"x-remaining": "0", "x-reset": "0.3"})
    await limiter.acquire()
    assert time.monotonic() - started >= 0.3


def test_parse_reset_accepts_delays_and_epochs() -> None:
    assert parse_reset("2", now=1_700_000_000) == 2
    assert parse_reset("1700000005", now=1_700_000_000) == 5
    assert parse_reset("1700000005000", now=1_700_000_000) == 5
    assert parse_reset("soon") is None


async def test_one_limiter_per_account() -> None:
    limiters = RateLimiters()
    policy = RateLimitPolicy(5, 1.0)
    assert limiters.get("hubspot:1", policy) is limiters.get("hubspot:1", policy)
    assert limiters.get("hubspot:1", policy) is not limiters.get("hubspot:2", policy)

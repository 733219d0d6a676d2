"""The daily allowance: count, pace before the end, stop at the reserve, roll over."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from core.sync.connector import DAILY_BUDGET, DailyBudget, QuotaReading, RateLimitPolicy
from core.sync.daily import seconds_to_utc_midnight
from core.sync.errors import QuotaExhausted
from core.sync.ratelimit import RateLimiter
from tests.support.limits import FakeClock

POLICY = RateLimitPolicy(1000, 1.0, daily=DailyBudget(reserve=0.1, slow_below=0.1, max_delay=5))


def limiter_on(clock: FakeClock, policy: RateLimitPolicy = POLICY) -> RateLimiter:
    return RateLimiter(policy, clock=clock.monotonic, sleep=clock.sleep, wall=clock.wall)


def daily(
    remaining: float, limit: float | None = 1000, reset_in: float | None = None
) -> list[QuotaReading]:
    return [QuotaReading(DAILY_BUDGET, remaining, limit=limit, reset_in=reset_in)]


async def test_no_pacing_while_plenty_is_left() -> None:
    clock = FakeClock()
    limiter = limiter_on(clock)
    limiter.record(daily(900, reset_in=100))
    for _ in range(20):
        await limiter.acquire()
    assert clock.now == 0.0
    assert limiter.daily is not None and limiter.daily.remaining == 880


async def test_paces_the_rest_over_the_time_to_reset() -> None:
    clock = FakeClock()
    limiter = limiter_on(clock)
    limiter.record(daily(150, reset_in=100))  # 50 usable above the reserve of 100
    await limiter.acquire()
    await limiter.acquire()
    assert clock.now == pytest.approx(100 / 49)  # 49 usable left after the first
    limiter.record(daily(101, reset_in=1000))  # 1 usable: spread, but never over max_delay
    await limiter.acquire()
    assert clock.now == pytest.approx(100 / 49 + 5)


async def test_stops_at_the_reserve_with_a_clear_message() -> None:
    clock = FakeClock()
    limiter = limiter_on(clock)
    limiter.record(daily(103, reset_in=7200))
    for _ in range(3):
        await limiter.acquire()
    with pytest.raises(QuotaExhausted, match=r"100 left of 1000, 100 kept in reserve"):
        await limiter.acquire()
    with pytest.raises(QuotaExhausted, match=r"resumes from its saved cursors.*2\.0 h"):
        limiter.check()


async def test_a_reading_of_zero_stops_even_without_a_known_limit() -> None:
    limiter = limiter_on(FakeClock(), RateLimitPolicy(10, 1.0, daily=DailyBudget()))
    await limiter.acquire()
    limiter.record(daily(0, limit=None))
    with pytest.raises(QuotaExhausted, match="0 left"):
        await limiter.acquire()


async def test_unknown_until_the_crm_reports_it() -> None:
    clock = FakeClock()
    limiter = limiter_on(clock, RateLimitPolicy(1000, 1.0, daily=DailyBudget(limit=10)))
    for _ in range(30):
        await limiter.acquire()  # no reading yet: nothing to count down from
    limiter.record(daily(1, limit=None))  # the configured limit gives the reserve (1)
    with pytest.raises(QuotaExhausted, match="1 left of 10, 1 kept in reserve"):
        await limiter.acquire()


async def test_the_stop_lifts_after_the_reset() -> None:
    clock = FakeClock()
    limiter = limiter_on(clock)
    limiter.record(daily(100, reset_in=60))
    with pytest.raises(QuotaExhausted):
        await limiter.acquire()
    clock.advance(61)
    await limiter.acquire()
    assert limiter.daily is not None and limiter.daily.remaining is None


def test_next_utc_midnight() -> None:
    at = datetime(2026, 11, 25, 23, 0, tzinfo=UTC).timestamp()
    assert seconds_to_utc_midnight(at) == 3600


async def test_window_budgets_and_daily_pacing_together() -> None:
    clock = FakeClock()
    limiter = limiter_on(clock, RateLimitPolicy(2, 1.0, daily=DailyBudget(reserve=0)))
    limiter.record(daily(10_000))

    async def call() -> None:
        await limiter.acquire()

    await asyncio.gather(*(call() for _ in range(4)))
    assert clock.now == pytest.approx(1.05)


async def test_without_a_reported_reset_the_stop_lifts_at_utc_midnight() -> None:
    clock = FakeClock(wall=datetime(2026, 11, 25, 23, 0, tzinfo=UTC).timestamp())
    limiter = limiter_on(clock)
    limiter.record(daily(50))
    with pytest.raises(QuotaExhausted, match=r"about 1\.0 h"):
        await limiter.acquire()
    clock.advance(3600)
    await limiter.acquire()


async def test_a_new_run_asks_the_crm_again_after_a_stop() -> None:
    clock = FakeClock()
    limiter = limiter_on(clock)
    limiter.record(daily(500))
    limiter.new_run()  # plenty left: the figure is kept
    assert limiter.daily is not None and limiter.daily.remaining == 500
    limiter.record(daily(100))
    with pytest.raises(QuotaExhausted):
        await limiter.acquire()
    limiter.new_run()
    await limiter.acquire()  # one request to learn the new figure
    limiter.record(daily(100))
    with pytest.raises(QuotaExhausted):
        await limiter.acquire()

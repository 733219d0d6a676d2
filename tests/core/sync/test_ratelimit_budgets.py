"""Named budgets and CRM readings of the limiter, on a fake clock (nothing really sleeps)."""

from __future__ import annotations

import asyncio
from collections import Counter
from itertools import pairwise

import pytest

from core.sync.connector import DEFAULT_BUDGET, Budget, QuotaReading, RateLimitPolicy
from core.sync.ratelimit import PACE_SLACK, RateLimiter
from tests.support.limits import FakeClock

SEARCH = RateLimitPolicy(100, 10.0, budgets=(Budget("search", 5, 1.0),))


def limiter_on(clock: FakeClock, policy: RateLimitPolicy) -> RateLimiter:
    return RateLimiter(policy, clock=clock.monotonic, sleep=clock.sleep, wall=clock.wall)


async def starts(limiter: RateLimiter, clock: FakeClock, n: int, *budgets: str) -> list[float]:
    stamps: list[float] = []

    async def call() -> None:
        await limiter.acquire(budgets)
        stamps.append(clock.now)

    await asyncio.gather(*(call() for _ in range(n)))
    return sorted(stamps)


async def test_single_window_policy_keeps_its_allowance_per_window() -> None:
    clock = FakeClock()
    limiter = limiter_on(clock, RateLimitPolicy(requests=10, per_seconds=0.5))
    stamps = await starts(limiter, clock, 25)
    assert stamps[:10] == [0.0] * 10
    # any window of 0.5 s (padded) holds at most 10 starts, and no start waits longer
    assert all(b - a >= 0.5 for a, b in zip(stamps, stamps[10:], strict=False))
    assert stamps[10] == pytest.approx(0.5 * 1.03 + 0.02)


async def test_search_requests_draw_from_both_budgets() -> None:
    clock = FakeClock()
    limiter = limiter_on(clock, SEARCH)
    stamps = await starts(limiter, clock, 12, "search")
    per_second = [sum(1 for s in stamps if int(s // 1.05) == i) for i in range(3)]
    assert per_second == [5, 5, 2]
    assert all(b - a >= 1.0 for a, b in zip(stamps, stamps[5:], strict=False))
    # the search budget's waits do not hold back plain requests once searches are done
    before = clock.now
    plain = await starts(limiter, clock, 20)
    assert plain == [before] * 20


async def test_plain_requests_are_not_limited_by_the_search_budget() -> None:
    clock = FakeClock()
    limiter = limiter_on(clock, SEARCH)
    assert await starts(limiter, clock, 50) == [0.0] * 50
    # ... but they count in the default budget that searches also draw from
    stamps = await starts(limiter, clock, 51, "search")
    assert stamps[50] >= 10.0


async def test_a_budget_the_policy_does_not_declare_does_not_limit() -> None:
    clock = FakeClock()
    limiter = limiter_on(clock, RateLimitPolicy(100, 10.0))
    assert await starts(limiter, clock, 12, "search") == [0.0] * 12


async def test_empty_budget_reading_pauses_only_that_budget() -> None:
    clock = FakeClock()
    limiter = limiter_on(clock, SEARCH)
    limiter.record([QuotaReading("search", 0, reset_in=3.0)])
    assert await starts(limiter, clock, 3) == [0.0] * 3
    assert await starts(limiter, clock, 1, "search") == [3.0]


async def test_empty_default_budget_without_reset_waits_a_window() -> None:
    clock = FakeClock()
    limiter = limiter_on(clock, SEARCH)
    limiter.record([QuotaReading(DEFAULT_BUDGET, 0)])
    assert await starts(limiter, clock, 1) == [10.0]


async def test_legacy_remaining_header_still_pauses_until_reset() -> None:
    clock = FakeClock()
    policy = RateLimitPolicy(100, 10.0, remaining_header="x-remaining", reset_header="x-reset")
    limiter = limiter_on(clock, policy)
    limiter.observe({"x-remaining": "5", "x-reset": "1"})
    assert await starts(limiter, clock, 1) == [0.0]
    limiter.observe({"x-remaining": "0", "x-reset": "2"})
    assert await starts(limiter, clock, 1) == [2.0]
    limiter.observe({"x-remaining": "none"})
    assert await starts(limiter, clock, 1) == [2.0]


async def test_retry_after_pause_holds_every_budget() -> None:
    clock = FakeClock()
    limiter = limiter_on(clock, SEARCH)
    limiter.pause(4.0)
    assert await starts(limiter, clock, 1) == [4.0]
    assert limiter.waited == pytest.approx(4.0)


async def test_a_paced_policy_spreads_the_window_evenly() -> None:
    clock = FakeClock()
    policy = RateLimitPolicy(requests=10, per_seconds=1.0, paced=True)
    limiter = limiter_on(clock, policy)
    stamps = await starts(limiter, clock, 30)
    span = 1.0 * 1.03 + 0.02
    # a few may go at once (the slack that lets a late caller catch up), never a
    # window's worth; between those, one per interval (the window's share of one)
    assert max(Counter(stamps).values()) == PACE_SLACK + 1
    gaps = {round(b - a, 6) for a, b in pairwise(stamps) if b > a}
    assert round(span / 10, 6) == min(gaps)
    # still the whole allowance: 10 per padded window, and no more
    assert all(b - a >= 1.0 for a, b in zip(stamps, stamps[10:], strict=False))
    assert stamps[-1] < 3 * span


async def test_requests_sent_after_an_answer_count_against_its_remaining_figure() -> None:
    clock = FakeClock()
    policy = RateLimitPolicy(80, 2.0, remaining_header="x-left", reset_header="x-reset")
    limiter = limiter_on(clock, policy)
    tickets = [await limiter.acquire() for _ in range(10)]
    # the first request's answer says 9 more fit, but 9 were sent after it: none fit
    limiter.observe({"x-left": "9", "x-reset": "2"}, tickets[0])
    started = clock.now
    await limiter.acquire()
    assert clock.now - started == pytest.approx(2.0)
    # the last request's answer: its 5 are really left
    tickets = [await limiter.acquire() for _ in range(3)]
    limiter.observe({"x-left": "5", "x-reset": "2"}, tickets[-1])
    started = clock.now
    await limiter.acquire()
    assert clock.now == started

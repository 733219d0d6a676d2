"""The token bucket on its own, with a fake clock."""

from __future__ import annotations

from api.ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_bucket_allows_a_burst_then_refills_at_the_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(per_minute=120, burst=2, clock=clock)
    assert [limiter.acquire("k") for _ in range(2)] == [0.0, 0.0]
    assert limiter.acquire("k") == 0.5  # 2 tokens a second: the next one in 0.5 s
    clock.now += 0.5
    assert limiter.acquire("k") == 0.0
    assert limiter.acquire("other") == 0.0  # buckets are per identity


def test_buckets_are_bounded() -> None:
    limiter = RateLimiter(per_minute=60, burst=1, max_buckets=10, clock=Clock())
    for i in range(100):
        limiter.acquire(f"k{i}")
    assert len(limiter._buckets) == 10
    assert limiter.acquire("k0") == 0.0  # evicted, so it starts with a full bucket again

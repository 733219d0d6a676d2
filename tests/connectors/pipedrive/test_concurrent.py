"""ordered_map: per-record reads a few at a time, results in input order."""

from __future__ import annotations

import asyncio

import pytest

from connectors.pipedrive.concurrent import ordered_map


async def test_results_come_in_order_with_at_most_limit_in_flight() -> None:
    in_flight = peak = 0

    async def fetch(n: int) -> int:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.001 * (10 - n % 10))  # later items finish first
        in_flight -= 1
        return n * n

    out = [pair async for pair in ordered_map(range(40), fetch, limit=5)]
    assert out == [(n, n * n) for n in range(40)]
    assert peak == 5  # concurrent, and bounded


async def test_a_failure_raises_in_turn_and_cancels_the_reads_in_flight() -> None:
    started: list[int] = []
    cancelled: list[int] = []

    async def fetch(n: int) -> int:
        started.append(n)
        if n == 2:
            raise RuntimeError("boom")
        try:
            await asyncio.sleep(0.05 if n < 3 else 30)
        except asyncio.CancelledError:
            cancelled.append(n)
            raise
        return n

    got: list[int] = []
    with pytest.raises(RuntimeError, match="boom"):
        async for n, _ in ordered_map(range(10), fetch, limit=4):
            got.append(n)
    assert got == [0, 1]
    assert 3 in cancelled and min(cancelled) == 3  # in flight when 2 failed: not awaited
    assert max(started) <= 5  # never more than 4 ahead of the consumer

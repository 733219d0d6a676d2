"""The runner's stream scheduling (core.sync.runner._schedule): a stream that ends the run
by raising leaves no other stream running behind it."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from core.sync.runner import _schedule
from core.sync.runs import RunStats, StreamStats


class Crash(BaseException):
    """A worker dying mid-stream (not an error the runner may catch)."""


def _streams(*names: str) -> list[Any]:
    return [SimpleNamespace(name=n, depends_on=()) for n in names]


def _stats(streams: list[Any]) -> RunStats:
    return RunStats(streams={s.name: StreamStats(tables=[]) for s in streams})


async def test_a_raising_stream_cancels_the_one_in_flight_and_starts_no_other() -> None:
    streams = _streams("a", "b", "c", "d")
    started: list[str] = []
    cleaned: list[str] = []
    b_reading = asyncio.Event()

    async def run_one(stream: Any) -> None:
        started.append(stream.name)
        try:
            if stream.name == "a":
                await b_reading.wait()
                raise Crash
            b_reading.set()
            await asyncio.sleep(3600)  # a read that would outlive the run
        finally:
            cleaned.append(stream.name)

    with pytest.raises(Crash):
        await _schedule(streams, 2, run_one, _stats(streams))
    assert started == ["a", "b"] and sorted(cleaned) == ["a", "b"]
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert others == []  # nothing left to run after the run, nor to die with the loop
    await asyncio.sleep(0)
    assert started == ["a", "b"]  # c and d never start on the freed slot


async def test_a_cancelled_run_waits_for_its_streams_to_stop() -> None:
    streams = _streams("a", "b")
    cleaned: list[str] = []
    both = asyncio.Barrier(3)

    async def run_one(stream: Any) -> None:
        try:
            await both.wait()
            await asyncio.sleep(3600)
        finally:
            await asyncio.sleep(0)  # clean-up that itself awaits
            cleaned.append(stream.name)

    run = asyncio.ensure_future(_schedule(streams, 2, run_one, _stats(streams)))
    await both.wait()
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    assert sorted(cleaned) == ["a", "b"]

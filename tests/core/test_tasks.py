"""core.tasks.stop_task: a helper's own cancellation is absorbed, its errors and the
caller's own cancellation are not."""

from __future__ import annotations

import asyncio

import pytest

from core.tasks import stop_task


async def test_a_waiting_helper_is_cancelled_and_its_cancellation_absorbed() -> None:
    helper = asyncio.create_task(asyncio.sleep(60))
    await asyncio.sleep(0)
    await stop_task(helper)
    assert helper.cancelled()


async def test_an_error_the_helper_ends_with_is_raised() -> None:
    async def fails_on_cancel() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            raise LookupError("renewal failed") from None

    helper = asyncio.create_task(fails_on_cancel())
    await asyncio.sleep(0)
    with pytest.raises(LookupError, match="renewal failed"):
        await stop_task(helper)


async def test_a_cancellation_of_the_caller_while_it_waits_is_not_swallowed() -> None:
    """The helper takes a while to end; the caller is cancelled meanwhile. With
    ``suppress(CancelledError)`` around the wait, the caller would have returned normally."""
    ended = asyncio.Event()

    async def slow_to_end() -> None:
        try:
            await asyncio.sleep(60)
        finally:
            await asyncio.sleep(0.05)
            ended.set()

    helper = asyncio.create_task(slow_to_end())
    after_stop: list[str] = []

    async def caller() -> None:
        await asyncio.sleep(0)
        await stop_task(helper)
        after_stop.append("carried on")

    calling = asyncio.create_task(caller())
    await asyncio.sleep(0.01)  # the caller is waiting for the helper now
    calling.cancel()
    with pytest.raises(asyncio.CancelledError):
        await calling
    assert after_stop == []
    await ended.wait()
    assert helper.cancelled()


async def test_a_caller_already_cleaning_up_after_its_own_cancellation_still_waits() -> None:
    """What a lease's clean-up does: its task was cancelled, and in ``finally`` it stops the
    renewer, then goes on (releases the lease) - the earlier cancellation is not re-raised."""
    steps: list[str] = []

    async def caller() -> None:
        renewer = asyncio.create_task(asyncio.sleep(60))
        try:
            await asyncio.sleep(60)
        finally:
            await stop_task(renewer)
            steps.append("stopped")
            await asyncio.sleep(0)
            steps.append("released")

    calling = asyncio.create_task(caller())
    await asyncio.sleep(0.01)
    calling.cancel()
    with pytest.raises(asyncio.CancelledError):
        await calling
    assert steps == ["stopped", "released"]

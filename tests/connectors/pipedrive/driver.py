"""The shared stream driver (tests/support/driver.py), quarantining unmappable items as
the engine does, so Pipedrive tests can check which items a stream rejects."""

from __future__ import annotations

from core.sync.connector import Stream, StreamContext
from tests.support.driver import Http, Result, drive

__all__ = ["Http", "Result", "run_stream"]


async def run_stream(stream: Stream, http: Http, ctx: StreamContext) -> Result:
    return await drive(stream, ctx, http, quarantine=True)

"""Both event loops a crmkpi process may run on (core.eventloop): asyncio's own, and uvloop.

A test module that imports :func:`event_loop_policy` runs each of its async tests on both,
for code that talks to the loop's transports directly (core.netstream).
"""

from __future__ import annotations

import asyncio

import pytest
import uvloop


@pytest.fixture(params=["asyncio", "uvloop"])
def event_loop_policy(request: pytest.FixtureRequest) -> asyncio.AbstractEventLoopPolicy:
    """pytest-asyncio's hook for the loop of each test, parametrized over both loops."""
    if request.param == "uvloop":
        return uvloop.EventLoopPolicy()
    return asyncio.DefaultEventLoopPolicy()

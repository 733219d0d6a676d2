"""The account's windows shared by worker processes through PostgreSQL's rate_budgets."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from asyncio.subprocess import PIPE

from sqlalchemy.ext.asyncio import AsyncEngine

from core.sync.connector import DEFAULT_BUDGET, RateLimitPolicy
from core.sync.ratelimit import RateLimiters


async def test_two_workers_share_one_window_on_postgresql(engine: AsyncEngine) -> None:
    account = f"testcrm:{uuid.uuid4()}"
    policy = RateLimitPolicy(2, 0.5)
    # two registries stand for two worker processes (each has its own limiters)
    first = RateLimiters().get(account, policy, engine)
    second = RateLimiters().get(account, policy, engine)
    if engine.dialect.name != "postgresql":
        assert first.shared is None and second.shared is None  # SQLite: one worker process
        return
    await first.acquire()
    await second.acquire()
    assert first.waited == second.waited == 0
    await second.acquire()  # its own window has room, the account's has not
    assert second.waited > 0


async def test_a_full_shared_window_says_how_long_to_wait(engine: AsyncEngine) -> None:
    account = f"testcrm:{uuid.uuid4()}"
    limiter = RateLimiters().get(account, RateLimitPolicy(3, 1000.0), engine)
    if limiter.shared is None:
        assert engine.dialect.name == "sqlite"
        return
    shared = limiter.shared
    waits = [await shared.try_start(DEFAULT_BUDGET, 3, 1000.0) for _ in range(4)]
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert 990 < waits[3] <= 1000
    other = [await shared.try_start("search", 3, 1000.0) for _ in range(3)]
    assert other == [0.0, 0.0, 0.0]  # budgets are counted apart


async def test_two_processes_never_exceed_the_account_window(database_url: str) -> None:
    account = f"testcrm:{uuid.uuid4()}"
    requests, seconds, starts = 4, 0.5, 6
    args = [database_url, account, str(starts), str(requests), str(seconds)]
    children = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.core.sync.shared_worker", *args, stdout=PIPE
        )
        for _ in range(2)
    ]
    outputs = [json.loads((await child.communicate())[0]) for child in children]
    assert all(child.returncode == 0 for child in children)
    if database_url.startswith("sqlite"):
        assert outputs == [[None] * starts] * 2  # SQLite: nothing shared
        return
    granted = sorted(t for output in outputs for t in output)
    assert len(granted) == 2 * starts
    # in database time, any ``requests`` + 1 consecutive starts span more than the window
    assert all(b - a >= seconds for a, b in zip(granted, granted[requests:], strict=False))

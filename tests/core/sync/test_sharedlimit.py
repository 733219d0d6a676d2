"""The account's windows shared by worker processes through PostgreSQL's rate_budgets."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from asyncio.subprocess import PIPE

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from core.sync.connector import DEFAULT_BUDGET, RateLimitPolicy
from core.sync.ratelimit import RateLimiters
from core.sync.sharedlimit import _settled, lease_life, lease_size


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
    # 20 per 0.5 s: leases of 2 slots, spent within 0.25 s
    requests, seconds, starts = 20, 0.5, 30
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
    # any ``requests`` + 1 consecutive real starts of both processes span more than the window
    assert all(b - a >= seconds for a, b in zip(granted, granted[requests:], strict=False))


async def _log(engine: AsyncEngine, account: str) -> list[float]:
    async with engine.connect() as conn:
        query = text("SELECT starts FROM rate_budgets WHERE account_key = :k")
        return sorted((await conn.execute(query, {"k": account})).scalar_one())


async def test_a_process_leases_slots_and_settles_them_with_its_real_starts(
    engine: AsyncEngine,
) -> None:
    account = f"testcrm:{uuid.uuid4()}"
    limiter = RateLimiters().get(account, RateLimitPolicy(100, 10.0), engine)
    if limiter.shared is None:
        assert engine.dialect.name == "sqlite"
        return
    shared = limiter.shared
    assert lease_size(100) == 10 and lease_life(10.0) == 1.0
    for _ in range(25):
        await limiter.acquire()
    assert shared.statements == 3  # three leases of 10 slots for 25 starts
    assert shared.last_granted is not None
    starts = await _log(engine, account)
    # The current lease's slots are recorded at the end of its life; the two before were
    # settled by the next lease: replaced by the times their starts really happened.
    assert len(starts) == 30
    assert starts[-10:] == [shared.last_granted + 1.0] * 10
    assert starts[19] < shared.last_granted + 0.5


async def test_unspent_slots_of_an_expired_lease_are_given_back(engine: AsyncEngine) -> None:
    account = f"testcrm:{uuid.uuid4()}"
    limiter = RateLimiters().get(account, RateLimitPolicy(100, 0.2), engine)
    if limiter.shared is None:
        assert engine.dialect.name == "sqlite"
        return
    await limiter.acquire()
    await asyncio.sleep(lease_life(0.2) + 0.05)
    await limiter.acquire()  # the first lease's life is over: a new one
    assert limiter.shared.statements == 2
    # 10 slots of the new lease, and of the first lease only the one start really made
    assert len(await _log(engine, account)) == 11


def test_settling_replaces_a_lease_by_its_real_starts() -> None:
    log = [1.0, 5.0, 5.0, 5.0, 3.0]
    assert sorted(_settled(log, 5.0, 2, [4.2])) == [1.0, 3.0, 4.2, 5.0]
    assert sorted(_settled(log, 9.0, 2, [])) == sorted(log)  # nothing of it left: unchanged

"""A worker process of test_sharedlimit: takes N starts of one account's shared window and
prints, as JSON, when each request could really start (epoch seconds: the processes run on
one machine, so their clocks agree), or nulls when nothing is shared (SQLite)."""

from __future__ import annotations

import asyncio
import json
import sys
import time

from core.db import create_engine
from core.sync.connector import RateLimitPolicy
from core.sync.ratelimit import RateLimiters


async def main(url: str, account: str, starts: int, requests: int, seconds: float) -> None:
    engine = create_engine(url)
    limiter = RateLimiters().get(account, RateLimitPolicy(requests, seconds), engine)
    granted: list[float | None] = []
    for _ in range(starts):
        await limiter.acquire()
        granted.append(time.time() if limiter.shared else None)
    await engine.dispose()
    print(json.dumps(granted))


if __name__ == "__main__":
    url, account, starts, requests, seconds = sys.argv[1:6]
    asyncio.run(main(url, account, int(starts), int(requests), float(seconds)))

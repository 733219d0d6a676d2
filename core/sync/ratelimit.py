"""One rate limiter per CRM account, shared by every stream and task that calls it.

The limiter is a sliding-window log: it lets at most ``requests`` calls start in any window
of ``per_seconds``, which keeps a client under a fixed-window server limit as well, and
lets a steady caller use the whole allowance. On top of that the CRM's own accounting wins:
a response saying no quota remains (``remaining_header`` = 0), or a 429's Retry-After,
pauses every caller of the account until the reset. Limiters live in a
:class:`RateLimiters` registry keyed by ``Connector.account_key``; the process-wide
:data:`DEFAULT_LIMITERS` is what the runner uses unless told otherwise.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Mapping

from core.sync.connector import RateLimitPolicy

#: A ``reset`` header above this is an epoch timestamp (s or ms), not a delay.
_EPOCH_SECONDS = 1_000_000_000


def parse_reset(value: str | None, now: float | None = None) -> float | None:
    """Seconds until a rate-limit reset given as delay seconds, epoch seconds or epoch ms."""
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    now = time.time() if now is None else now
    if number > _EPOCH_SECONDS * 1000:
        return max(0.0, number / 1000 - now)
    if number > _EPOCH_SECONDS:
        return max(0.0, number - now)
    return max(0.0, number)


class RateLimiter:
    """Sliding-window limiter with a pause that any caller can extend (Retry-After)."""

    def __init__(self, policy: RateLimitPolicy) -> None:
        self.policy = policy
        #: Requests reach the CRM with some jitter after they leave: the window is padded
        #: a little (3% + 20 ms) so that the CRM's own count never sees one too many.
        self.margin = 0.03 * policy.per_seconds + 0.02
        self._starts: deque[float] = deque()
        self._paused_until = 0.0
        self._lock = asyncio.Lock()
        #: Seconds callers spent waiting, for run statistics.
        self.waited = 0.0

    async def acquire(self) -> None:
        """Wait until one more request may start, then count it."""
        async with self._lock:
            while True:
                now = time.monotonic()
                delay = self._paused_until - now
                window = self.policy.per_seconds + self.margin
                while self._starts and self._starts[0] <= now - window:
                    self._starts.popleft()
                if delay <= 0 and len(self._starts) >= self.policy.requests:
                    delay = self._starts[0] + window - now
                if delay <= 0:
                    self._starts.append(now)
                    return
                self.waited += delay
                await asyncio.sleep(delay)

    def pause(self, seconds: float) -> None:
        """Hold every caller back for ``seconds`` (a 429's Retry-After, an exhausted quota)."""
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    def observe(self, headers: Mapping[str, str]) -> None:
        """Obey the quota the CRM reports: no quota left means wait for its reset."""
        name = self.policy.remaining_header
        if not name or name not in headers:
            return
        try:
            remaining = float(headers[name])
        except ValueError:
            return
        if remaining > 0:
            return
        reset = parse_reset(headers.get(self.policy.reset_header or ""), None)
        self.pause(reset if reset is not None else self.policy.per_seconds)


class RateLimiters:
    """Limiters by account key: the same account always gets the same limiter."""

    def __init__(self) -> None:
        self._limiters: dict[tuple[int, str], RateLimiter] = {}

    def get(self, account_key: str, policy: RateLimitPolicy) -> RateLimiter:
        """The account's limiter (per event loop: asyncio primitives belong to one loop)."""
        key = (id(asyncio.get_running_loop()), account_key)
        limiter = self._limiters.get(key)
        if limiter is None or limiter.policy != policy:
            limiter = self._limiters[key] = RateLimiter(policy)
        return limiter


DEFAULT_LIMITERS = RateLimiters()

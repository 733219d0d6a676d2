"""A token-bucket rate limit per API key, and the HTTP guard that applies it to /graphql.

Each key (or, without one, each client address) gets a bucket of ``burst`` requests that
refills at ``per_minute`` / 60 per second. The key itself is never kept: buckets are
indexed by a hash of it, and the least recently used buckets are dropped past
``max_buckets``, so random bearer tokens cannot grow memory. The limit holds per process;
deployments with several API processes divide the budget between them or put a shared
limiter in front.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from fastapi import Request, Response
from fastapi.responses import JSONResponse


class RateLimiter:
    def __init__(
        self,
        *,
        per_minute: int,
        burst: int,
        max_buckets: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(max(1, burst))
        self.max_buckets = max_buckets
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def acquire(self, identity: str) -> float:
        """0 when the request may go ahead; otherwise the seconds until it may."""
        now = self.clock()
        tokens, last = self._buckets.pop(identity, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        wait = 0.0
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            wait = (1.0 - tokens) / self.rate if self.rate > 0 else math.inf
        self._buckets[identity] = (tokens, now)
        while len(self._buckets) > self.max_buckets:
            self._buckets.popitem(last=False)
        return wait


def identity(request: Request) -> str:
    """The bucket of a request: its bearer key's hash, or its client address."""
    header = request.headers.get("authorization", "")
    if header:
        return "key:" + hashlib.sha256(header.encode()).hexdigest()[:32]
    return "addr:" + (request.client.host if request.client else "unknown")


def _graphql_error(status: int, code: str, message: str, headers: dict[str, str]) -> Response:
    body = {"data": None, "errors": [{"message": message, "extensions": {"code": code}}]}
    return JSONResponse(body, status_code=status, headers=headers)


def graphql_guard(
    limiter: RateLimiter | None, *, max_body_bytes: int, path: str = "/graphql"
) -> Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]:
    """HTTP middleware: oversized bodies get 413, callers over their rate 429, both with a
    GraphQL-shaped error a client can show."""

    async def guard(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        if not request.url.path.startswith(path) or request.method == "OPTIONS":
            return await call_next(request)
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > max_body_bytes):
            return _graphql_error(
                413, "REQUEST_TOO_LARGE", f"request body over {max_body_bytes} bytes", {}
            )
        if limiter is not None:
            wait = limiter.acquire(identity(request))
            if wait > 0:
                seconds = max(1, math.ceil(wait)) if math.isfinite(wait) else 60
                return _graphql_error(
                    429,
                    "RATE_LIMITED",
                    f"rate limit exceeded for this API key ({round(limiter.rate * 60)} "
                    f"requests per minute): retry in {seconds} s",
                    {"Retry-After": str(seconds)},
                )
        return await call_next(request)

    return guard

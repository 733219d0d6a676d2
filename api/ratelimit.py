"""A token-bucket rate limit per API key, and the HTTP guard that applies it to /graphql.

Each key gets a bucket of ``burst`` requests that refills at ``per_minute`` / 60 per
second. The key itself is never kept: buckets are indexed by a hash of the *token*, read
from the header the way authentication reads it (scheme in any case, spaces around it
ignored), so ``bearer``/``BEARER``/extra spaces are one bucket, not fresh ones (issue #20).
A request without a key draws from its client address's bucket. A key that has
authenticated in this process (:class:`KnownKeys`, filled by the GraphQL context) draws
from its own bucket only; any other token draws from its address's bucket first and then
from its own, so inventing tokens buys nothing: they all share the address's budget.
The least recently used buckets are dropped past ``max_buckets``.

On PostgreSQL (where several API processes may run) the buckets live in the database
instead (``SharedRateLimiter``), so the limit holds per key across every process. On SQLite
the product is one process, and the in-process bucket is exact.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

import structlog
from fastapi import Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.limits import json_body_problem

_log = structlog.get_logger(__name__)


class Limiter(Protocol):
    rate: float

    async def check(self, identity: str) -> float:
        """0 when the request may go ahead; otherwise the seconds until it may."""
        ...


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

    async def check(self, identity: str) -> float:
        return self.acquire(identity)


#: GCRA in one atomic statement: a request is allowed when the key's "theoretical arrival
#: time" is at most ``tau`` ahead of now, and then moves it ``interval`` further. A refused
#: request changes nothing and returns no row. The clock is the database's, shared by all.
_GCRA = text(
    """
    INSERT INTO rate_limit_buckets AS b (identity, tat)
    VALUES (:identity, EXTRACT(EPOCH FROM clock_timestamp()) + :interval)
    ON CONFLICT (identity) DO UPDATE
    SET tat = GREATEST(b.tat, EXTRACT(EPOCH FROM clock_timestamp())) + :interval
    WHERE GREATEST(b.tat, EXTRACT(EPOCH FROM clock_timestamp()))
          - EXTRACT(EPOCH FROM clock_timestamp()) <= :tau
    RETURNING tat
    """
)
_WAIT = text(
    "SELECT tat - EXTRACT(EPOCH FROM clock_timestamp()) FROM rate_limit_buckets "
    "WHERE identity = :identity"
)
_PRUNE = text(
    "DELETE FROM rate_limit_buckets WHERE tat < EXTRACT(EPOCH FROM clock_timestamp()) - 3600"
)


class SharedRateLimiter:
    """The same limit (``per_minute``, ``burst``) kept in PostgreSQL for every API process.

    One statement per request. If the database cannot answer, the request goes ahead (the
    limit protects the service; refusing everyone when it is down helps nobody).
    """

    def __init__(
        self,
        *,
        per_minute: int,
        burst: int,
        engine: Callable[[], AsyncEngine],
        prune_every: int = 1000,
    ) -> None:
        self.rate = per_minute / 60.0
        self.interval = 1.0 / self.rate if self.rate > 0 else math.inf
        self.tau = (max(1, burst) - 1) * self.interval
        self.engine = engine
        self.prune_every = prune_every
        self._calls = 0

    async def check(self, identity: str) -> float:
        self._calls += 1
        try:
            # Autocommit: each statement is atomic alone, and a check is one round trip.
            async with self.engine().connect() as raw:
                conn = await raw.execution_options(isolation_level="AUTOCOMMIT")
                if self._calls % self.prune_every == 0:  # keys unused for an hour
                    await conn.execute(_PRUNE)
                params = {"identity": identity, "interval": self.interval, "tau": self.tau}
                if (await conn.execute(_GCRA, params)).first() is not None:
                    return 0.0
                ahead = await conn.scalar(_WAIT, {"identity": identity})
        except Exception as exc:  # fail open: see the class docstring
            _log.warning("ratelimit.database_unavailable", error=type(exc).__name__)
            return 0.0
        return max(float(ahead or 0.0) - self.tau, 0.001)


def bearer_token(header: str) -> str | None:
    """The token of an ``Authorization: Bearer`` header (scheme in any case, spaces
    around either part ignored); None for any other header."""
    scheme, _, rest = header.strip().partition(" ")
    token = rest.strip()
    if scheme.lower() != "bearer" or not token or any(c.isspace() for c in token):
        return None
    return token


def key_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:32]


class KnownKeys:
    """Hashes of tokens that authenticated recently (bounded, least recently used out)."""

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._seen: OrderedDict[str, None] = OrderedDict()

    def add(self, hashed: str) -> None:
        self._seen[hashed] = None
        self._seen.move_to_end(hashed)
        while len(self._seen) > self.capacity:
            self._seen.popitem(last=False)

    def __contains__(self, hashed: object) -> bool:
        return hashed in self._seen


def identities(request: Request, known: KnownKeys) -> list[str]:
    """The buckets a request draws from, in order: its key's alone once that key has
    authenticated; otherwise its client address's, then (a token) its key's."""
    address = "addr:" + (request.client.host if request.client else "unknown")
    token = bearer_token(request.headers.get("authorization", ""))
    if token is None:
        return [address]
    key = "key:" + key_hash(token)
    return [key] if key[4:] in known else [address, key]


def _graphql_error(status: int, code: str, message: str, headers: dict[str, str]) -> Response:
    body = {"data": None, "errors": [{"message": message, "extensions": {"code": code}}]}
    return JSONResponse(body, status_code=status, headers=headers)


class GraphQLGuard:
    """ASGI middleware on /graphql: callers over their rate get 429, and a POSTed body that
    is not a JSON object 400 naming why (api.limits.json_body_problem), both GraphQL-shaped
    errors a client can show. (Body sizes: api.bodylimit, for every route.)

    Pure ASGI rather than an ``@app.middleware("http")`` function: Starlette runs those in
    a task group with memory streams, about half a millisecond per request and middleware,
    a sixth of a cached answer's budget (issue #19). The body read here is handed on."""

    def __init__(
        self, app: ASGIApp, limiter: Limiter | None, known: KnownKeys, *, path: str = "/graphql"
    ) -> None:
        self.app = app
        self.limiter = limiter
        self.known = known
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or not str(scope.get("path", "")).startswith(self.path)
            or scope.get("method") == "OPTIONS"
        ):
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        if self.limiter is not None:
            refused = await _rate_limited(self.limiter, identities(request, self.known))
            if refused is not None:
                await refused(scope, receive, send)
                return
        if request.method == "POST" and request.headers.get("content-type", "").startswith(
            "application/json"
        ):
            body = await request.body()
            problem = json_body_problem(body)
            if problem is not None:
                await _graphql_error(400, "BAD_REQUEST", problem, {})(scope, receive, send)
                return
            receive = _replaying(body, receive)
        await self.app(scope, receive, send)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """``receive`` for the application after the body was read here: the body, whole."""
    given = False

    async def replay() -> Message:
        nonlocal given
        if given:
            return await receive()  # what follows the body (a disconnect)
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def _rate_limited(limiter: Limiter, buckets: list[str]) -> Response | None:
    """A 429 answer when one of ``buckets`` is empty, else None."""
    for bucket in buckets:
        wait = await limiter.check(bucket)
        if wait > 0:
            seconds = max(1, math.ceil(wait)) if math.isfinite(wait) else 60
            per_minute = round(limiter.rate * 60)
            return _graphql_error(
                429,
                "RATE_LIMITED",
                f"rate limit exceeded for this API key or address ({per_minute} requests "
                f"per minute): retry in {seconds} s",
                {"Retry-After": str(seconds)},
            )
    return None

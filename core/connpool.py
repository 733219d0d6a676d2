"""httpcore's connection pool with its request assignment made linear.

httpcore (1.0) re-plans the whole pool each time a request is queued and each time a
response is closed (``_assign_requests_to_connections``): every connection is asked
whether it expired (on an idle one: a ``poll`` of its socket), every idle one counts the
idle connections again (a list per connection: quadratic), and every queued request
builds the lists of available and idle connections anew. With a Pipedrive first load's
two dozen concurrent deal-flow reads over 16 connections that planning was a sixth of the
syncing process's CPU.

:class:`LeanPool` plans in one pass over the queued requests, giving each the first
available connection of its origin, and asks only that connection whether it expired
(so a request is still never sent on a connection the server closed). A connection
assigned to a request that has not started on it yet is reserved: the next queued
request gets another one (httpcore would hand out the same one and let the second
request find it busy and queue again). The full httpcore pass (idle connections past
their keep-alive closed, surplus idle connections closed) runs at most every
:data:`SWEEP_SECONDS`, so connections that sit unused are still closed in time.
HTTP/2 pools, which multiplex requests over one connection, keep httpcore's pass.

A pool given ``tls`` (a function returning the TLS context) calls it when it opens its
first TLS connection, so a pool that only speaks plain HTTP never loads a CA store.

Its connections (:class:`LeanConnection`) take their locks without a detour through the
event loop: under asyncio httpcore's locks are anyio's, whose every acquire, contended or
not, yields to the event loop once inside a shielded cancel scope; an HTTP/1.1 request
takes three of them (the connection's, then its HTTP/1.1 state lock at the start and at
the end), about 50 us of a 350 us request. :class:`FastLock` is the same lock with
anyio's ``fast_acquire``: still a mutex, still a cancellation point when it must wait.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable
from typing import Any

import anyio
import httpcore
from httpcore._async.http11 import AsyncHTTP11Connection
from httpcore._async.interfaces import AsyncConnectionInterface
from httpcore._synchronization import AsyncLock

#: Longest time between two complete passes of httpcore's own planning.
SWEEP_SECONDS = 1.0


class LeanPool(httpcore.AsyncConnectionPool):
    """An ``httpcore.AsyncConnectionPool`` whose per-request planning is linear."""

    def __init__(
        self, *args: Any, tls: Callable[[], ssl.SSLContext] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self._swept = time.monotonic()
        self._tls = tls

    def create_connection(self, origin: httpcore.Origin) -> AsyncConnectionInterface:
        if self._tls is not None and self._ssl_context is None and origin.scheme == b"https":
            self._ssl_context = self._tls()
        if self._proxy is not None:  # pragma: no cover (egress pools have no proxy)
            return super().create_connection(origin)
        return LeanConnection(  # httpcore's own arguments (AsyncConnectionPool.create_connection)
            origin=origin,
            ssl_context=self._ssl_context,
            keepalive_expiry=self._keepalive_expiry,
            http1=self._http1,
            http2=self._http2,
            retries=self._retries,
            local_address=self._local_address,
            uds=self._uds,
            network_backend=self._network_backend,
            socket_options=self._socket_options,
        )

    def _assign_requests_to_connections(self) -> list[AsyncConnectionInterface]:
        now = time.monotonic()
        if self._http2 or now - self._swept >= SWEEP_SECONDS:
            self._swept = now
            return super()._assign_requests_to_connections()
        connections = self._connections
        if any(connection.is_closed() for connection in connections):
            connections[:] = [c for c in connections if not c.is_closed()]
        queued = [request for request in self._requests if request.is_queued()]
        if not queued:
            return []
        closing: list[AsyncConnectionInterface] = []
        reserved = {id(r.connection) for r in self._requests if r.connection is not None}
        drained: list[httpcore.Origin] = []  # no connection available (Origin: unhashable)
        for pool_request in queued:
            origin = pool_request.request.url.origin
            chosen = None if origin in drained else self._available(origin, reserved, closing)
            if chosen is None:
                drained.append(origin)
                if len(connections) >= self._max_connections:
                    idle = next(
                        (c for c in connections if c.is_idle() and id(c) not in reserved), None
                    )
                    if idle is None:
                        break  # none idle: the rest stay queued until a response is closed
                    connections.remove(idle)
                    closing.append(idle)
                chosen = self.create_connection(origin)
                connections.append(chosen)
            pool_request.assign_to_connection(chosen)
            reserved.add(id(chosen))
        return closing

    def _available(
        self, origin: httpcore.Origin, reserved: set[int], closing: list[AsyncConnectionInterface]
    ) -> AsyncConnectionInterface | None:
        """The first unreserved connection that can take a request to ``origin`` now;
        expired ones met on the way are taken out of the pool into ``closing``."""
        for connection in list(self._connections):
            if (
                id(connection) in reserved
                or not connection.can_handle_request(origin)
                or not connection.is_available()
            ):
                continue
            if connection.has_expired():
                self._connections.remove(connection)
                closing.append(connection)
                continue
            return connection
        return None


class FastLock(AsyncLock):
    """httpcore's lock, on asyncio an anyio lock with ``fast_acquire`` (no event-loop
    iteration when it is free)."""

    def setup(self) -> None:
        super().setup()
        if self._backend == "asyncio":
            self._anyio_lock = anyio.Lock(fast_acquire=True)


class LeanConnection(httpcore.AsyncHTTPConnection):
    """httpcore's connection with :class:`FastLock` locks: its own from the start, its
    HTTP/1.1 connection's (made at the first request) once that request has its answer;
    a lock is swapped only while nothing holds it (the request owns the connection, and
    the state lock is free between the start of a request and the end of its body)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._request_lock = FastLock()

    async def handle_async_request(self, request: httpcore.Request) -> httpcore.Response:
        response = await super().handle_async_request(request)
        inner = self._connection
        if isinstance(inner, AsyncHTTP11Connection) and type(inner._state_lock) is AsyncLock:
            inner._state_lock = FastLock()
        return response

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

Its connections are core.http11's :class:`Http11Connection` (llhttp's parser, no locks:
a connection is taken and given back without an await in between), and
:meth:`LeanPool.exchange` sends a request and reads its answer whole without httpcore's
stream wrappers; a request that finds a connection at once has no event made for it
(:class:`_PoolRequest`). Pools with a proxy, a Unix socket or HTTP/2 keep httpcore's
connections.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import AsyncIterable, Callable
from typing import Any

import httpcore
from httpcore._async.connection_pool import AsyncPoolRequest
from httpcore._async.interfaces import AsyncConnectionInterface

from core.http11 import Http11Connection

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

    @property
    def _plain_http11(self) -> bool:
        """Whether this pool's connections are :class:`Http11Connection` (no proxy, no
        Unix socket, no HTTP/2: those keep httpcore's)."""
        return self._proxy is None and not self._http2 and self._uds is None

    def create_connection(self, origin: httpcore.Origin) -> AsyncConnectionInterface:
        if self._tls is not None and self._ssl_context is None and origin.scheme == b"https":
            self._ssl_context = self._tls()
        if self._plain_http11:
            return Http11Connection(
                origin,
                network_backend=self._network_backend,
                ssl_context=self._ssl_context,
                keepalive_expiry=self._keepalive_expiry,
                retries=self._retries,
                local_address=self._local_address,
                socket_options=self._socket_options,
            )
        return super().create_connection(origin)

    async def exchange(self, request: httpcore.Request) -> tuple[httpcore.Response, bytes]:
        """``request`` sent and its answer read whole (the answer, its stream empty, and
        its body): what ``handle_async_request`` and reading and closing its stream do,
        without the stream wrappers, on an HTTP/1.1 pool (:class:`Http11Connection`)."""
        if not self._plain_http11:
            response = await self.handle_async_request(request)
            try:
                body = b"".join([part async for part in _stream(response)])
            finally:
                await response.aclose()
            return response, body
        pool_request = _PoolRequest(request)
        self._requests.append(pool_request)
        try:
            while True:
                closing = self._assign_requests_to_connections()
                if closing:
                    await self._close_connections(closing)
                connection = pool_request.connection
                if connection is None:
                    timeout = request.extensions.get("timeout", {}).get("pool")
                    connection = await pool_request.wait_for_connection(timeout)
                assert isinstance(connection, Http11Connection)
                try:
                    return await connection.exchange(request)
                except httpcore.ConnectionNotAvailable:
                    pool_request.clear_connection()
        finally:
            self._requests.remove(pool_request)
            unused = pool_request.connection
            if (
                isinstance(unused, Http11Connection)
                and unused.unopened()
                and unused in self._connections
            ):
                # made for this request, which was cancelled before it began: nothing
                # else would ever take or close it (httpcore's pool keeps it)
                self._connections.remove(unused)
            if any(r.connection is None for r in self._requests):  # wake the next one
                closing = self._assign_requests_to_connections()
                if closing:
                    await self._close_connections(closing)

    async def _close_connections(self, closing: list[AsyncConnectionInterface]) -> None:
        for connection in closing:  # Http11Connection.aclose: shielded itself
            if isinstance(connection, Http11Connection):
                await connection.aclose()
            else:
                await super()._close_connections([connection])

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


class _PoolRequest(AsyncPoolRequest):
    """httpcore's queued request without its event (an anyio event made and set for
    every request) unless the request has to wait for a connection: then one future."""

    def __init__(self, request: httpcore.Request) -> None:
        self.request = request
        self.connection: AsyncConnectionInterface | None = None
        self._waiter: asyncio.Future[None] | None = None

    def assign_to_connection(self, connection: AsyncConnectionInterface | None) -> None:
        self.connection = connection
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def clear_connection(self) -> None:
        self.connection = None

    async def wait_for_connection(self, timeout: float | None = None) -> AsyncConnectionInterface:  # noqa: ASYNC109
        if self.connection is None:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                async with asyncio.timeout(timeout):
                    await self._waiter
            except TimeoutError:
                raise httpcore.PoolTimeout("no connection free in time") from None
            finally:
                self._waiter = None
        assert self.connection is not None
        return self.connection


def _stream(response: httpcore.Response) -> AsyncIterable[bytes]:
    stream = response.stream
    assert isinstance(stream, AsyncIterable)
    return stream

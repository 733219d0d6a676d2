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
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable
from typing import Any

import httpcore
from httpcore._async.interfaces import AsyncConnectionInterface

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
        return super().create_connection(origin)

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

"""core.connpool.LeanPool: requests planned onto connections in one pass, with httpcore's
guarantees kept (never a connection the server closed, never more than the maximum, idle
connections past their keep-alive closed by the periodic full pass)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpcore
import httpx
import pytest
from httpcore._async.connection_pool import AsyncPoolRequest

from core.connpool import LeanPool
from core.egress import EgressPolicy, egress_client
from core.http11 import Http11Connection

ORIGIN = httpcore.Origin(b"https", b"api.pipedrive.com", 443)
OTHER = httpcore.Origin(b"https", b"company.pipedrive.com", 443)


class _Fake:
    """A connection in a given state (what the pool asks of one)."""

    def __init__(self, origin: httpcore.Origin = ORIGIN, *, idle: bool = True) -> None:
        self.origin, self.idle, self.expired, self.closed = origin, idle, False, False
        self.expiry_checks = 0

    def can_handle_request(self, origin: httpcore.Origin) -> bool:
        return origin == self.origin

    def is_available(self) -> bool:
        return self.idle and not self.closed

    def is_idle(self) -> bool:
        return self.idle

    def is_closed(self) -> bool:
        return self.closed

    def has_expired(self) -> bool:
        self.expiry_checks += 1
        return self.expired


def _pool(connections: list[Any], queued: int, origin: httpcore.Origin = ORIGIN) -> LeanPool:
    pool = LeanPool(max_connections=len(connections) or 1)
    pool._connections[:] = connections
    url = f"{origin.scheme.decode()}://{origin.host.decode()}/v1/deals/1/flow"
    pool._requests[:] = [
        AsyncPoolRequest(httpcore.Request("GET", url, headers={"Host": "127.0.0.1"}))
        for _ in range(queued)
    ]
    return pool


async def test_each_queued_request_gets_its_own_idle_connection() -> None:
    first, second, third = _Fake(), _Fake(), _Fake()
    pool = _pool([first, second, third], queued=2)
    assert pool._assign_requests_to_connections() == []
    assert [r.connection for r in pool._requests] == [first, second]
    # Only the connections handed out were asked whether the server closed them.
    assert (first.expiry_checks, second.expiry_checks, third.expiry_checks) == (1, 1, 0)


async def test_a_connection_already_assigned_is_not_handed_out_again() -> None:
    first, second = _Fake(), _Fake()
    pool = _pool([first, second], queued=2)
    pool._requests[0].assign_to_connection(first)  # its request has not started on it yet
    pool._assign_requests_to_connections()
    assert pool._requests[1].connection is second


async def test_an_expired_connection_is_closed_and_the_next_one_used() -> None:
    dead, alive = _Fake(), _Fake()
    dead.expired = True
    pool = _pool([dead, alive], queued=1)
    assert pool._assign_requests_to_connections() == [dead]
    assert pool._requests[0].connection is alive
    assert pool._connections == [alive]


async def test_at_the_maximum_with_none_idle_requests_stay_queued() -> None:
    busy = [_Fake(idle=False), _Fake(idle=False)]
    pool = _pool(busy, queued=3)
    assert pool._assign_requests_to_connections() == []
    assert all(r.is_queued() for r in pool._requests)


async def test_at_the_maximum_an_idle_connection_to_another_host_makes_room() -> None:
    busy, elsewhere = _Fake(idle=False), _Fake(OTHER)
    pool = _pool([busy, elsewhere], queued=1)
    assert pool._assign_requests_to_connections() == [elsewhere]
    new = pool._requests[0].connection
    assert new is not None and new not in (busy, elsewhere)
    assert pool._connections == [busy, new]


async def test_closed_connections_leave_the_pool() -> None:
    gone, busy = _Fake(), _Fake(idle=False)
    gone.closed = True
    pool = _pool([gone, busy], queued=0)
    pool._assign_requests_to_connections()
    assert pool._connections == [busy]


async def test_the_full_httpcore_pass_runs_once_a_sweep_is_due() -> None:
    """httpcore's own pass asks every connection whether it expired: an idle one past its
    keep-alive is closed although no request would have picked it."""
    used, stale = _Fake(), _Fake()
    stale.expired = True
    pool = _pool([used, stale], queued=0)
    assert pool._assign_requests_to_connections() == []  # the lean pass: nobody asked
    assert stale.expiry_checks == 0
    pool._swept -= 2.0  # a sweep is due
    assert pool._assign_requests_to_connections() == [stale]
    assert pool._connections == [used]


async def test_more_concurrent_requests_than_connections_all_answered() -> None:
    """Over real sockets: twelve requests at once through three kept-alive connections."""
    handlers: list[asyncio.Task[Any]] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handlers.append(asyncio.current_task())  # type: ignore[arg-type]
        while True:
            try:
                await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                break
            await asyncio.sleep(0.01)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = egress_client(EgressPolicy.of(["127.0.0.1"]), timeout=5.0, max_connections=3)
    try:
        async with asyncio.timeout(10):
            answers = await asyncio.gather(
                *(client.get(f"http://127.0.0.1:{port}/v1/deals/{i}/flow") for i in range(12))
            )
        assert [a.status_code for a in answers] == [200] * 12
        assert len(handlers) == 3
    finally:
        await client.aclose()
        server.close()
        await server.wait_closed()
        # the server's handlers end when they read the closed connections' EOF
        await asyncio.wait_for(asyncio.gather(*handlers), 5)


async def test_egress_connections_are_ours_and_kept_alive() -> None:
    """Every connection of an egress pool is a core.http11 connection, and both paths (the
    sync's exchange and httpx's streaming one) reuse it."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for _ in range(3):
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = egress_client(EgressPolicy.of(["127.0.0.1"]), timeout=5.0, max_connections=1)
    url = f"http://127.0.0.1:{port}/x"
    try:
        for _ in range(2):
            assert (await client.get(url)).content == b"{}"
        _, body = await client.egress.exchange(
            httpcore.Request("GET", url, headers={"Host": "127.0.0.1"})
        )
        assert body == b"{}"
        [connection] = client.egress._pool.connections
        assert isinstance(connection, Http11Connection)
        assert connection.info().endswith("HTTP/1.1, IDLE, Request Count: 3")
    finally:
        await client.aclose()
        server.close()
        await server.wait_closed()


async def test_a_request_waits_for_a_connection_and_times_out_as_httpcore() -> None:
    """With every connection busy a request waits (no event made for it before) and gets
    the first one given back; past the pool timeout it is httpcore's PoolTimeout."""
    release = asyncio.Event()

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while not reader.at_eof():
            try:
                await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                break
            await release.wait()
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    pool = egress_client(EgressPolicy.of(["127.0.0.1"]), timeout=5.0, max_connections=1).egress
    url = f"http://127.0.0.1:{port}/x"
    try:
        first = asyncio.create_task(
            pool.exchange(httpcore.Request("GET", url, headers={"Host": "127.0.0.1"}))
        )
        second = asyncio.create_task(
            pool.exchange(httpcore.Request("GET", url, headers={"Host": "127.0.0.1"}))
        )
        await asyncio.sleep(0.05)
        with pytest.raises(httpx.PoolTimeout):
            await pool.exchange(
                httpcore.Request(
                    "GET",
                    url,
                    headers={"Host": "127.0.0.1"},
                    extensions={"timeout": {"pool": 0.01}},
                )
            )
        release.set()
        assert [body for _, body in await asyncio.gather(first, second)] == [b"{}", b"{}"]
        assert len(pool._pool.connections) == 1 and not pool._pool._requests
    finally:
        await pool.aclose()
        server.close()
        await server.wait_closed()


async def test_a_request_cancelled_before_it_began_leaves_no_connection_behind(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A connection made for a request that is cancelled before it began would never be
    taken (it is not idle) nor closed: the pool drops it with the request."""
    from core.connpool import _PoolRequest

    pool = LeanPool(max_connections=2)

    async def assigned_then_cancelled(self: _PoolRequest, timeout: Any = None) -> Any:  # noqa: ASYNC109
        connection = pool.create_connection(self.request.url.origin)
        pool._connections.append(connection)
        self.assign_to_connection(connection)
        raise asyncio.CancelledError

    monkeypatch.setattr(LeanPool, "_assign_requests_to_connections", lambda self: [])
    monkeypatch.setattr(_PoolRequest, "wait_for_connection", assigned_then_cancelled)
    request = httpcore.Request("GET", "http://127.0.0.1:9/x", headers={"Host": "127.0.0.1"})
    with pytest.raises(asyncio.CancelledError):
        await pool.exchange(request)
    assert pool._connections == [] and pool._requests == []

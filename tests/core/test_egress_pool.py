"""The egress client's pooled connections: a keep-alive connection the server closed while
idle is noticed and replaced (core.egress._Stream answers httpcore's "is the idle socket
readable" check with one poll of the socket it looked up once)."""

from __future__ import annotations

import asyncio
import socket

from core.egress import EgressPolicy, _readable, egress_client

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


def test_readable_tells_an_idle_socket_from_a_closed_one() -> None:
    ours, theirs = socket.socketpair()
    try:
        assert not _readable(ours)  # nothing sent, still open: reusable
        theirs.close()
        assert _readable(ours)  # the peer closed it: reading returns b""
        ours.close()
        assert _readable(ours)  # closed on our side (fileno -1): dropped too
    finally:
        ours.close()
        theirs.close()


async def test_a_connection_the_server_closed_while_idle_is_not_reused() -> None:
    """Each connection answers one request and is then closed by the server, keep-alive
    notwithstanding: the next request must go over a new connection, not fail on the
    dead one ("server disconnected without sending a response")."""
    connections = 0
    closed = asyncio.Event()

    async def one_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await reader.readuntil(b"\r\n\r\n")
        writer.write(ANSWER)
        await writer.drain()
        writer.close()
        await writer.wait_closed()
        closed.set()

    server = await asyncio.start_server(one_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = egress_client(EgressPolicy.of(["127.0.0.1"]), timeout=5.0, max_connections=4)
    try:
        for _ in range(3):
            closed.clear()
            response = await client.get(f"http://127.0.0.1:{port}/v1/deals/1/flow")
            assert response.status_code == 200
            assert response.json() == {}
            await closed.wait()
        assert connections == 3
    finally:
        await client.aclose()
        server.close()
        await server.wait_closed()

"""core.netstream: httpcore's stream interface on asyncio transports keeps httpcore's
contract (timeouts, resets, clean closes, back-pressure, the idle-connection check)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import httpcore
import pytest

from core.netstream import HIGH_WATER, AsyncioBackend
from tests.support.loops import event_loop_policy  # noqa: F401  (each test on both loops)

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def _served(handler: Handler) -> AsyncIterator[int]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


async def test_a_silent_server_is_a_read_timeout() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(100)

    async with _served(silent) as port:
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
        await stream.write(b"GET / HTTP/1.1\r\n\r\n")
        with pytest.raises(httpcore.ReadTimeout):
            await stream.read(100, timeout=0.05)
        await stream.aclose()


async def test_each_read_gets_its_own_deadline_from_one_timer() -> None:
    """A read's deadline is its own, though the connection keeps one timer: a read with a
    later deadline than the pending timer is not failed by it (the timer moves on), a
    short read after a long one times out in time, a read without one waits."""

    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(100)
        for part, pause in ((b"a", 0.02), (b"b", 0.1), (b"c", 0.1), (b"d", 0)):
            writer.write(part)
            await asyncio.sleep(pause)
        await reader.read(100)

    async with _served(slow) as port:
        loop = asyncio.get_running_loop()
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
        await stream.write(b"GET / HTTP/1.1\r\n\r\n")
        assert await stream.read(100, timeout=0.06) == b"a"  # its timer stays pending
        assert await stream.read(100, timeout=1) == b"b"
        assert await stream.read(100, timeout=1) == b"c"  # outlived the 0.06 s timer
        started = loop.time()
        with pytest.raises(httpcore.ReadTimeout):
            await stream.read(100, timeout=0.02)  # the pending 1 s timer is replaced
        assert loop.time() - started < 0.08
        assert await stream.read(100, timeout=None) == b"d"
        await stream.aclose()


async def test_a_clean_close_reads_empty_and_a_reset_is_a_read_error() -> None:
    async def close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"bye")
        await writer.drain()
        writer.close()

    async def reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        await reader.read(100)
        writer.transport.abort()  # linger 0: an RST, not a FIN

    backend = AsyncioBackend()
    async with _served(close) as port:
        stream = await backend.connect_tcp("127.0.0.1", port, timeout=5)
        assert await stream.read(100, timeout=5) == b"bye"
        assert await stream.read(100, timeout=5) == b""
        assert stream.get_extra_info("is_readable")  # the pool drops it
        with pytest.raises(httpcore.WriteError):
            await stream.write(b"more", timeout=5)
    async with _served(reset) as port:
        stream = await backend.connect_tcp("127.0.0.1", port, timeout=5)
        assert not stream.get_extra_info("is_readable")  # open and idle: reusable
        await stream.write(b"GET / HTTP/1.1\r\n\r\n", timeout=5)
        with pytest.raises(httpcore.ReadError):
            while await stream.read(100, timeout=5):
                pass
        await stream.aclose()


async def test_a_body_larger_than_the_buffer_arrives_whole() -> None:
    """Reading pauses while the buffer is over HIGH_WATER and resumes as it drains."""
    body = bytes(range(256)) * (3 * HIGH_WATER // 256)

    async def big(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(body)
        await writer.drain()
        writer.close()

    async with _served(big) as port:
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
        await asyncio.sleep(0.05)  # let the buffer fill past the mark
        received = bytearray()
        while chunk := await stream.read(65536, timeout=5):
            received += chunk
        assert received == body
        await stream.aclose()


async def test_a_refused_connection_is_a_connect_error() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(httpcore.ConnectError):
        await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)


async def test_a_write_waits_for_back_pressure_and_a_timed_out_one_spoils_no_other() -> None:
    """A reader that does not read: writes wait for the transport to drain; one that
    times out raises WriteTimeout and the next write waits afresh (not failed at once by
    the first one's expired wait)."""
    release = asyncio.Event()

    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await release.wait()
        while await reader.read(1 << 20):
            pass
        writer.close()

    async with _served(slow) as port:
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
        chunk = b"x" * (1 << 20)
        with pytest.raises(httpcore.WriteTimeout):
            for _ in range(64):  # past the kernel's and the transport's buffers
                await stream.write(chunk, timeout=0.05)
        started = asyncio.get_running_loop().time()
        with pytest.raises(httpcore.WriteTimeout):
            await stream.write(chunk, timeout=0.05)
        assert asyncio.get_running_loop().time() - started >= 0.04  # it waited its own
        release.set()
        await stream.write(chunk, timeout=5)  # drains once the server reads
        await stream.aclose()


async def test_reads_hand_on_received_chunks_in_order_never_more_than_asked() -> None:
    """Received chunks are queued as they came: a read returns the first one whole when
    it fits (no copy) and splits it when it does not, the rest read next."""
    written: list[bytes] = []

    async def echo_in_pieces(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readexactly(2)
        for piece in (b"abc", b"defghij"):
            writer.write(piece)
            await writer.drain()
            written.append(piece)
            await asyncio.sleep(0.01)  # separate deliveries
        writer.close()

    async with _served(echo_in_pieces) as port:
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
        await stream.write(b"go")
        received = []
        while chunk := await stream.read(4, timeout=5):
            assert len(chunk) <= 4
            received.append(chunk)
        await stream.aclose()
    assert b"".join(received) == b"abcdefghij"
    assert received[0] == b"abc"  # the first delivery, whole
    assert written == [b"abc", b"defghij"]

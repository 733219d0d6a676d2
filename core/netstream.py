"""httpcore's network streams on plain asyncio transports, without anyio's per-call layers.

httpcore's default backend on asyncio is anyio's: every read and write of every request
goes through a cancel scope with its deadline, a checkpoint, typed-attribute lookups and
a pause/resume of the transport's reading around each receive (two ``epoll_ctl`` calls).
On a Pipedrive first load (a request per moved deal) those layers were about a seventh
of the syncing process's CPU. :class:`AsyncioBackend` gives httpcore the same stream
interface over an ``asyncio.Protocol``: received bytes are queued as they arrive (the
transport's own ``bytes``, not copied into a buffer: a read hands a received chunk on
whole when it fits, where a ``bytearray`` buffer copied each page three times, 60 us for
an 80 KB page), a read takes from the queue or waits on one future (its timeout a
deadline the connection's one timer enforces), a write hands the bytes to the transport
and waits only when the transport asks for back-pressure.

What httpcore relies on is kept: the timeouts raise its ``ReadTimeout``,
``WriteTimeout`` and ``ConnectTimeout``; a connection reset raises ``ReadError`` /
``WriteError``; a clean close reads as ``b""``; TLS is asyncio's ``start_tls``; and
``is_readable`` (httpcore's "did the server close this idle connection?") answers from
what the protocol already received (bytes or end of stream) before polling the socket.
"""

from __future__ import annotations

import asyncio
import math
import select
import ssl
from collections import deque
from collections.abc import Iterable
from typing import Any, cast

import httpcore

#: Received bytes buffered before the transport stops reading (a large page read slowly).
HIGH_WATER = 1 << 20


class _Protocol(asyncio.Protocol):
    """Queues what the connection receives and wakes the one reader waiting for it."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        #: Received chunks not read yet, in order, and their total length.
        self.chunks: deque[bytes] = deque()
        self.size = 0
        self.eof = False
        self.error: BaseException | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.paused_reading = False
        self.drained: asyncio.Future[None] | None = None
        #: The waiting read's deadline (loop time) and the one timer enforcing it. A read
        #: that must wait moves the deadline and makes a timer only when none is pending
        #: or the pending one would fire too late: a timer made and cancelled per read
        #: was 1% of a sync's CPU.
        self.deadline = math.inf
        self.timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A cast, not an isinstance check: uvloop's transports (core.eventloop) are
        # transports without subclassing asyncio.Transport.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.chunks.append(data)
        self.size += len(data)
        if self.size > HIGH_WATER and self.transport is not None:
            self.transport.pause_reading()
            self.paused_reading = True
        self._wake()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake()
        return False  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.eof = True
        self.error = exc
        self._wake()
        self.resume_writing()

    def pause_writing(self) -> None:
        if self.drained is None:
            self.drained = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        drained, self.drained = self.drained, None
        if drained is not None and not drained.done():
            drained.set_result(None)

    def arm(self, loop: asyncio.AbstractEventLoop, timeout: float | None) -> None:
        """The waiting read fails with TimeoutError after ``timeout`` seconds."""
        if timeout is None:
            self.deadline = math.inf
            return
        deadline = self.deadline = loop.time() + timeout
        timer = self.timer
        if timer is None or timer.when() > deadline:
            if timer is not None:
                timer.cancel()
            self.timer = loop.call_at(deadline, self._expired, loop)

    def _expired(self, loop: asyncio.AbstractEventLoop) -> None:
        self.timer = None
        waiter = self.waiter
        if waiter is None or waiter.done() or self.deadline == math.inf:
            return
        if loop.time() >= self.deadline:
            waiter.set_exception(TimeoutError())
        else:  # the deadline moved since this timer was made
            self.timer = loop.call_at(self.deadline, self._expired, loop)

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


async def _wait(future: asyncio.Future[None], timeout: float | None) -> None:  # noqa: ASYNC109
    """Await ``future``; TimeoutError after ``timeout`` seconds (one timer, no task)."""
    if timeout is None:
        await future
        return
    timer = asyncio.get_running_loop().call_later(timeout, _expire, future)
    try:
        await future
    finally:
        timer.cancel()


def _expire(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_exception(TimeoutError())


class AsyncioStream(httpcore.AsyncNetworkStream):
    """One connection: an asyncio transport and the :class:`_Protocol` buffering it."""

    def __init__(self, transport: asyncio.Transport, protocol: _Protocol) -> None:
        self.transport = transport
        self.protocol = protocol
        self.socket = transport.get_extra_info("socket")

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        protocol = self.protocol
        if not protocol.chunks and not protocol.eof:
            loop = asyncio.get_running_loop()
            waiter = protocol.waiter = loop.create_future()
            protocol.arm(loop, timeout)
            try:
                await waiter
            except TimeoutError:
                raise httpcore.ReadTimeout("timed out reading the answer") from None
            finally:
                protocol.waiter = None
        chunks = protocol.chunks
        if chunks:
            data = chunks[0]
            if len(data) <= max_bytes:
                chunks.popleft()
            else:  # the rest stays first in the queue
                data, chunks[0] = data[:max_bytes], data[max_bytes:]
            protocol.size -= len(data)
            if protocol.paused_reading and protocol.size <= HIGH_WATER // 2:
                protocol.paused_reading = False
                self.transport.resume_reading()
            return data
        if protocol.error is not None:
            raise httpcore.ReadError(str(protocol.error)) from protocol.error
        return b""

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        if not buffer:
            return
        if self.transport.is_closing():
            raise httpcore.WriteError("the connection is closed")
        self.transport.write(buffer)
        drained = self.protocol.drained
        if drained is not None:
            try:  # shielded: a writer cancelled or timed out leaves it for the next one
                await _wait(asyncio.shield(drained), timeout)
            except TimeoutError:
                raise httpcore.WriteTimeout("timed out sending the request") from None
        if self.protocol.error is not None:
            raise httpcore.WriteError(str(self.protocol.error)) from self.protocol.error

    async def aclose(self) -> None:
        if not self.transport.is_closing():
            self.transport.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                transport = await loop.start_tls(
                    self.transport, self.protocol, ssl_context, server_hostname=server_hostname
                )
        except TimeoutError:
            await self.aclose()
            raise httpcore.ConnectTimeout("timed out in the TLS handshake") from None
        except (OSError, ssl.SSLError) as exc:
            await self.aclose()
            raise httpcore.ConnectError(str(exc)) from exc
        if transport is None:  # pragma: no cover (closed during the handshake)
            raise httpcore.ConnectError("the connection closed during the TLS handshake")
        self.protocol.transport = transport  # reading is paused and resumed through TLS
        return AsyncioStream(transport, self.protocol)

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            protocol = self.protocol
            return bool(protocol.chunks) or protocol.eof or readable(self.socket)
        if info == "ssl_object":
            return self.transport.get_extra_info("ssl_object")
        if info == "client_addr":
            return self.transport.get_extra_info("sockname")
        if info == "server_addr":
            return self.transport.get_extra_info("peername")
        if info == "socket":
            return self.socket
        return None


def readable(sock: Any) -> bool:
    """Whether reading ``sock`` would not block: on an idle keep-alive connection, the
    server closed it (or sent what it should not have); a closed (or absent) socket
    counts as readable, so the pool drops it."""
    if sock is None or sock.fileno() == -1:
        return True
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """TCP connections as :class:`AsyncioStream` (to the address given: resolving and
    checking it is the caller's, core.egress)."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        local = (local_address, 0) if local_address else None
        try:
            async with asyncio.timeout(timeout):
                transport, protocol = await loop.create_connection(
                    _Protocol, host, port, local_addr=local
                )
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"timed out connecting to port {port}") from None
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        sock = transport.get_extra_info("socket")
        for option in socket_options or ():
            sock.setsockopt(*option)
        return AsyncioStream(transport, protocol)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

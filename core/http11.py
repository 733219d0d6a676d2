"""An HTTP/1.1 client connection for the egress pool: httpcore's interface, llhttp's parser.

httpcore's HTTP/1.1 connection runs every request through h11 (an event object per part,
header validation in regular expressions, a receive buffer that copies each body twice)
and three nested async generators per answer: about half of a sync request's CPU.
:class:`Http11Connection` is the same connection for the pool (core.connpool), its
answers parsed by llhttp (core.http11answer: httptools, the C parser of Node.js) and its
requests written as h11 writes them (core.http11wire); a connection is reused only when
both sides allow it.

The request bytes are h11's: the request line, ``Host`` first, the other headers in
their order and casing, each name and value checked as h11 checks them (a pair checked
once is remembered), the body framed by its Content-Length or chunked. Answers are
httpcore's: raw header names and values in order (duplicates kept, whitespace around
values stripped), ``http_version`` and ``reason_phrase`` extensions, httpcore's
exceptions (ReadTimeout, WriteTimeout, ConnectTimeout, RemoteProtocolError,
LocalProtocolError, ...) and its pool answers (``is_available``, ``has_expired`` with the
"did the server close this idle connection?" check, ``is_idle``, ``is_closed``).

:meth:`Http11Connection.exchange` sends a request and reads its whole body in one call:
the sync's path (core.sync.exchange), with no stream objects at all.
CONNECT and Upgrade requests (tunnels, WebSockets) are refused: an egress client has
no use for them, and a tunnel would reach what the egress check did not see.
"""

from __future__ import annotations

import contextlib
import enum
import itertools
import ssl
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpcore
from httpcore._async.interfaces import AsyncConnectionInterface
from httpcore._backends.base import SOCKET_OPTION, AsyncNetworkBackend, AsyncNetworkStream
from httpcore._models import ByteStream
from httpcore._ssl import default_ssl_context
from httpcore._synchronization import AsyncShieldCancellation

from core.http11answer import Answer
from core.http11wire import request_head
from core.netstream import AsyncioStream

READ_NUM_BYTES = 64 * 1024
RETRIES_BACKOFF_FACTOR = 0.5  # httpcore's: 0 s, 0.5 s, 1 s, 2 s, ...


class _State(enum.IntEnum):
    NEW = 0
    ACTIVE = 1
    IDLE = 2
    CLOSED = 3


class Http11Connection(AsyncConnectionInterface):
    """One pooled HTTP/1.1 connection (see the module docstring): opened at its first
    request by the pool's network backend (the egress check), TLS for https."""

    def __init__(
        self,
        origin: httpcore.Origin,
        *,
        network_backend: AsyncNetworkBackend,
        ssl_context: ssl.SSLContext | None = None,
        keepalive_expiry: float | None = None,
        retries: int = 0,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> None:
        self._origin = origin
        self._backend = network_backend
        self._ssl_context = ssl_context
        self._keepalive_expiry = keepalive_expiry
        self._retries = retries
        self._local_address = local_address
        self._socket_options: list[SOCKET_OPTION] | None = socket_options
        self._stream: AsyncNetworkStream | None = None
        self._state = _State.NEW
        self._expire_at: float | None = None
        self._request_count = 0
        self._connect_failed = False

    # -- requests ------------------------------------------------------------------------

    async def exchange(self, request: httpcore.Request) -> tuple[httpcore.Response, bytes]:
        """``request`` sent and its answer read whole: the answer (its stream empty) and
        its body; the connection is idle again (or closed) when this returns."""
        answer, stream, timeouts = await self._start(request)
        try:
            read = timeouts.get("read")
            while not answer.done:
                answer.take(await stream.read(READ_NUM_BYTES, read))
        except BaseException:
            await self._abort()
            raise
        await self._release(answer)
        return _response(answer, _EMPTY), b"".join(answer.body)

    async def handle_async_request(self, request: httpcore.Request) -> httpcore.Response:
        answer, stream, timeouts = await self._start(request)
        return _response(answer, _Body(self, answer, stream, timeouts.get("read")))

    async def _start(
        self, request: httpcore.Request
    ) -> tuple[Answer, AsyncNetworkStream, dict[str, Any]]:
        """Take the connection, send ``request``, read its answer's head."""
        if request.url.origin != self._origin:
            raise RuntimeError(
                f"Attempted to send request to {request.url.origin} on connection to {self._origin}"
            )
        state = self._state
        if state is not _State.IDLE and not (state is _State.NEW and self._stream is None):
            raise httpcore.ConnectionNotAvailable()
        self._state = _State.ACTIVE  # taken: no await before this
        self._request_count += 1
        self._expire_at = None
        timeouts: dict[str, Any] = request.extensions.get("timeout", {})
        try:
            head = request_head(request)
            stream = self._stream
            if stream is None:
                stream = self._stream = await self._connect(request, timeouts.get("connect"))
            # A write error is not the end: the server may have answered already and
            # closed (httpcore reads the answer too).
            with contextlib.suppress(httpcore.WriteError):
                await self._send(stream, request, head, timeouts.get("write"))
            answer = Answer(request.method == b"HEAD")
            read = timeouts.get("read")
            while not answer.head_done:
                answer.take(await stream.read(READ_NUM_BYTES, read))
        except BaseException:
            await self._abort()
            raise
        if head[3]:  # the request said "Connection: close": not reused
            answer.keep_alive = False
        return answer, stream, timeouts

    async def _send(
        self,
        stream: AsyncNetworkStream,
        request: httpcore.Request,
        head: Any,
        timeout: Any,  # noqa: ASYNC109
    ) -> None:
        data, length, chunked, _ = head
        body = request.stream
        if isinstance(body, ByteStream):  # the usual case: one write
            content: bytes = body._content
            _check_length(length, len(content), chunked)
            if content:
                data += b"%x\r\n%s\r\n0\r\n\r\n" % (len(content), content) if chunked else content
            elif chunked:
                data += b"0\r\n\r\n"
            await stream.write(data, timeout)
            return
        await stream.write(data, timeout)
        sent = 0
        async for chunk in body:  # type: ignore[union-attr]
            if not chunk:
                continue
            sent += len(chunk)
            if length is not None and sent > length:
                raise httpcore.LocalProtocolError("Too much data for declared Content-Length")
            await stream.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk, timeout)
        _check_length(length, sent, chunked)
        if chunked:
            await stream.write(b"0\r\n\r\n", timeout)

    async def _connect(self, request: httpcore.Request, timeout: Any) -> AsyncNetworkStream:  # noqa: ASYNC109
        """httpcore's connect (AsyncHTTPConnection._connect), HTTP/1.1 only."""
        retries_left = self._retries
        delays = _backoff()
        origin = self._origin
        while True:
            try:
                stream = await self._backend.connect_tcp(
                    host=origin.host.decode("ascii"),
                    port=origin.port,
                    local_address=self._local_address,
                    timeout=timeout,
                    socket_options=self._socket_options,
                )
                if origin.scheme in (b"https", b"wss"):
                    context = self._ssl_context or default_ssl_context()
                    context.set_alpn_protocols(["http/1.1"])
                    hostname = request.extensions.get("sni_hostname") or origin.host.decode("ascii")
                    stream = await stream.start_tls(context, hostname, timeout)
                return stream
            except (httpcore.ConnectError, httpcore.ConnectTimeout):
                if retries_left <= 0:
                    self._connect_failed = True
                    raise
                retries_left -= 1
                await self._backend.sleep(next(delays))

    # -- the end of an answer ------------------------------------------------------------

    async def _release(self, answer: Answer) -> None:
        """The answer is read whole: idle again when both sides keep the connection."""
        answer.finish()
        if answer.keep_alive and not answer.stray and self._state is _State.ACTIVE:
            self._state = _State.IDLE
            if self._keepalive_expiry is not None:
                self._expire_at = time.monotonic() + self._keepalive_expiry
        else:
            await self.aclose()

    async def _abort(self) -> None:
        """A request that failed or was cancelled part-way: the connection is closed (its
        state is unknown, it must not be reused)."""
        await self.aclose()

    async def aclose(self) -> None:
        """Closed, shielded from cancellation (core.netstream's streams close without
        waiting: no shield needed, nor anyio's cancel scope it costs)."""
        self._state = _State.CLOSED
        stream = self._stream
        if isinstance(stream, AsyncioStream):
            await stream.aclose()
        elif stream is not None:
            with AsyncShieldCancellation():
                await stream.aclose()

    # -- what the pool asks --------------------------------------------------------------

    def can_handle_request(self, origin: httpcore.Origin) -> bool:
        return origin == self._origin

    def is_available(self) -> bool:
        return self._state is _State.IDLE

    def has_expired(self) -> bool:
        if self._stream is None:
            return self._connect_failed
        if self._expire_at is not None and time.monotonic() > self._expire_at:
            return True
        # An idle connection with something to read: the server closed it (or sent what
        # it should not have); either way it is not reused.
        return self._state is _State.IDLE and bool(self._stream.get_extra_info("is_readable"))

    def unopened(self) -> bool:
        """Never given a request (the pool made it for one that did not begin)."""
        return self._state is _State.NEW and self._stream is None

    def is_idle(self) -> bool:
        return self._state is _State.IDLE or self._connect_failed

    def is_closed(self) -> bool:
        return self._state is _State.CLOSED

    def info(self) -> str:
        if self._stream is None:
            return "CONNECTION FAILED" if self._connect_failed else "CONNECTING"
        return (
            f"{str(self._origin)!r}, HTTP/1.1, {self._state.name}, "
            f"Request Count: {self._request_count}"
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} [{self.info()}]>"


def _check_length(length: int | None, sent: int, chunked: bool) -> None:
    """h11's check of a body against its declared framing (none declared: empty)."""
    if chunked:
        return
    if sent > (length or 0):
        raise httpcore.LocalProtocolError("Too much data for declared Content-Length")
    if length is not None and sent < length:
        raise httpcore.LocalProtocolError("Too little data for declared Content-Length")


def _backoff() -> Iterator[float]:
    return itertools.chain([0.0], (RETRIES_BACKOFF_FACTOR * 2**n for n in itertools.count()))


_EMPTY = ByteStream(b"")


def _response(answer: Answer, content: Any) -> httpcore.Response:
    """``httpcore.Response(status, headers=..., content=..., extensions=...)`` as its
    ``__init__`` sets it, without re-checking headers that are byte pairs already."""
    response: httpcore.Response = object.__new__(httpcore.Response)
    response.status = answer.status
    response.headers = answer.headers
    response.stream = content
    response.extensions = {"http_version": answer.version, "reason_phrase": answer.reason}
    response._stream_consumed = False
    return response


class _Body:
    """An answer's body as httpcore streams it: the parts as they arrive; closing it
    (read whole or not) gives the connection back (or closes it)."""

    def __init__(
        self,
        connection: Http11Connection,
        answer: Answer,
        stream: AsyncNetworkStream,
        timeout: Any,
    ) -> None:
        self._connection = connection
        self._answer = answer
        self._stream = stream
        self._timeout = timeout
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        answer = self._answer
        try:
            while True:
                if answer.body:
                    parts, answer.body = answer.body, []
                    for part in parts:
                        yield part
                if answer.done:
                    return
                answer.take(await self._stream.read(READ_NUM_BYTES, self._timeout))
        except BaseException:
            self._closed = True
            await self._connection._abort()
            raise

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            if self._answer.done and not self._answer.body:
                await self._connection._release(self._answer)
            else:  # not read to its end: the rest would be taken for the next answer
                await self._connection._abort()

"""core.http11: the egress pool's HTTP/1.1 connection answers as httpcore's h11 connection
does. Each answer below is sent by a raw socket server to both (httpcore's pool and ours)
and must come out the same: status, raw headers in order, body, version and reason, the
connection reused or not, or the same httpcore error."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from typing import Any

import httpcore
import httpx
import pytest

from core.connpool import LeanPool
from core.egress import EgressPolicy, _CheckedBackend, egress_client
from core.http11 import Http11Connection
from core.http11answer import MAX_HEAD_BYTES, Answer
from tests.support.loops import event_loop_policy  # noqa: F401  (each test on both loops)

HOST = {"Host": "127.0.0.1"}

#: name -> (the answer's bytes; None: the server closes after them).
ANSWERS: dict[str, bytes] = {
    "length": b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
    "chunked": (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n"
    ),
    "chunked-empty": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "no-content": b"HTTP/1.1 204 No Content\r\nX-A: a\r\n\r\n",
    "not-modified": b"HTTP/1.1 304 Not Modified\r\nETag: x\r\nContent-Length: 10\r\n\r\n",
    "continue": b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    "early-hints": (
        b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
        b"HTTP/1.1 201 Created\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n"
    ),
    "close": b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
    "http10": b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
    "http10-keep-alive": (
        b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok"
    ),
    "headers": (
        b"HTTP/1.1 200 Fine Thanks\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nX-Empty:\r\n"
        b"X-Space:   padded \t\r\nX-Utf8: caf\xc3\xa9\r\nContent-Length: 0\r\n\r\n"
    ),
    "no-reason": b"HTTP/1.1 200\r\nContent-Length: 1\r\n\r\nx",
    "folded": b"HTTP/1.1 200 OK\r\nX-Fold: a\r\n  b\r\n\tc\r\nContent-Length: 2\r\n\r\nok",
    "bare-lf": b"HTTP/1.1 200 OK\nX-A: a\nContent-Length: 2\n\nok",
    "chunked-over-length": (
        b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"2\r\nok\r\n0\r\n\r\n"
    ),
    "gzip-coding": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
    "two-codings": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
    "bad-header": b"HTTP/1.1 200 OK\r\nX-Nul: a\x00b\r\nContent-Length: 2\r\n\r\nok",
    "bad-length": b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok",
    "not-http": b"SSH-2.0-OpenSSH_9.6\r\n\r\n",
    "big": b"HTTP/1.1 200 OK\r\nContent-Length: 4000000\r\n\r\n" + b"x" * 4_000_000,
    "head-too-long": b"HTTP/1.1 200 OK\r\n" + b"X-Big: " + b"x" * (MAX_HEAD_BYTES + 10) + b"\r\n",
}
#: Answers the server ends by closing the connection.
CLOSING: dict[str, bytes] = {
    "until-close": b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it",
    "until-close-http10": b"HTTP/1.0 200 OK\r\n\r\nall of it",
    "truncated": b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nonly5",
    "truncated-chunk": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
    "truncated-head": b"HTTP/1.1 200 OK\r\nContent-Le",
    "nothing": b"",
}


class _Server:
    """Answers each request with the canned answer its path names; counts connections."""

    def __init__(self) -> None:
        self.connections = 0
        self.received: list[bytes] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                self.received.append(head)
                name = head.split(b" ", 2)[1].decode().strip("/")
                if name in CLOSING:
                    writer.write(CLOSING[name])
                    break
                answer = ANSWERS[name]
                if head.startswith(b"HEAD "):  # the head alone
                    answer = answer.split(b"\r\n\r\n")[0] + b"\r\n\r\n"
                writer.write(answer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()


@pytest.fixture
async def server() -> AsyncIterator[tuple[_Server, int]]:
    state = _Server()
    listening = await asyncio.start_server(state.handle, "127.0.0.1", 0)
    yield state, listening.sockets[0].getsockname()[1]
    listening.close()


def _pools() -> list[httpcore.AsyncConnectionPool]:
    backend = _CheckedBackend(EgressPolicy.of(["127.0.0.1"]))
    return [
        httpcore.AsyncConnectionPool(),  # httpcore's h11 connection: the reference
        LeanPool(network_backend=backend),
    ]


async def _outcome(
    pool: httpcore.AsyncConnectionPool, url: str, method: str = "GET"
) -> tuple[Any, ...]:
    """What the pool makes of one answer (or its error), then whether a second request
    went over the same connection."""
    try:
        response = await pool.request(method, url, headers=HOST)
    except httpcore.ProtocolError as exc:
        return (type(exc).__name__,)
    ext = response.extensions
    return (response.status, response.headers, response.content, ext["http_version"],
            ext["reason_phrase"])  # fmt: skip


@pytest.mark.parametrize("name", [n for n in [*ANSWERS, *CLOSING] if n != "big"])
async def test_an_answer_comes_out_as_httpcores(server: tuple[_Server, int], name: str) -> None:
    state, port = server
    url = f"http://127.0.0.1:{port}/{name}"
    seen = []
    for pool in _pools():
        async with pool:
            before = state.connections
            outcome = await _outcome(pool, url)
            again = await _outcome(pool, f"http://127.0.0.1:{port}/length")
            seen.append((outcome, again, state.connections - before))
    ours, theirs = seen[1], seen[0]
    if name == "folded":  # h11 unfolds, llhttp refuses: unfolded as h11 does
        assert ours[0][1] == [(b"X-Fold", b"a b c"), (b"Content-Length", b"2")]
    assert ours == theirs


async def test_a_head_answer_has_no_body_and_keeps_the_connection(
    server: tuple[_Server, int],
) -> None:
    state, port = server
    for pool in _pools():
        async with pool:
            before = state.connections
            head = await _outcome(pool, f"http://127.0.0.1:{port}/not-modified", "HEAD")
            assert head[:3] == (304, [(b"ETag", b"x"), (b"Content-Length", b"10")], b"")
            response = await pool.request("HEAD", f"http://127.0.0.1:{port}/length", headers=HOST)
            assert (response.headers[-1], response.content) == ((b"Content-Length", b"2"), b"")
            assert (await _outcome(pool, f"http://127.0.0.1:{port}/length"))[2] == b"{}"
            assert state.connections - before == 1


def test_an_answer_fed_a_byte_at_a_time_is_parsed_whole() -> None:
    data = (
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nX-Fold: a\r\n b\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
    )
    answer = Answer(head_request=False)
    for i in range(len(data)):
        answer.feed(data[i : i + 1])
    assert answer.done and answer.keep_alive and not answer.stray
    assert answer.headers == [(b"X-Fold", b"a b"), (b"Transfer-Encoding", b"chunked")]
    assert b"".join(answer.body) == b"abcde"


async def test_a_request_asking_to_close_does_not_reuse_the_connection(
    server: tuple[_Server, int],
) -> None:
    state, port = server
    async with LeanPool(network_backend=_CheckedBackend(EgressPolicy.of(["127.0.0.1"]))) as pool:
        url = f"http://127.0.0.1:{port}/length"
        await pool.request("GET", url, headers={**HOST, "Connection": "close"})
        await pool.request("GET", url, headers=HOST)
    assert state.connections == 2


async def test_timeouts_cancellation_and_partial_reads_close_the_connection(
    server: tuple[_Server, int],
) -> None:
    """A read timeout is httpx's ReadTimeout; a request cancelled part-way or an answer
    closed before its end leaves no connection to reuse and no request in the pool."""
    _, port = server
    silent = asyncio.Event()

    async def never(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        await silent.wait()
        writer.close()

    mute = await asyncio.start_server(never, "127.0.0.1", 0)
    mute_url = f"http://127.0.0.1:{mute.sockets[0].getsockname()[1]}/x"
    client = egress_client(EgressPolicy.of(["127.0.0.1"]), timeout=0.05, max_connections=4)
    pool = client.egress._pool
    try:
        with pytest.raises(httpx.ReadTimeout):
            await client.get(mute_url)
        task = asyncio.create_task(client.get(mute_url))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not pool._requests
        assert all(c.is_closed() for c in pool._connections)
        async with client.stream("GET", f"http://127.0.0.1:{port}/big") as response:
            async for _ in response.aiter_raw():
                break  # the rest is never read
        assert all(c.is_closed() for c in pool._connections)
        async with client.stream("GET", f"http://127.0.0.1:{port}/chunked") as response:
            assert [part async for part in response.aiter_raw()] == [b"hello", b" world"]
        assert [c.is_available() for c in pool._connections] == [True]
    finally:
        silent.set()
        await client.aclose()
        mute.close()


async def test_a_server_closing_instead_of_answering_is_a_retryable_httpx_error(
    server: tuple[_Server, int],
) -> None:
    """SyncHttp retries httpx.TransportError: a request the server dropped is one."""
    _, port = server
    async with egress_client(EgressPolicy.of(["127.0.0.1"]), timeout=5, max_connections=2) as c:
        with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
            await c.egress.exchange(
                httpcore.Request("GET", f"http://127.0.0.1:{port}/nothing", headers=HOST)
            )
        _, body = await c.egress.exchange(
            httpcore.Request("GET", f"http://127.0.0.1:{port}/chunked", headers=HOST)
        )
        assert body == b"hello world"
        [connection] = c.egress._pool.connections
        assert isinstance(connection, Http11Connection) and connection.is_available()


def test_answers_are_built_as_httpcore_builds_them() -> None:
    from core.http11 import _EMPTY, _response

    answer = Answer(head_request=False)
    answer.feed(ANSWERS["headers"])
    ours = _response(answer, _EMPTY)
    theirs = httpcore.Response(
        answer.status, headers=answer.headers, content=_EMPTY, extensions=ours.extensions
    )
    assert vars(ours) == vars(theirs)


async def test_an_answer_read_whole_is_freed_without_a_cyclic_collection(
    server: tuple[_Server, int],
) -> None:
    """A sync collects cycles rarely (core.sync.gcpolicy): an answer kept alive by a cycle
    with its parser would hold its body until then. Read whole, through the exchange and
    through httpcore's stream, no answer is left for the cyclic collector."""
    _, port = server
    gc.collect()
    gc.disable()
    try:
        async with LeanPool(
            network_backend=_CheckedBackend(EgressPolicy.of(["127.0.0.1"]))
        ) as pool:
            for _ in range(3):
                request = httpcore.Request("GET", f"http://127.0.0.1:{port}/length", headers=HOST)
                _, body = await pool.exchange(request)
                assert body == b"{}"
                streamed = await pool.request("GET", f"http://127.0.0.1:{port}/chunked")
                assert streamed.status == 200
                del streamed  # its stream holds its answer: alive, not garbage
        left = [o for o in gc.get_objects() if isinstance(o, Answer)]
    finally:
        gc.enable()
    assert left == []

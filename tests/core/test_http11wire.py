"""core.http11wire: a request's bytes are the ones h11 (httpcore's HTTP/1.1 connection)
writes, body and framing included, and what h11 refuses is refused the same way."""

from __future__ import annotations

from collections.abc import AsyncIterator

import h11
import httpcore
import pytest

from core.http11wire import request_head

URL = "https://api.hubapi.com/crm/v3/objects/deals?limit=100&after=MTAw"

#: (method, headers, body): body None for a streamed, chunked one.
REQUESTS: list[tuple[str, list[tuple[bytes, bytes]], bytes | None]] = [
    ("GET", [(b"Host", b"api.hubapi.com"), (b"Accept", b"*/*")], b""),
    (
        "GET",  # Host not first, odd casing, duplicates, obs-text, an empty value
        [
            (b"accept-Encoding", b"gzip, deflate"),
            (b"X-Dup", b"1"),
            (b"HOST", b"api.hubapi.com:443"),
            (b"x-dup", b"2"),
            (b"X-Text", b"caf\xc3\xa9"),
            (b"X-Empty", b""),
        ],
        b"",
    ),
    (
        "POST",
        [
            (b"Host", b"h"),
            (b"Content-Length", b"17"),
            (b"Content-Length", b"17 ,17"),  # the same length twice: sent once, normalised
            (b"Content-Type", b"application/json"),
        ],
        b'{"filters": [1]}\n',
    ),
    ("PATCH", [(b"Host", b"h"), (b"Content-Length", b"0")], b""),
    ("PUT", [(b"Host", b"h"), (b"Transfer-Encoding", b"Chunked")], None),
    ("DELETE", [(b"Host", b"h"), (b"Connection", b"keep-alive, Close")], b""),
]


def _h11_bytes(method: str, headers: list[tuple[bytes, bytes]], body: bytes | None) -> bytes:
    connection = h11.Connection(h11.CLIENT)
    target = httpcore.URL(URL).target
    out = connection.send(h11.Request(method=method, target=target, headers=headers)) or b""
    for part in [b"part one, ", b"", b"part two"] if body is None else [body]:
        out += connection.send(h11.Data(data=part)) or b""
    return out + (connection.send(h11.EndOfMessage()) or b"")


async def _parts() -> AsyncIterator[bytes]:
    for part in [b"part one, ", b"", b"part two"]:
        yield part


async def _our_bytes(method: str, headers: list[tuple[bytes, bytes]], body: bytes | None) -> bytes:
    from core.http11 import Http11Connection

    class Capture:
        sent = b""

        async def write(self, data: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
            self.sent += data

    request = httpcore.Request(
        method, URL, headers=headers, content=_parts() if body is None else body
    )
    stream = Capture()
    connection = Http11Connection(request.url.origin, network_backend=None)  # type: ignore[arg-type]
    await connection._send(stream, request, request_head(request), None)  # type: ignore[arg-type]
    return stream.sent


@pytest.mark.parametrize(("method", "headers", "body"), REQUESTS)
async def test_the_request_bytes_are_h11s(
    method: str, headers: list[tuple[bytes, bytes]], body: bytes | None
) -> None:
    assert await _our_bytes(method, headers, body) == _h11_bytes(method, headers, body)


def test_a_request_asking_to_close_says_so() -> None:
    head = request_head(httpcore.Request("GET", URL, headers=REQUESTS[-1][1]))
    assert head[1:] == (None, False, True)
    assert request_head(httpcore.Request("GET", URL, headers=REQUESTS[0][1]))[3] is False


@pytest.mark.parametrize(
    "headers",
    [
        [(b"Accept", b"*/*")],  # no Host
        [(b"Host", b"a"), (b"Host", b"b")],
        [(b"Host", b"a"), (b"Bad Name", b"x")],
        [(b"Host", b"a"), (b"X", b"line\r\nInjected: yes")],
        [(b"Host", b"a"), (b"X", b" leading space")],
        [(b"Host", b"a"), (b"X", b"nul\x00")],
        [(b"Host", b"a"), (b"Content-Length", b"1"), (b"Content-Length", b"2")],
        [(b"Host", b"a"), (b"Content-Length", b"1, 2")],
        [(b"Host", b"a"), (b"Content-Length", b"-1")],
        [(b"Host", b"a"), (b"Transfer-Encoding", b"gzip")],
        [(b"Host", b"a"), (b"Transfer-Encoding", b"chunked"), (b"Transfer-Encoding", b"chunked")],
    ],
)
def test_what_h11_refuses_is_refused(headers: list[tuple[bytes, bytes]]) -> None:
    with pytest.raises(h11.LocalProtocolError):
        h11.Request(method="GET", target="/", headers=headers)
    for _ in range(2):  # a refused pair is never remembered as checked
        with pytest.raises(httpcore.LocalProtocolError):
            request_head(httpcore.Request("GET", URL, headers=headers))


@pytest.mark.parametrize(
    ("method", "url", "headers"),
    [
        ("GE T", URL, [(b"Host", b"a")]),
        ("CONNECT", URL, [(b"Host", b"a")]),
        ("GET", URL, [(b"Host", b"a"), (b"Upgrade", b"websocket")]),
    ],
)
def test_bad_methods_tunnels_and_upgrades_are_refused(
    method: str, url: str, headers: list[tuple[bytes, bytes]]
) -> None:
    with pytest.raises(httpcore.LocalProtocolError):
        request_head(httpcore.Request(method, url, headers=headers))


async def test_a_body_longer_or_shorter_than_its_length_is_refused() -> None:
    for length, body in ((b"2", b"abc"), (b"5", b"abc"), (None, b"abc")):
        headers = [(b"Host", b"h")] + ([(b"Content-Length", length)] if length else [])
        with pytest.raises(httpcore.LocalProtocolError, match="data for declared"):
            await _our_bytes("POST", headers, body)
        with pytest.raises(h11.LocalProtocolError, match="data for declared"):
            _h11_bytes("POST", headers, body)

"""The HTTP policy: retries, Retry-After, auth refresh single-flight, no retry on 4xx."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx
import pytest

from core.sync.connector import Auth, Connector, RateLimitPolicy, Request, Stream, TextBody
from core.sync.errors import AuthFailed, RequestFailed
from core.sync.http import RetryPolicy, SyncHttp
from core.sync.ratelimit import RateLimiter

FAST = RetryPolicy(attempts=5, base=0.001, cap=0.01)


class FakeConnector(Connector):
    name = "fake"
    title = "Fake"
    default_base_url = "https://crm.test"
    credential_fields = ()
    rate_limit = RateLimitPolicy(requests=1000, per_seconds=1.0)

    def __init__(self) -> None:
        self.refreshes = 0

    def streams(self) -> Sequence[Stream]:
        return []

    async def authenticate(
        self,
        http: httpx.AsyncClient,
        credentials: Mapping[str, str],
        base_url: str,
        *,
        refresh: bool = False,
    ) -> Auth:
        if refresh:
            self.refreshes += 1
            await asyncio.sleep(0.01)  # concurrent callers pile up behind the lock
        return Auth(headers={"Authorization": f"Bearer t{self.refreshes}"})


def _http(
    handler: Callable[[httpx.Request], httpx.Response], connector: FakeConnector | None = None
) -> SyncHttp:
    connector = connector or FakeConnector()
    return SyncHttp(
        client=httpx.AsyncClient(transport=httpx.MockTransport(handler)),
        connector=connector,
        credentials={"token": "s3cr3t"},
        base_url="https://crm.test",
        limiter=RateLimiter(connector.rate_limit),
        retry=FAST,
    )


def _sequence(*responses: httpx.Response | Exception) -> Callable[[httpx.Request], Any]:
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        item = queue.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    return handler


async def test_5xx_and_transport_errors_are_retried_then_succeed() -> None:
    http = _http(
        _sequence(
            httpx.Response(503),
            httpx.ConnectError("refused"),
            httpx.ReadError("reset"),
            httpx.Response(200, json={"ok": 1}),
        )
    )
    assert await http.send(Request(path="/x")) == {"ok": 1}
    assert http.retries == 3 and http.requests == 4


async def test_429_honours_retry_after() -> None:
    http = _http(
        _sequence(httpx.Response(429, headers={"Retry-After": "0.3"}), httpx.Response(200, json=1))
    )
    started = time.monotonic()
    assert await http.send(Request(path="/x")) == 1
    assert time.monotonic() - started >= 0.3


async def test_other_4xx_fails_at_once_without_leaking_the_query() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(404)

    http = _http(handler)
    with pytest.raises(RequestFailed) as info:
        await http.send(Request(path="/deals?api_token=s3cr3t"))
    assert calls == 1 and info.value.status == 404
    assert "s3cr3t" not in str(info.value) and "/deals" in str(info.value)


async def test_retries_exhausted_raise_request_failed() -> None:
    http = _http(lambda request: httpx.Response(500))
    with pytest.raises(RequestFailed, match="after 5 attempts"):
        await http.send(Request(path="/x"))
    assert http.requests == 5


async def test_401_refreshes_once_for_all_concurrent_requests() -> None:
    connector = FakeConnector()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.headers["Authorization"] == "Bearer t0":
            return httpx.Response(401)
        return httpx.Response(200, json={"auth": request.headers["Authorization"]})

    http = _http(handler, connector)
    results = await asyncio.gather(*(http.send(Request(path=f"/{i}")) for i in range(8)))
    assert results == [{"auth": "Bearer t1"}] * 8
    assert connector.refreshes == 1


async def test_401_after_refresh_is_an_auth_failure() -> None:
    http = _http(lambda request: httpx.Response(401))
    with pytest.raises(AuthFailed, match="after a token refresh"):
        await http.send(Request(path="/x"))


async def test_relative_and_absolute_paths_and_auth_params() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json={})

    http = _http(handler)
    await http.send(Request(path="/v1/deals", params={"limit": 5}))
    await http.send(Request(path="https://other.test/next?page=2"))
    assert seen == ["https://crm.test/v1/deals?limit=5", "https://other.test/next?page=2"]


async def test_a_text_request_gets_the_body_and_headers_after_the_same_retries() -> None:
    csv_page = httpx.Response(200, text="Id,Name\n001A,Acme\n", headers={"Sforce-Locator": "MTAw"})
    http = _http(_sequence(httpx.Response(503), csv_page))
    page = await http.send(Request(path="/jobs/1/results", decode="text"))
    assert isinstance(page, TextBody)
    assert page.text == "Id,Name\n001A,Acme\n"
    assert page.headers["sforce-locator"] == "MTAw"
    assert http.retries == 1


def test_bodies_msgspec_refuses_decode_as_the_standard_library_does() -> None:
    from core.sync.http import _loads, loads

    assert loads(b'{"a": [1, 2.5, null, "\xc3\xa9"]}') == {"a": [1, 2.5, None, "é"]}
    # A lone surrogate reaches the record (and the text check quarantines it, alone).
    assert _loads(b'{"name": "bad \\ud800"}') == ({"name": "bad \ud800"}, False)
    assert _loads(b'{"name": "bad \xed\xa0\x80"}') == ({"name": "bad \ud800"}, False)
    # Integers of any size keep every digit, decoded strictly (no second decoder needed).
    assert _loads(b'{"big": 1234567890123456789012}') == ({"big": 1234567890123456789012}, True)
    assert loads(b"[-98765432109876543210, 18446744073709551616]") == [
        -98765432109876543210,
        18446744073709551616,
    ]
    assert loads(b"[9999999999999999999]") == [9999999999999999999]
    assert loads(b"[0.12345678901234567890, -0.0, 1E5]") == [0.12345678901234567890, -0.0, 1e5]
    assert str(loads(b'{"x": NaN}')["x"]) == "nan"
    assert _loads(b"[1e400, -Infinity]") == ([float("inf"), float("-inf")], False)
    assert loads(b'\xef\xbb\xbf{"bom": 1}') == {"bom": 1}
    for broken in (b'{"a": "\xff"}', b'{"a": 1', b'{"a": 1} x', b'{"a": "x\ny"}'):
        with pytest.raises(ValueError):  # invalid UTF-8, truncated, trailing, raw newline
            loads(broken)


@pytest.mark.parametrize(
    ("body", "clean"),
    [
        (b'{"name": "Caf\xc3\xa9", "n": 1}', True),  # UTF-8 text decodes to storable text
        (b'{"name": "nul \\u0000"}', False),
        (b'{"name": "bad \\ud800"}', False),  # lone surrogate: orjson refuses, json takes
        (b'{"name": "pair \\uD83D\\uDE00"}', False),  # any surrogate escape: cautious
        (b'{"n": NaN}', False),  # decoded by json: not vouched for
        (b'{"big": 1234567890123456789012}', True),  # msgspec reads it exactly and strictly
    ],
)
async def test_text_clean_stays_true_only_while_every_body_is_vouched_for(
    body: bytes, clean: bool
) -> None:
    plain = httpx.Response(200, content=b'{"ok": "yes"}')
    http = _http(_sequence(plain, httpx.Response(200, content=body), plain))
    await http.send(Request(path="/a"))
    assert http.text_clean is True
    await http.send(Request(path="/b"))
    await http.send(Request(path="/c"))
    assert http.text_clean is clean  # once False, it stays False for the run


async def test_a_text_body_with_a_nul_byte_is_not_clean() -> None:
    http = _http(_sequence(httpx.Response(200, content=b"Id,Name\n1,a\x00b\n")))
    await http.send(Request(path="/jobs/1/results", decode="text"))
    assert http.text_clean is False


async def test_a_sent_request_leaves_no_reference_cycle_for_the_collector() -> None:
    """httpx binds a response and its stream to each other; the read response's stream is
    dropped, so a request's objects are freed by reference counting (a sync sends
    hundreds, and their cycles made most of its garbage collections)."""
    import gc

    gc.disable()
    gc.collect(0)  # what is young now moves on: the next generation-0 pass sees only ours
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        http = _http(_sequence(httpx.Response(200, json={"ok": 1})))
        assert await http.send(Request(path="/a")) == {"ok": 1}
        gc.collect(0)
        leftovers = [o for o in gc.garbage if isinstance(o, httpx.Response | httpx.Request)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert leftovers == []


async def test_client_headers_cookies_and_timeout_go_with_every_request() -> None:
    """Requests skip AsyncClient.request (core.sync.http.SyncHttp._exchange) but keep what
    it adds: the client's default headers under the auth headers, its timeout, and the
    cookies an answer set, sent back on the next request."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) == 1:
            return httpx.Response(200, json={}, headers={"Set-Cookie": "lb=node-7; Path=/"})
        return httpx.Response(200, json={"n": len(seen)})

    http = _http(handler)
    http.client.headers["User-Agent"] = "crmkpi-test"
    http.client.timeout = httpx.Timeout(7.0)
    assert await http.send(Request(path="/v1/deals")) == {}
    assert await http.send(Request(path="/v1/deals", params={"start": 500})) == {"n": 2}
    first, second = seen
    assert "cookie" not in first.headers
    assert second.headers["cookie"] == "lb=node-7"
    for request in seen:
        assert request.headers["user-agent"] == "crmkpi-test"
        assert request.headers["authorization"] == "Bearer t0"
        assert request.extensions["timeout"]["read"] == 7.0
    assert str(second.url) == "https://crm.test/v1/deals?start=500"


async def test_a_client_with_event_hooks_goes_through_asyncclient() -> None:
    hooked: list[str] = []

    async def on_request(request: httpx.Request) -> None:
        hooked.append(request.url.path)

    http = _http(lambda request: httpx.Response(200, json={"ok": 1}))
    http.client.event_hooks = {"request": [on_request], "response": []}
    assert await http.send(Request(path="/v1/users")) == {"ok": 1}
    assert hooked == ["/v1/users"]

"""core.sync.exchange: a sync's requests sent straight to the egress pool are the requests
httpx would send (byte for byte, over a real socket), and their answers, errors and
cookies are what httpx makes of them."""

from __future__ import annotations

import gzip
import socket
from collections.abc import Iterator
from typing import Any

import httpcore
import httpx
import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from core.egress import EgressPolicy, OutboundRefused, RedirectRefused, egress_client
from core.sync.exchange import MAX_URLS, Exchange, encode_params
from tests.support.server import serve

LOCAL = EgressPolicy.of(["127.0.0.1"])


async def _echo(request: Request) -> Response:
    """What arrived: method, target, headers in order, body."""
    query = request.scope["query_string"]  # ASGI: a bare "?" reads as no query
    target = request.scope["raw_path"] + (b"?" + query if query else b"")
    return JSONResponse(
        {
            "method": request.method,
            "target": target.decode(),
            "headers": [[k.decode(), v.decode()] for k, v in request.scope["headers"]],
            "body": (await request.body()).decode(),
        }
    )


async def _gzipped(request: Request) -> Response:
    body = gzip.compress(b'{"deals": [1, 2, 3]}')
    return Response(body, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"})


async def _cookie(request: Request) -> Response:
    response = JSONResponse({"set": True})
    response.set_cookie("__cf_bm", "abc", path="/")
    return response


async def _moved(request: Request) -> Response:
    return RedirectResponse("http://169.254.169.254/latest/meta-data", status_code=302)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    app = Starlette(
        routes=[
            Route("/gzip", _gzipped),
            Route("/cookie", _cookie),
            Route("/moved", _moved),
            Route("/{path:path}", _echo, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
        ]
    )
    with serve(app) as url:
        yield url


#: (method, path, params, JSON body): what connectors send.
SHAPES: list[tuple[str, str, dict[str, Any] | None, Any]] = [
    ("GET", "/crm/v3/objects/deals", {"limit": 100, "archived": "false"}, None),
    ("GET", "/v2/deals", {"ids": [1, 2, 3], "flag": True, "off": False, "none": None}, None),
    ("GET", "/search", {"q": "Café & co / 100% = ok?", "sort": "name asc"}, None),
    ("GET", "/v1/deals/42/flow?start=100&limit=50", None, None),  # the URL's own query
    ("GET", "/v1/deals/42/flow?start=100", {"limit": 5}, None),  # params replace it
    ("GET", "/v1/deals/42/flow?start=100", {}, None),  # empty params: no query either
    ("GET", "/v1/deals/42/flow?start=100", {"ids": []}, None),  # "?" and nothing
    ("GET", "/a path/with é/and%20escape/./x/../y", None, None),
    ("POST", "/crm/v3/objects/deals/search", None, {"filters": [{"v": "é"}], "n": 10**30}),
    ("POST", "/empty", None, None),
    ("PATCH", "/deals/7", None, {}),
    ("DELETE", "/deals/7", {"soft": 1}, None),
]


@pytest.mark.parametrize(("method", "path", "params", "body"), SHAPES)
async def test_the_request_sent_is_the_one_httpx_sends(
    server: str, method: str, path: str, params: dict[str, Any] | None, body: Any
) -> None:
    auth = {"Authorization": "Bearer tok", "X-Api-Key": "k"}
    async with egress_client(LOCAL, timeout=5, max_connections=2) as client:
        exchange = Exchange(client)
        fast = await exchange.send(method, server + path, params, body, auth)
        assert exchange._urls  # the direct path, not httpx's
        via_httpx = await client.request(
            method, server + path, params=params, json=body, headers=auth
        )
    assert fast.status_code == via_httpx.status_code == 200
    assert fast.json() == via_httpx.json()
    assert dict(fast.json()["headers"])["authorization"] == "Bearer tok"


async def test_a_compressed_answer_is_decoded_and_headers_are_httpx_headers(server: str) -> None:
    async with egress_client(LOCAL, timeout=5, max_connections=2) as client:
        response = await Exchange(client).send("GET", server + "/gzip", None, None, {})
    assert response.headers["content-encoding"] == "gzip"
    assert response.json() == {"deals": [1, 2, 3]}
    assert response.content == b'{"deals": [1, 2, 3]}'


async def test_cookies_an_answer_sets_are_kept_and_sent_back(server: str) -> None:
    async with egress_client(LOCAL, timeout=5, max_connections=2) as client:
        exchange = Exchange(client)
        await exchange.send("GET", server + "/cookie", None, None, {})
        assert client.cookies.get("__cf_bm") == "abc"
        echoed = (await exchange.send("GET", server + "/next", None, None, {})).json()
    assert ["cookie", "__cf_bm=abc"] in echoed["headers"]


async def test_redirects_and_other_schemes_are_refused_on_the_direct_path(server: str) -> None:
    async with egress_client(LOCAL, timeout=5, max_connections=2) as client:
        exchange = Exchange(client)
        with pytest.raises(RedirectRefused, match="302 redirect on /moved"):
            await exchange.send("GET", server + "/moved", None, None, {})
        with pytest.raises(OutboundRefused, match="scheme 'ftp'"):
            await exchange.send("GET", "ftp://127.0.0.1/file", None, None, {})
        # the connection the refused redirect came on is back in the pool, usable
        assert (await exchange.send("GET", server + "/ok", None, None, {})).status_code == 200


async def test_connection_errors_are_httpx_errors(server: str) -> None:
    """SyncHttp retries httpx.TransportError: the direct path raises httpx's errors."""
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    async with egress_client(LOCAL, timeout=5, max_connections=2) as client:
        with pytest.raises(httpx.ConnectError):
            await Exchange(client).send("GET", f"http://127.0.0.1:{port}/x", None, None, {})
    async with egress_client(EgressPolicy.of([]), timeout=5, max_connections=2) as client:
        with pytest.raises(OutboundRefused):  # the egress check itself, not a retryable error
            await Exchange(client).send("GET", server + "/x", None, None, {})


async def test_other_clients_go_through_httpx() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": 1})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        exchange = Exchange(client)
        response = await exchange.send("POST", "http://crm.test/a", {"x": 1}, {"b": 2}, {})
    assert response.json() == {"ok": 1} and not exchange._urls
    assert str(seen[0].url) == "http://crm.test/a?x=1"
    assert orjson.loads(seen[0].content) == {"b": 2}


def test_the_url_cache_is_bounded() -> None:
    exchange = Exchange(httpx.AsyncClient())
    for n in range(MAX_URLS + 5):
        exchange._parse(f"https://api.crm.test/v1/deals/{n}/flow")
    assert len(exchange._urls) <= MAX_URLS
    assert exchange._parse("https://api.crm.test:8443/x?y=1").query == b"?y=1"


def test_params_are_encoded_as_httpx_encodes_them() -> None:
    for params in (
        {"a": "b c", "d": ["1", 2, True, None], "e": "é/&=?#+%"},
        {"after": "MTAw", "properties": ("dealname", "amount")},
        {1: 2.5},
    ):
        assert encode_params(params).decode() == str(httpx.QueryParams(params))


async def test_a_sync_client_sends_through_the_direct_path(server: str) -> None:
    """SyncHttp on the client create_http_client makes (what runs use) takes the direct
    path: its requests arrive with the auth headers and params, and decode as JSON."""
    from core.sync.connector import Request
    from core.sync.http import SyncHttp, create_http_client
    from core.sync.ratelimit import RateLimiter
    from tests.core.sync.test_http import FAST, FakeConnector

    connector = FakeConnector()
    async with create_http_client(egress=LOCAL) as client:
        http = SyncHttp(
            client=client,
            connector=connector,
            credentials={},
            base_url=server,
            limiter=RateLimiter(connector.rate_limit),
            retry=FAST,
        )
        echoed = await http.send(Request(path="/v1/deals", params={"limit": 2}))
        assert http._exchange._urls  # not httpx's request path
    assert echoed["target"] == "/v1/deals?limit=2"
    assert ["authorization", "Bearer t0"] in echoed["headers"]


def test_requests_are_built_as_httpcore_builds_them() -> None:
    """The request made without httpcore's checks has every attribute its __init__ sets
    (a new httpcore attribute would show here, not as a failure mid-sync)."""
    from core.sync.exchange import _request

    url = httpcore.URL(scheme=b"https", host=b"api.hubapi.com", port=None, target=b"/x?a=1")
    headers = [(b"Host", b"api.hubapi.com"), (b"Authorization", b"Bearer t")]
    ours = _request(b"POST", url, headers, b"{}", {"timeout": {"read": 1.0}})
    theirs = httpcore.Request(
        "POST", url, headers=headers, content=b"{}", extensions={"timeout": {"read": 1.0}}
    )
    assert set(vars(ours)) == set(vars(theirs))
    assert (ours.method, ours.url, ours.headers, ours.extensions) == (
        theirs.method,
        theirs.url,
        theirs.headers,
        theirs.extensions,
    )
    assert list(ours.stream) == list(theirs.stream) == [b"{}"]  # type: ignore[arg-type]

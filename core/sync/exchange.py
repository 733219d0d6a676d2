"""One request of a sync through its client: what httpx would send, without its per-request layers.

A sync sends hundreds (HubSpot) to thousands (Pipedrive) of requests through one client to
one or two hosts. Per request, httpx parses the URL and encodes the query (``httpx.URL``),
builds a ``Request`` and its headers, converts both to httpcore's, wraps the answer's
stream three times (each with its own exception mapping) and joins the body through a
chunker and a decoder: about a third of the HTTP path's CPU, for work whose result is the
same request after request.

:class:`Exchange` sends the same request straight to the egress pool
(``EgressTransport.exchange``, which keeps every egress check): each distinct URL is parsed
by ``httpx.URL`` once (so the path is encoded as httpx encodes it), the query is encoded as
``httpx.QueryParams`` encodes it (and, as in httpx, replaces the URL's own query), the
headers are httpx's in httpx's order (``Host``; ``Content-Length: 0`` for a body-less
POST/PUT/PATCH; the client's defaults updated by the request's; then ``Content-Length`` and
``Content-Type`` of a JSON body, encoded as httpx encodes it), with the client's timeout.
The answer is an ``httpx.Response`` with its body read; a ``Content-Encoding`` is decoded
by httpx itself. Cookies are httpx's: a client whose jar holds any sends through httpx
(``Cookie`` headers are the jar's to compute), and an answer that sets one is given to
the jar. Clients that are not egress clients, or that have auth or event hooks, go through
``AsyncClient.request`` (what tests' mock transports use).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import quote_plus

import httpcore
import httpx
from httpcore._models import ByteStream

from core.egress import EgressClient

#: Distinct URLs (paths, without the params) whose parts are kept; Pipedrive's per-deal
#: reads have one path per deal, so the cache is emptied when it is full.
MAX_URLS = 1024

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_JSON_TYPE = (b"Content-Type", b"application/json")


@dataclass(frozen=True, slots=True)
class _Parts:
    """A URL as httpx parsed it: what httpcore needs, the path apart from the query."""

    scheme: bytes
    host: bytes
    port: int | None
    path: bytes
    query: bytes  #: b"" or b"?..." (the URL's own query, sent when there are no params)
    netloc: bytes


@dataclass(frozen=True, slots=True)
class _Headers:
    """The client's default headers updated by one request's (auth) headers."""

    given: Mapping[str, str]
    merged: httpx.Headers
    raw: list[tuple[bytes, bytes]]
    has_host: bool
    has_length: bool  #: Content-Length or Transfer-Encoding
    has_type: bool
    has_content_length: bool


class Exchange:
    """Sends one connection's requests through its client (see the module docstring)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self._urls: dict[str, _Parts] = {}
        self._headers: _Headers | None = None
        self._timeout: tuple[httpx.Timeout, dict[str, float | None]] | None = None

    async def send(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        body: Any,
        headers: Mapping[str, str],
    ) -> httpx.Response:
        """One request, its answer read and closed."""
        client = self.client
        if (
            not isinstance(client, EgressClient)
            or client.auth is not None
            or any(client.event_hooks.values())
            or client.cookies
        ):
            return await self._through_httpx(method, url, params, body, headers)
        parts = self._urls.get(url)
        if parts is None:
            parts = self._parse(url)
        if params is None:
            target = parts.path + parts.query
        else:  # as httpx: params replace the URL's query; empty params, no query at all
            target = parts.path + (b"?" + encode_params(params) if params else b"")
        given = self._merged(headers)
        head = [] if given.has_host else [(b"Host", parts.netloc)]
        method = method.upper()
        content = b""
        tail: list[tuple[bytes, bytes]] = []
        if body is not None:
            content = encode_json(body)
            if not given.has_content_length:
                tail.append((b"Content-Length", str(len(content)).encode()))
            if not given.has_type:
                tail.append(_JSON_TYPE)
        elif not given.has_length and method in _BODY_METHODS:
            head.append((b"Content-Length", b"0"))
        request = _request(
            method.encode("ascii"),
            httpcore.URL(scheme=parts.scheme, host=parts.host, port=parts.port, target=target),
            head + given.raw + tail if head or tail else given.raw,
            content,
            {"timeout": self._timeouts()},
        )
        answer, raw = await client.egress.exchange(request)
        response = httpx.Response(
            answer.status,
            headers=answer.headers,
            stream=httpx.ByteStream(raw),
            extensions=answer.extensions,
        )
        encoding = response.headers.get("content-encoding")
        if encoding is None or encoding == "identity":
            response._content = raw  # already whole: httpx's read would only copy it
        else:
            response.read()  # httpx's decoders (gzip, deflate, br, zstd)
        if "set-cookie" in response.headers:
            response.request = httpx.Request(method, url, params=params)
            client.cookies.extract_cookies(response)
        return response

    def _timeouts(self) -> dict[str, float | None]:
        """The client's timeouts as httpcore takes them (made again if they changed)."""
        timeout = self.client.timeout
        cached = self._timeout
        if cached is None or cached[0] is not timeout:
            cached = self._timeout = (timeout, timeout.as_dict())
        return cached[1]

    def _parse(self, url: str) -> _Parts:
        parsed = httpx.URL(url)
        path, query = parsed.raw_path, b""
        if b"?" in path:
            path, _, rest = path.partition(b"?")
            query = b"?" + rest
        parts = _Parts(parsed.raw_scheme, parsed.raw_host, parsed.port, path, query, parsed.netloc)
        if len(self._urls) >= MAX_URLS:
            self._urls.clear()
        self._urls[url] = parts
        return parts

    def _merged(self, headers: Mapping[str, str]) -> _Headers:
        """The client's headers updated by ``headers`` (the same mapping on every request
        until the token changes: merged once per mapping)."""
        cached = self._headers
        if cached is not None and cached.given is headers:
            return cached
        merged = self.client.headers.copy()
        merged.update(headers)
        cached = self._headers = _Headers(
            given=headers,
            merged=merged,
            raw=merged.raw,
            has_host="host" in merged,
            has_length="content-length" in merged or "transfer-encoding" in merged,
            has_type="content-type" in merged,
            has_content_length="content-length" in merged,
        )
        return cached

    async def _through_httpx(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        body: Any,
        headers: Mapping[str, str],
    ) -> httpx.Response:
        """The request through the client's transport (or ``AsyncClient.request`` for a
        client with auth or hooks): the client's default headers and timeout, and its
        cookies (sent when the jar holds any, kept when an answer sets some), without
        the client's per-request bookkeeping (a merged cookie jar and two urllib adapters
        per request, the base URL merge, the auth and redirect wrappers)."""
        client = self.client
        transport_for = getattr(client, "_transport_for_url", None)
        if transport_for is None or client.auth is not None or any(client.event_hooks.values()):
            return await client.request(method, url, params=params, json=body, headers=headers)
        outgoing = httpx.Request(
            method,
            url,
            params=params,
            json=body,
            headers=self._merged(headers).merged,
            extensions={"timeout": client.timeout.as_dict()},
        )
        if client.cookies:
            client.cookies.set_cookie_header(outgoing)
        transport: httpx.AsyncBaseTransport = transport_for(outgoing.url)
        response = await transport.handle_async_request(outgoing)
        response.request = outgoing
        try:
            await response.aread()
        finally:
            await response.aclose()
        if "set-cookie" in response.headers:
            client.cookies.extract_cookies(response)
        return response


def _request(
    method: bytes,
    url: httpcore.URL,
    headers: list[tuple[bytes, bytes]],
    content: bytes,
    extensions: dict[str, Any],
) -> httpcore.Request:
    """``httpcore.Request(method, url, headers=..., content=..., extensions=...)`` as its
    ``__init__`` sets it, from values of its types already (bytes, a URL, byte pairs):
    without its per-header type checks (typing ABC checks, a few percent of a request)."""
    request: httpcore.Request = object.__new__(httpcore.Request)
    request.method = method
    request.url = url
    request.headers = headers
    request.stream = ByteStream(content)
    request.extensions = extensions
    return request


#: Keys and values kept quoted (the same ones page after page; lru_cache's bound).
MAX_QUOTED = 4096


def encode_params(params: Mapping[str, Any]) -> bytes:
    """The query string ``httpx.QueryParams(params)`` makes: a list or tuple is one pair
    per item, True/False are "true"/"false", None is empty, anything else is ``str``;
    each quoted as ``urlencode`` quotes it (``quote_plus``), once per distinct text."""
    pairs: list[str] = []
    for key, value in params.items():
        name = _quote(str(key)) + "="
        for item in value if isinstance(value, list | tuple) else (value,):
            pairs.append(name + _quote(_primitive(item)))
    return "&".join(pairs).encode("ascii")


@lru_cache(maxsize=MAX_QUOTED)
def _quote(text: str) -> str:
    return quote_plus(text)


def _primitive(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return ""
    return str(value)


def encode_json(value: Any) -> bytes:
    """A JSON body as httpx encodes one (``httpx._content.encode_json``)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode(
        "utf-8"
    )

"""The HTTP policy every connector gets: timeouts, keep-alive, rate limit, retries, auth.

:class:`SyncHttp` implements ``core.sync.connector.HttpClient``. Per request it waits for
the account's rate limiter (the budgets ``Connector.budgets_for`` names), sends, feeds
the quota the CRM reports (``Connector.read_quota``) back to the limiter, then

- 2xx: returns the decoded JSON body (a ``TextBody`` when the request asks for text);
- 401 (``Connector.is_auth_error``): refreshes the token once (single-flight: concurrent
  streams that hit the same expired token wait for one refresh) and resends once;
- 429, 5xx, connection and read errors: retries with exponential backoff and full jitter
  (tenacity), honouring Retry-After, which also pauses the whole account's limiter;
- a 4xx to a request with ``capability`` that ``Connector.unavailable_reason`` classifies:
  raises :class:`CapabilityUnavailable` at once (the account lacks it; never retried);
- any other 4xx: raises :class:`RequestFailed` at once (retrying cannot fix it), with the
  CRM's own message (``Connector.error_message``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import msgspec
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

from core.egress import EgressPolicy, egress_client
from core.observability import record_crm_response
from core.sync.capabilities import CapabilityUnavailable
from core.sync.connector import Auth, Connector, Request, TextBody
from core.sync.errors import AuthFailed, RequestFailed
from core.sync.exchange import Exchange
from core.sync.ratelimit import RateLimiter, parse_reset


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Attempts per request and the backoff: random in [0, min(cap, base * 2^n)]."""

    attempts: int = 8
    base: float = 0.5
    cap: float = 30.0
    #: Longest Retry-After obeyed; beyond it the request fails rather than hang a worker.
    max_retry_after: float = 300.0


#: Connections a run's client may keep open: enough that no request waits for one (a
#: Pipedrive first load has 24 per-deal reads in flight, and the other streams' pages),
#: which is cheaper than queueing in the pool; only as many are opened as are in use.
MAX_CONNECTIONS = 32


def create_http_client(
    *,
    timeout: float = 30.0,
    max_connections: int = MAX_CONNECTIONS,
    egress: EgressPolicy | None = None,
) -> httpx.AsyncClient:
    """One client per connection: pooled keep-alive connections, a timeout on every call,
    and every connection checked by the egress policy (default: the settings' allow list),
    redirects refused (core.egress)."""
    return egress_client(
        egress or EgressPolicy.from_settings(), timeout=timeout, max_connections=max_connections
    )


class _Retryable(Exception):
    """A 429 or 5xx answer: worth another attempt, after ``retry_after`` if the CRM said so."""

    def __init__(self, status: int, path: str, retry_after: float | None) -> None:
        super().__init__(f"HTTP {status} on {path}")
        self.status = status
        self.retry_after = retry_after


_RETRY_ON = (_Retryable, httpx.TransportError)
#: What a response's stream becomes once its body is read (see SyncHttp._send_once).
_READ = httpx.ByteStream(b"")


class SyncHttp:
    """The engine's HTTP client for one connection's run (see the module docstring)."""

    def __init__(
        self,
        *,
        client: httpx.AsyncClient,
        connector: Connector,
        credentials: Mapping[str, str],
        base_url: str,
        limiter: RateLimiter,
        retry: RetryPolicy | None = None,
        on_credentials: Callable[[dict[str, str]], None] | None = None,
    ) -> None:
        self.client = client
        self.connector = connector
        self.credentials = dict(credentials)
        self.base_url = base_url.rstrip("/")
        self.limiter = limiter
        self.retry = retry or RetryPolicy()
        self.on_credentials = on_credentials
        self.requests = 0
        self.retries = 0
        #: True while every body this client decoded holds only storable text (see
        #: :func:`clean_text`): then nothing mapped from them needs a text check beyond the
        #: columns' lengths (core.sync.textcheck). False from the first body that may not.
        self.text_clean = True
        self._auth: Auth | None = None
        self._exchange = Exchange(client)
        self._auth_generation = 0
        self._auth_lock = asyncio.Lock()

    # -- auth ---------------------------------------------------------------------------

    async def auth(self) -> Auth:
        if self._auth is None:
            await self._refresh(self._auth_generation, refresh=False)
        assert self._auth is not None
        return self._auth

    async def _refresh(self, seen_generation: int, *, refresh: bool) -> None:
        """Authenticate unless another task already did since ``seen_generation``."""
        async with self._auth_lock:
            if self._auth is not None and self._auth_generation != seen_generation:
                return
            retrying = AsyncRetrying(
                retry=retry_if_exception(_auth_retryable),
                wait=wait_random_exponential(multiplier=self.retry.base, max=self.retry.cap),
                stop=stop_after_attempt(self.retry.attempts),
                before_sleep=self._count_retry,
                reraise=True,
            )
            auth: Auth | None = None
            try:
                async for attempt in retrying:
                    with attempt:
                        await self.limiter.acquire()  # token calls count against the quota
                        auth = await self.connector.authenticate(
                            self.client, self.credentials, self.base_url, refresh=refresh
                        )
            except httpx.HTTPError as exc:
                raise AuthFailed(
                    f"{self.connector.name}: authentication request failed ({_describe(exc)})"
                ) from None
            assert auth is not None
            if auth.credentials:
                self.credentials = dict(auth.credentials)
                if self.on_credentials is not None:
                    self.on_credentials(dict(auth.credentials))
            self._auth = auth
            self._auth_generation += 1

    # -- requests -----------------------------------------------------------------------

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Retryable) and exc.retry_after is not None:
            return exc.retry_after
        backoff = wait_random_exponential(multiplier=self.retry.base, max=self.retry.cap)
        return float(backoff(state))

    def _count_retry(self, state: RetryCallState) -> None:
        self.retries += 1

    async def send(self, request: Request) -> Any:
        """Send ``request`` under the policy and return its decoded JSON body.

        The first attempt is sent before any retry machinery is built: nearly every request
        succeeds at once, and tenacity's per-request objects cost a few percent of a sync's
        CPU. A retryable failure is handed to tenacity as its first attempt's outcome, so
        the waits, the count and the attempts are those of a retry loop from the start.
        """
        try:
            return await self._send_authenticated(request)
        except _RETRY_ON as exc:
            first: BaseException | None = exc
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(_RETRY_ON),
            wait=self._wait,
            stop=stop_after_attempt(self.retry.attempts),
            before_sleep=self._count_retry,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    if first is not None:
                        failed, first = first, None
                        raise failed
                    return await self._send_authenticated(request)
        except _Retryable as exc:
            raise RequestFailed(
                f"{self.connector.name}: {exc} still failing after {self.retry.attempts} attempts",
                status=exc.status,
            ) from None
        except httpx.TransportError as exc:
            raise RequestFailed(
                f"{self.connector.name}: {type(exc).__name__} on {_path(request)} still "
                f"failing after {self.retry.attempts} attempts"
            ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send_authenticated(self, request: Request) -> Any:
        auth = await self.auth()
        generation = self._auth_generation
        response = await self._send_once(request, auth)
        if self.connector.is_auth_error(response):
            await self._refresh(generation, refresh=True)
            response = await self._send_once(request, await self.auth())
            if self.connector.is_auth_error(response):
                raise AuthFailed(
                    f"{self.connector.name}: the CRM refused the credentials "
                    f"(HTTP {response.status_code} on {_path(request)}, after a token refresh)"
                )
        return self._decode(request, response)

    def target(self, request: Request, auth: Auth) -> tuple[str, dict[str, Any] | None]:
        """The absolute URL and query parameters ``request`` goes to under ``auth``: a
        relative path joins the credentials' base URL (or the connection's), and the
        credentials' own parameters come first."""
        url = request.path
        if not url.startswith(("http://", "https://")):
            url = f"{(auth.base_url or self.base_url).rstrip('/')}/{url.lstrip('/')}"
        return url, {**auth.params, **(request.params or {})} or None

    async def _send_once(self, request: Request, auth: Auth) -> httpx.Response:
        ticket = await self.limiter.acquire(self.connector.budgets_for(request))
        self.requests += 1
        url, params = self.target(request, auth)
        response = await self._exchange.send(
            request.method, url, params, request.json, auth.headers
        )
        # Read and closed by now: dropping the stream breaks the Response <-> stream
        # reference cycle, so the request's objects are freed at once instead of piling up
        # for the cyclic collector (about 60 objects per request).
        response.stream = _READ
        self.limiter.observe(response.headers, ticket)
        self.limiter.record(self.connector.read_quota(response))
        return response

    def _decode(self, request: Request, response: httpx.Response) -> Any:
        status = response.status_code
        record_crm_response(self.connector.name, status)
        if status >= 400:
            self.limiter.check()  # a refusal at the daily limit ends the run, no retry
        if request.capability is not None and 400 <= status < 500 and status != 429:
            reason = self.connector.unavailable_reason(response)
            if reason is not None:
                raise CapabilityUnavailable(request.capability, reason)
        if status == 429 or status >= 500:
            retry_after = parse_reset(response.headers.get("retry-after"))
            if retry_after is not None:
                retry_after = min(retry_after, self.retry.max_retry_after)
                if status == 429:
                    self.limiter.pause(retry_after)
            raise _Retryable(status, _path(request), retry_after)
        if status >= 400:
            said = self.connector.error_message(response)
            raise RequestFailed(
                f"{self.connector.name}: HTTP {status} on {_path(request)}"
                + (f": {said}" if said else ""),
                status=status,
            )
        content = response.content
        if request.decode == "text":
            if self.text_clean and b"\x00" in content:  # undecodable bytes become U+FFFD
                self.text_clean = False
            return TextBody(response.text, {k.lower(): v for k, v in response.headers.items()})
        if not content:
            return None
        try:
            value, strict = _loads(content)
        except ValueError:
            raise _Retryable(status, _path(request) + " (truncated JSON)", None) from None
        if self.text_clean and not (strict and clean_text(content)):
            self.text_clean = False
        return value


#: msgspec's JSON decoder (typeless: dicts, lists, str, int, float, bool, None).
_DECODE = msgspec.json.Decoder().decode


def loads(content: bytes) -> Any:
    """A response body decoded: msgspec, or the standard library for what msgspec refuses.

    msgspec (a maintained, widely used C decoder) parses a page several times faster than
    ``json.loads``, and, unlike orjson, reads an integer of any size exactly, so a body
    needs no search for long digit runs first (that search copied every body: a fifth of
    the decoding). It refuses some JSON the standard library takes (lone surrogate
    escapes, NaN, Infinity, numbers past a float's range): bodies with such text are
    decoded as before, so a record with bad text is still quarantined alone (never its
    page).
    """
    return _loads(content)[0]


def _loads(content: bytes) -> tuple[Any, bool]:
    """:func:`loads`, and whether msgspec decoded it (strict UTF-8, no lone surrogate)."""
    try:
        return _DECODE(content), True
    except (msgspec.DecodeError, RecursionError):
        return json.loads(content), False


def clean_text(content: bytes) -> bool:
    """True when no string msgspec decodes from ``content`` can hold what a database refuses.

    msgspec reads strict UTF-8 and rejects raw control characters and lone surrogate
    escapes, so a decoded string has a NUL only where the JSON escapes one: ``\\u0000``;
    a surrogate escape is checked for too (any, paired or not, as when orjson, which
    decoded bodies before, was the decoder: ``\\uD800``-``\\uDFFF``; CRMs send
    non-ASCII text as UTF-8, so such escapes are rare, and a literal backslash before ``u``
    only makes the answer a cautious False). One to four byte searches run in C over a
    page instead of a check of every decoded string (core.sync.textcheck).
    """
    # The usual page has no escape at all: a search for the backslash alone is one memchr
    # (1 us for 100 KB), where searching two bytes ending in "u", a letter all over JSON
    # text, took 85 us a page.
    if b"\\" not in content or b"\\u" not in content:
        return True
    return b"\\u0000" not in content and b"\\ud" not in content and b"\\uD" not in content


def _auth_retryable(exc: BaseException) -> bool:
    """Token requests are retried like any other on 429, 5xx and connection errors."""
    if isinstance(exc, httpx.HTTPStatusError):
        status = exc.response.status_code
        return status == 429 or status >= 500
    return isinstance(exc, httpx.TransportError)


def _describe(exc: httpx.HTTPError) -> str:
    """An HTTP error without its URL (which may carry credentials in the query string)."""
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code}"
    return type(exc).__name__


def _path(request: Request) -> str:
    """The request's path without query or host, safe to put in messages and logs."""
    return httpx.URL(request.path).path or "/"

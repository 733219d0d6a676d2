"""The one egress policy for every outbound request a CRM connection makes (SSRF protection).

A connection makes this server send requests, with credentials, to URLs that an API caller
chose (the base URL, a Pipedrive ``token_url``) or that a CRM's answer chose (Pipedrive's
``api_domain``, Salesforce's ``instance_url``, an HTTP redirect). All of them go through the
client :func:`egress_client` builds, whose connections are opened by :class:`_CheckedBackend`:
it resolves the host itself, refuses the connection when any address is private,
loopback, link-local, CGNAT (100.64.0.0/10), 6to4 (2002::/16), NAT64, unique-local,
multicast, reserved, unspecified or an IPv4-mapped/-compatible form of one, and then
connects to the very address it checked (so a DNS answer cannot change between the check
and the connect: no rebinding window). Redirects are not followed: a 3xx answer is a
:class:`RedirectRefused`. Checking at connect time covers every encoding of an address
(decimal, octal or hex IPv4, IPv6 forms, trailing dots): what is checked is what
``getaddrinfo`` answers, which is what the socket would reach.

The only way through is ``CRMKPI_CONNECTION_ALLOWED_HOSTS``: host names and networks (CIDR)
that may be reached although internal. Tests and the demo list their local simulators there
(explicitly); nothing is allowed implicitly, the CLI included.

:func:`check_base_url` applies the same address rule when a URL is given over the API, so
``addConnection`` answers ``ADDRESS_NOT_ALLOWED`` at once rather than at the first sync.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
import ssl
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx
from httpx._transports.default import map_httpcore_exceptions

from core.connpool import LeanPool
from core.errors import ValidationError
from core.netstream import AsyncioBackend
from core.sync.errors import RequestFailed, SyncError

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
RESOLVE_TIMEOUT = 5.0

#: Ranges ``ipaddress`` (Python 3.11) does not count as private but a server must not reach
#: on a caller's behalf: shared address space (CGNAT, where cloud metadata services live),
#: 6to4 and its relay, NAT64 (each can embed an internal IPv4 address), site-local IPv6.
_BLOCKED = tuple(
    ipaddress.ip_network(n)
    for n in (
        "100.64.0.0/10",
        "192.0.0.0/24",
        "192.88.99.0/24",
        "2002::/16",
        "64:ff9b::/96",
        "64:ff9b:1::/48",
        "fec0::/10",
    )
)


class AddressNotAllowed(ValidationError):
    """The URL points at an address this server must not reach on an API caller's behalf."""


class OutboundRefused(AddressNotAllowed, SyncError):
    """A connection's request was stopped before it connected: an API error
    (``ADDRESS_NOT_ALLOWED``) and a sync error (the stream fails, nothing is retried)."""


class HostUnresolvable(OutboundRefused):
    """The host has no address (or the resolver did not answer in time)."""


class RedirectRefused(RequestFailed):
    """The CRM answered with a redirect, which is not followed (its target is unchecked)."""


def internal(ip: IpAddress) -> bool:
    """Whether ``ip`` is anything but a public unicast address."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return internal(ip.ipv4_mapped)
        if ip.sixtofour is not None or ip.teredo is not None:
            return True
    if any(ip in net for net in _BLOCKED if net.version == ip.version):
        return True
    return (
        not ip.is_global
        or ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local)
    )


def _host_key(host: str) -> str:
    return host.strip().lower().rstrip(".").strip("[]")


@dataclass(frozen=True, slots=True)
class EgressPolicy:
    """The allow list: names (exact, case and trailing dot ignored) and networks."""

    allowed: tuple[str, ...] = ()

    @classmethod
    def of(cls, allowed: Iterable[str]) -> EgressPolicy:
        return cls(tuple(_host_key(a) for a in allowed if a.strip()))

    @classmethod
    def from_settings(cls, settings: Any = None) -> EgressPolicy:
        if settings is None:
            from core.settings import get_settings

            settings = get_settings()
        return cls.of(settings.connection_allowed_hosts)

    def host_allowed(self, host: str) -> bool:
        return _host_key(host) in self.allowed

    def address_allowed(self, ip: IpAddress) -> bool:
        for entry in self.allowed:
            try:
                if ip in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:  # a host name entry, not a network
                continue
        return False

    async def resolve(self, host: str, port: int) -> list[IpAddress]:
        """The addresses of ``host``, every one checked; raises OutboundRefused."""
        addresses = await _resolve(host, port)
        if not addresses:
            raise HostUnresolvable(f"host {host[:100]!r} has no address")
        if self.host_allowed(host):
            return addresses
        for ip in addresses:
            if internal(ip) and not self.address_allowed(ip):
                raise OutboundRefused(
                    f"host {host[:100]!r} is a private, loopback or link-local address ({ip}); "
                    "connections may only reach public addresses (list it in "
                    "CRMKPI_CONNECTION_ALLOWED_HOSTS to allow it)"
                )
        return addresses


async def _resolve(host: str, port: int) -> list[IpAddress]:
    try:
        return [ipaddress.ip_address(_host_key(host).split("%")[0])]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), RESOLVE_TIMEOUT
        )
    except (OSError, TimeoutError, UnicodeError, ValueError):
        raise HostUnresolvable(f"host {host[:100]!r} cannot be resolved") from None
    out: list[IpAddress] = []
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if ip not in out:
            out.append(ip)
    return out


class _CheckedBackend(httpcore.AsyncNetworkBackend):
    """Opens TCP connections only to addresses the policy allows, the checked ones, as
    plain asyncio streams (core.netstream: cheaper per request than httpcore's anyio
    backend; their "did the server close this idle connection" check is cheap too)."""

    def __init__(self, policy: EgressPolicy) -> None:
        self.policy = policy
        self.inner = AsyncioBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await self.policy.resolve(host, port)
        except HostUnresolvable as exc:  # DNS may fail for a moment: retried like a
            raise httpcore.ConnectError(str(exc)) from None  # refused connection
        last: Exception | None = None
        for ip in addresses:
            try:
                return await self.inner.connect_tcp(
                    str(ip), port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        raise OutboundRefused("unix sockets are not reachable by connections")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


_REDIRECTS = frozenset({301, 302, 303, 307, 308})


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The TLS context of every connection client: certificates verified against the
    default trust store, no SSL environment variables. Made on the first TLS connection
    and shared (loading the CA store took about 1% of a plain-HTTP sync's CPU when each
    client made two); ``tls_context.cache_clear()`` makes the next one anew."""
    return httpx.create_ssl_context(trust_env=False)


class EgressTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with connections opened by :class:`_CheckedBackend`, no proxies
    from the environment (a proxy would connect for us, unchecked), and redirects refused;
    its pool plans requests in linear time (core.connpool) and gets its TLS context only
    when it opens a TLS connection (:func:`tls_context`).

    ``AsyncHTTPTransport.__init__`` is not called: all it sets is the pool, which this one
    replaces, and it would load the CA store for a context never used.
    """

    def __init__(self, policy: EgressPolicy, limits: httpx.Limits) -> None:
        self._pool = self._lean = LeanPool(
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_CheckedBackend(policy),
            tls=tls_context,
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        _check_scheme(request.url.raw_scheme)
        response = await super().handle_async_request(request)
        if response.status_code in _REDIRECTS:
            await response.aclose()
            raise _redirect_refused(response.status_code, request.url.raw_path)
        return response

    async def exchange(self, request: httpcore.Request) -> tuple[httpcore.Response, bytes]:
        """``request`` sent straight to the pool; its answer and its whole (undecoded)
        body, read and closed. The checks of :meth:`handle_async_request` (scheme,
        redirects) and its errors (httpcore's mapped to httpx's), without httpx's
        request and response objects and stream wrappers around every request
        (core.sync.exchange builds what it needs from the parts)."""
        _check_scheme(request.url.scheme)
        try:
            response, body = await self._lean.exchange(request)
        except Exception:
            with map_httpcore_exceptions():
                raise
        if response.status in _REDIRECTS:
            raise _redirect_refused(response.status, request.url.target)
        return response, body


def _check_scheme(scheme: bytes) -> None:
    if scheme not in (b"http", b"https"):
        raise OutboundRefused(f"scheme {scheme[:20].decode(errors='replace')!r} is not allowed")


def _redirect_refused(status: int, target: bytes) -> RedirectRefused:
    path = target.split(b"?", 1)[0].decode("ascii", errors="replace") or "/"
    return RedirectRefused(f"HTTP {status} redirect on {path} not followed", status=status)


class EgressClient(httpx.AsyncClient):
    """An ``httpx.AsyncClient`` whose every request goes through one
    :class:`EgressTransport`, ``egress`` (no mounts, no proxies): a sync may send its
    requests to that transport directly (core.sync.exchange)."""

    def __init__(self, egress: EgressTransport, **kwargs: Any) -> None:
        super().__init__(transport=egress, **kwargs)
        self.egress = egress


def egress_client(policy: EgressPolicy, *, timeout: float, max_connections: int) -> EgressClient:
    """The client for a connection's requests (auth and sync): checked, no redirects."""
    limits = httpx.Limits(
        max_connections=max_connections, max_keepalive_connections=max_connections
    )
    return EgressClient(
        EgressTransport(policy, limits),
        timeout=httpx.Timeout(timeout, connect=10.0),
        follow_redirects=False,
        trust_env=False,
    )


async def check_base_url(url: str, allowed: Sequence[str]) -> str:
    """``url`` if an API caller may make this server reach it; otherwise AddressNotAllowed
    (or ValidationError for a URL that is not an absolute http(s) URL)."""
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
        port = parts.port or (443 if parts.scheme == "https" else 80)
        httpx.URL(url.strip())
    except (ValueError, httpx.InvalidURL):
        raise ValidationError("base URL is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not host:
        raise ValidationError("base URL must be an absolute http(s) URL")
    try:
        await EgressPolicy.of(allowed).resolve(host, port)
    except HostUnresolvable as exc:
        raise ValidationError("base URL " + str(exc)) from None
    except OutboundRefused as exc:
        raise AddressNotAllowed("base URL " + str(exc)) from None
    return url

"""Which addresses a CRM base URL given over the API may point at (SSRF protection).

A base URL sent to ``addConnection`` or ``verifyCredentials`` makes this server send requests
(with credentials) to wherever it points. Over the API that is refused for private,
loopback, link-local, multicast, reserved and unspecified addresses, unless the host or a
network containing it is listed in ``CRMKPI_CONNECTION_ALLOWED_HOSTS``; the refusal is an
:class:`AddressNotAllowed` (mutation error code ``ADDRESS_NOT_ALLOWED``).

The CLI is trusted (whoever runs it already has the database and the keys), so ``crmkpi
connection add`` and ``crmkpi demo`` keep reaching simulators on localhost without any
setting. Names are resolved when the URL is checked; a DNS answer that changes later
(rebinding) is not re-checked at sync time, which is why the allow list exists instead of
trusting names.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from urllib.parse import urlsplit

from core.errors import ValidationError

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
RESOLVE_TIMEOUT = 5.0


class AddressNotAllowed(ValidationError):
    """The URL points at an address this server must not reach on an API caller's behalf."""


def _internal(ip: IpAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def _allowed(host: str, ip: IpAddress | None, allowed: Sequence[str]) -> bool:
    for entry in allowed:
        entry = entry.strip().lower()
        if entry == host:
            return True
        if ip is not None:
            try:
                if ip in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:  # a host name entry, not a network
                continue
    return False


async def _resolve(host: str, port: int) -> list[IpAddress]:
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), RESOLVE_TIMEOUT
        )
    except (OSError, TimeoutError, UnicodeError):
        raise ValidationError(f"base URL host {host!r} cannot be resolved") from None
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


async def check_base_url(url: str, allowed: Sequence[str]) -> str:
    """``url`` if an API caller may make this server reach it; otherwise AddressNotAllowed
    (or ValidationError for a URL that is not an absolute http(s) URL)."""
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ValidationError("base URL is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not host:
        raise ValidationError("base URL must be an absolute http(s) URL")
    if _allowed(host, None, allowed):
        return url
    try:
        addresses: list[IpAddress] = [ipaddress.ip_address(host)]
    except ValueError:
        addresses = await _resolve(host, port)
    for ip in addresses:
        if _internal(ip) and not _allowed(host, ip, allowed):
            raise AddressNotAllowed(
                f"base URL host {host!r} is a private, loopback or link-local address "
                f"({ip}); connections added over the API may only reach public addresses "
                "(list it in CRMKPI_CONNECTION_ALLOWED_HOSTS, or add it with the CLI)"
            )
    return url

"""Fuzzing outbound URLs: no spelling of an internal address gets through (issue #20).

Hypothesis writes loopback (where a canary listens) and other internal addresses in every
form a URL parser or ``getaddrinfo`` accepts: decimal, octal and hex IPv4 (whole or per
part, short forms), IPv6 (mapped, compatible, expanded, 6to4, NAT64), userinfo tricks,
trailing dots and letter case. Through a connection's client (nothing allowed) each one
must be refused before connecting, and ``check_base_url`` must refuse it too; the canary
must never be reached.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from core.egress import EgressPolicy, OutboundRefused, check_base_url
from core.errors import ValidationError
from core.sync.http import create_http_client
from tests.support.server import serve

HITS: list[str] = []


async def _canary(request: Request) -> Response:
    HITS.append(str(request.url))
    return PlainTextResponse("reached")


@pytest.fixture(scope="module")
def canary_port() -> Iterator[int]:
    app = Starlette(routes=[Route("/{p:path}", _canary, methods=["GET"])])
    with serve(app) as url:
        yield int(url.rsplit(":", 1)[1])


INTERNAL_V4 = st.sampled_from(
    ["127.0.0.1", "127.1.2.3", "10.0.0.1", "169.254.169.254", "100.100.100.200", "0.0.0.0",
     "192.168.1.1", "172.16.0.1"]
)  # fmt: skip


def _v4_forms(ip: str) -> list[str]:
    a, b, c, d = (int(x) for x in ip.split("."))
    n = int(ipaddress.IPv4Address(ip))
    return [
        ip,
        str(n),
        hex(n),
        oct(n).replace("0o", "0"),
        ".".join(oct(x).replace("0o", "0") for x in (a, b, c, d)),
        ".".join(hex(x) for x in (a, b, c, d)),
        ".".join(f"{x:03d}" for x in (a, b, c, d)),
        f"{a}.{(b << 16) | (c << 8) | d}",
        f"{a}.{b}.{(c << 8) | d}",
        f"0x{a:02X}.{b}.{c}.{d}",
        ip + ".",
    ]


def _v6_forms(ip: str) -> list[str]:
    v4 = ipaddress.IPv4Address(ip)
    mapped = ipaddress.IPv6Address(f"::ffff:{ip}")
    packed = int(v4)
    return [
        f"[::ffff:{ip}]",
        f"[{mapped.compressed}]",
        f"[{mapped.exploded}]",
        f"[::{ip}]",
        f"[2002:{packed >> 16:x}:{packed & 0xFFFF:x}::1]",
        f"[64:ff9b::{ip}]",
        "[::1]",
        "[0:0:0:0:0:0:0:1]",
        "[fe80::1%25eth0]",
        "[fd00::1]",
    ]


@st.composite
def internal_urls(draw: st.DrawFn, port: int) -> str:
    ip = draw(INTERNAL_V4)
    names = ["localhost", "LOCALHOST.", "localhost.", "LocalHost"]
    host = draw(st.sampled_from(_v4_forms(ip) + _v6_forms(ip) + names))
    userinfo = draw(st.sampled_from(["", "user@", "user:pass@", "api.hubapi.com@",
                                     "api.hubapi.com:443@"]))  # fmt: skip
    scheme = draw(st.sampled_from(["http", "HTTP", "https"]))
    path = draw(st.sampled_from(["/", "/latest/meta-data", "/#@api.hubapi.com", "/?x=@evil"]))
    return f"{scheme}://{userinfo}{host}:{port}{path}"


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
async def test_no_spelling_of_an_internal_address_is_reached(
    canary_port: int, data: st.DataObject
) -> None:
    url = data.draw(internal_urls(canary_port))
    before = len(HITS)
    async with create_http_client(timeout=2.0, egress=EgressPolicy.of([])) as client:
        try:
            await client.get(url)
        except (OutboundRefused, httpx.InvalidURL, httpx.UnsupportedProtocol):
            pass
        except httpx.ConnectError as exc:  # a name with no address: nothing to connect to
            assert "cannot be resolved" in str(exc), (url, exc)
        else:
            raise AssertionError(f"{url} was requested")
    with pytest.raises(ValidationError):
        await check_base_url(url, [])
    assert len(HITS) == before, url


async def test_the_canary_is_reachable_when_allowed(canary_port: int) -> None:
    """The fuzz test's refusals are the policy's: allowed, the same client reaches it."""
    policy = EgressPolicy.of(["127.0.0.0/8"])
    async with create_http_client(timeout=2.0, egress=policy) as client:
        answer = await client.get(
            f"http://{int(ipaddress.IPv4Address('127.0.0.1'))}:{canary_port}/"
        )
    assert answer.text == "reached"

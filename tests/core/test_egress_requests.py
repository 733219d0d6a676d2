"""Every outbound request of a connection passes the egress policy (issue #20, finding 1).

Each attack points some URL the server would follow (token URL, the ``api_domain`` or
``instance_url`` a token answer names, a redirect) at a canary server on loopback, and
asserts the canary was never reached and the refusal is ADDRESS_NOT_ALLOWED / a failed
request. "localhost" is allowed by name where an attack needs a first, allowed, hop: the
loopback address itself is not on the list, so only the name may be reached.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from connectors.pipedrive.connector import PipedriveConnector
from connectors.salesforce.connector import SalesforceConnector
from core.connections import verify_credentials
from core.egress import EgressPolicy, OutboundRefused, RedirectRefused, check_base_url, internal
from core.errors import CrmkpiError
from tests.support.server import serve

SECRET_PAGE = "INTERNAL-ADMIN-PAGE do-not-leak"


class Canary:
    """A loopback server that must never be reached; counts the requests it gets."""

    def __init__(self) -> None:
        self.hits: list[str] = []

    def app(self) -> Starlette:
        async def any_path(request: Request) -> Response:
            self.hits.append(request.url.path)
            return PlainTextResponse(SECRET_PAGE)

        return Starlette(routes=[Route("/{path:path}", any_path, methods=["GET", "POST"])])


@pytest.fixture
def canary() -> Iterator[tuple[Canary, str]]:
    c = Canary()
    with serve(c.app()) as url:
        yield c, url


def _first_hop(answers: dict[str, Any]) -> Starlette:
    """An allowed server (reached as "localhost") whose answers point elsewhere."""

    async def token(request: Request) -> Response:
        return JSONResponse(answers["token"], status_code=answers.get("status", 200))

    async def redirect(request: Request) -> Response:
        return RedirectResponse(answers["location"], status_code=302)

    return Starlette(
        routes=[
            Route("/token", token, methods=["POST"]),
            Route("/services/oauth2/token", token, methods=["POST"]),
            Route("/{path:path}", redirect, methods=["GET", "POST"]),
        ]
    )


def _as_localhost(url: str) -> str:
    return url.replace("127.0.0.1", "localhost")


ONLY_LOCALHOST_NAME = EgressPolicy.of(["localhost"])
NOTHING = EgressPolicy.of([])


async def test_pipedrive_token_url_on_loopback_is_refused(canary: tuple[Canary, str]) -> None:
    hits, url = canary
    credentials = {
        "refresh_token": "r",
        "client_id": "id",
        "client_secret": "client-secret-value",
        "token_url": f"{url}/oauth/token",
    }
    with pytest.raises(OutboundRefused, match=r"127\.0\.0\.1"):
        await verify_credentials(PipedriveConnector, credentials, egress=NOTHING)
    assert hits.hits == []


async def test_pipedrive_api_domain_from_the_token_answer_is_checked(
    canary: tuple[Canary, str],
) -> None:
    hits, url = canary
    answers = {"token": {"access_token": "bearer-secret", "api_domain": url, "expires_in": 3600}}
    with serve(_first_hop(answers)) as hop:
        credentials = {
            "refresh_token": "r",
            "client_id": "id",
            "client_secret": "s",
            "token_url": _as_localhost(hop) + "/token",
        }
        with pytest.raises(OutboundRefused, match=r"127\.0\.0\.1"):
            await verify_credentials(PipedriveConnector, credentials, egress=ONLY_LOCALHOST_NAME)
    assert hits.hits == []  # the bearer token never reached loopback


async def test_salesforce_instance_url_from_the_token_answer_is_checked(
    canary: tuple[Canary, str],
) -> None:
    hits, url = canary
    answers = {"token": {"access_token": "bearer-secret", "instance_url": url}}
    with serve(_first_hop(answers)) as hop:
        credentials = {"client_id": "id", "client_secret": "s", "refresh_token": "r"}
        with pytest.raises(OutboundRefused, match=r"127\.0\.0\.1"):
            await verify_credentials(
                SalesforceConnector, credentials, _as_localhost(hop), egress=ONLY_LOCALHOST_NAME
            )
    assert hits.hits == []


async def test_redirects_are_not_followed(canary: tuple[Canary, str]) -> None:
    hits, url = canary
    with serve(_first_hop({"location": url + "/latest/meta-data"})) as hop:
        async with httpx.AsyncClient() as plain:  # what follow_redirects=True did
            followed = await plain.get(_as_localhost(hop) + "/x", follow_redirects=True)
        assert followed.text == SECRET_PAGE and len(hits.hits) == 1
        from core.sync.http import create_http_client

        async with create_http_client(egress=ONLY_LOCALHOST_NAME) as client:
            with pytest.raises(RedirectRefused, match="302 redirect"):
                await client.get(_as_localhost(hop) + "/x")
        reason = await verify_credentials(
            PipedriveConnector,
            {"api_token": "t"},
            _as_localhost(hop),
            egress=ONLY_LOCALHOST_NAME,
        )
    assert reason is not None and "redirect" in reason and SECRET_PAGE not in reason
    assert len(hits.hits) == 1  # only the plain client's request


async def test_token_errors_do_not_echo_the_answer() -> None:
    answers = {"token": {"page": SECRET_PAGE}, "status": 400}
    with serve(_first_hop(answers)) as hop:
        try:
            reason = await verify_credentials(
                SalesforceConnector,
                {"client_id": "id", "client_secret": "s", "refresh_token": "r"},
                _as_localhost(hop),
                egress=ONLY_LOCALHOST_NAME,
            )
        except CrmkpiError as exc:  # what verifyCredentials answers with
            reason = str(exc)
    assert reason is not None and "token refresh failed (HTTP 400" in reason
    assert "INTERNAL" not in reason


@pytest.mark.parametrize(
    "address",
    ["100.64.0.1", "100.100.100.200", "2002:7f00:1::", "2002:5db8:d822::", "64:ff9b::a00:1",
     "::ffff:10.0.0.1", "::127.0.0.1", "fd00::1", "fec0::1", "ff02::1", "2001::1", "240.0.0.1",
     "192.0.0.8", "198.18.0.1"],
)  # fmt: skip
def test_ranges_beyond_private_are_internal(address: str) -> None:
    import ipaddress

    assert internal(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "93.184.216.34", "2606:4700::1111"])
def test_public_addresses_are_not_internal(address: str) -> None:
    import ipaddress

    assert not internal(ipaddress.ip_address(address))


async def test_cgnat_and_6to4_base_urls_are_refused_over_the_api() -> None:
    for url in (
        "http://100.100.100.200/latest",
        "http://[2002:a9fe:a9fe::]/",
        "http://2130706433/",
    ):
        with pytest.raises(OutboundRefused.__mro__[1]):  # AddressNotAllowed
            await check_base_url(url, [])

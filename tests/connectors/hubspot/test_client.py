"""Authentication: static tokens, OAuth refresh before expiry and on request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from connectors.hubspot import client

BASE = "https://api.hubapi.test"
NOW = datetime(2024, 7, 1, 12, tzinfo=UTC)
OAUTH = {
    "access_token": "old",
    "refresh_token": "r1",
    "client_id": "cid",
    "client_secret": "cs",
}


async def test_private_app_token_is_a_bearer_header() -> None:
    async with httpx.AsyncClient() as http:
        auth = await client.authenticate(http, {"access_token": "pat-na1-x"}, BASE, now=NOW)
        refreshed = await client.authenticate(
            http, {"access_token": "pat-na1-x"}, BASE, refresh=True, now=NOW
        )
    assert auth.headers == {"Authorization": "Bearer pat-na1-x"}
    assert auth.credentials is None
    assert refreshed.headers == auth.headers  # nothing to refresh a static token with


async def test_missing_credentials_are_a_clear_error() -> None:
    async with httpx.AsyncClient() as http:
        with pytest.raises(client.HubSpotAuthError, match="access_token"):
            await client.authenticate(http, {}, BASE, now=NOW)


@respx.mock
async def test_oauth_token_valid_long_enough_is_used_as_is() -> None:
    route = respx.post(f"{BASE}/oauth/v1/token")
    credentials = {**OAUTH, "expires_at": (NOW + timedelta(minutes=20)).isoformat()}
    async with httpx.AsyncClient() as http:
        auth = await client.authenticate(http, credentials, BASE, now=NOW)
    assert auth.headers == {"Authorization": "Bearer old"} and not route.called


@respx.mock
@pytest.mark.parametrize(
    ("expires_in", "refresh"),
    [(timedelta(minutes=4), False), (timedelta(minutes=20), True)],
)
async def test_oauth_token_refreshed_near_expiry_or_when_asked(expires_in, refresh) -> None:
    route = respx.post(f"{BASE}/oauth/v1/token").mock(
        return_value=httpx.Response(
            200, json={"access_token": "new", "refresh_token": "r2", "expires_in": 1800}
        )
    )
    credentials = {**OAUTH, "expires_at": (NOW + expires_in).isoformat()}
    async with httpx.AsyncClient() as http:
        auth = await client.authenticate(http, credentials, BASE, refresh=refresh, now=NOW)
    form = parse_qs(route.calls[0].request.content.decode())
    assert form == {
        "grant_type": ["refresh_token"],
        "client_id": ["cid"],
        "client_secret": ["cs"],
        "refresh_token": ["r1"],
    }
    assert auth.headers == {"Authorization": "Bearer new"}
    assert auth.credentials is not None
    assert auth.credentials["refresh_token"] == "r2"
    assert auth.credentials["expires_at"] == (NOW + timedelta(seconds=1800)).isoformat()


@respx.mock
async def test_refused_refresh_is_an_auth_error() -> None:
    respx.post(f"{BASE}/oauth/v1/token").mock(
        return_value=httpx.Response(400, json={"status": "BAD_REFRESH_TOKEN"})
    )
    async with httpx.AsyncClient() as http:
        with pytest.raises(client.HubSpotAuthError, match="HTTP 400"):
            await client.authenticate(http, OAUTH, BASE, refresh=True, now=NOW)

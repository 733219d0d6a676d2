"""API token and OAuth (refresh, rotation, api_domain) authentication."""

from __future__ import annotations

import base64

import httpx
import pytest
import respx

from connectors.pipedrive.client import AuthError, authenticate
from connectors.pipedrive.connector import PipedriveConnector

TOKEN_URL = "https://oauth.pipedrive.com/oauth/token"
OAUTH = {
    "access_token": "old",
    "refresh_token": "r1",
    "client_id": "cid",
    "client_secret": "cs",
    "expires_at": "2000000000",
}


async def test_api_token_goes_in_a_header_not_the_url() -> None:
    async with httpx.AsyncClient() as http:
        auth = await authenticate(http, {"api_token": "abc"}, "https://x.pipedrive.com")
    assert auth.headers == {"x-api-token": "abc"} and auth.params == {}


async def test_valid_access_token_is_used_as_bearer_without_refresh() -> None:
    async with httpx.AsyncClient() as http:
        auth = await authenticate(http, OAUTH, "https://api.pipedrive.com", now=1_000_000_000)
    assert auth.headers == {"Authorization": "Bearer old"} and auth.credentials is None


@respx.mock
@pytest.mark.parametrize("now", [2_000_000_000 - 60, 1_000_000_000])
async def test_refresh_when_expiring_or_asked(now: int) -> None:
    route = respx.post(TOKEN_URL).mock(
        return_value=httpx.Response(
            200,
            json={
                "access_token": "new",
                "refresh_token": "r2",
                "expires_in": 3599,
                "token_type": "Bearer",
                "api_domain": "https://acme.pipedrive.com",
            },
        )
    )
    async with httpx.AsyncClient() as http:
        auth = await authenticate(
            http, OAUTH, "https://api.pipedrive.com", refresh=now == 1_000_000_000, now=now
        )
    sent = route.calls[0].request
    assert sent.headers["authorization"] == "Basic " + base64.b64encode(b"cid:cs").decode()
    assert b"grant_type=refresh_token" in sent.content and b"refresh_token=r1" in sent.content
    assert auth.headers == {"Authorization": "Bearer new"}
    assert auth.base_url == "https://acme.pipedrive.com"
    assert auth.credentials is not None
    assert auth.credentials["refresh_token"] == "r2"
    assert auth.credentials["expires_at"] == str(now + 3599)


@respx.mock
async def test_refused_refresh_and_missing_credentials_raise() -> None:
    respx.post(TOKEN_URL).mock(return_value=httpx.Response(400, json={"error": "invalid_grant"}))
    async with httpx.AsyncClient() as http:
        with pytest.raises(AuthError, match="HTTP 400"):
            await authenticate(http, OAUTH, "", refresh=True)
        with pytest.raises(AuthError, match="api_token"):
            await authenticate(http, {}, "")
        with pytest.raises(AuthError, match="without client_id"):
            await authenticate(http, {"refresh_token": "r"}, "", refresh=True)


def test_connector_declares_pipedrive_facts() -> None:
    connector = PipedriveConnector()
    assert connector.name == "pipedrive"
    assert connector.rate_limit.per_seconds == 2.0
    assert connector.rate_limit.remaining_header == "x-ratelimit-remaining"
    names = [s.name for s in connector.streams()]
    for stream in connector.streams():  # dependencies run first
        assert all(names.index(dep) < names.index(stream.name) for dep in stream.depends_on)
    assert {"deals", "deal_stage_history", "leads", "activities", "contacts", "accounts"} <= set(
        names
    )
    assert connector.account_key({"api_domain": "https://a.pipedrive.com"}, "x").endswith(
        "a.pipedrive.com"
    )

from __future__ import annotations

import httpx
import pytest
import respx

from connectors.salesforce import client
from connectors.salesforce.connector import SalesforceConnector

LOGIN = "https://login.salesforce.com"
CREDS = {"client_id": "cid", "client_secret": "secret", "refresh_token": "rt"}


@respx.mock
async def test_refresh_posts_the_grant_and_returns_instance_and_rotated_token() -> None:
    route = respx.post(f"{LOGIN}/services/oauth2/token").respond(
        json={
            "access_token": "00Dxx!new",
            "instance_url": "https://acme.my.salesforce.com/",
            "id": "https://login.salesforce.com/id/00Dxx/005xx",
            "token_type": "Bearer",
            "issued_at": "1764000000000",
            "signature": "sig",
            "refresh_token": "rt2",
        }
    )
    async with httpx.AsyncClient() as http:
        auth = await SalesforceConnector().authenticate(http, CREDS, LOGIN)
    form = route.calls.last.request.content.decode()
    assert "grant_type=refresh_token" in form and "refresh_token=rt" in form
    assert auth.base_url == "https://acme.my.salesforce.com"
    assert auth.headers["Authorization"] == "Bearer 00Dxx!new"
    assert auth.credentials == {
        **CREDS,
        "refresh_token": "rt2",
        "access_token": "00Dxx!new",
        "instance_url": "https://acme.my.salesforce.com",
    }


@respx.mock
async def test_stored_token_is_reused_until_a_refresh_is_asked() -> None:
    route = respx.post(f"{LOGIN}/services/oauth2/token").respond(
        json={"access_token": "fresh", "instance_url": "https://i.example"}
    )
    stored = {
        **CREDS,
        "access_token": "old",
        "instance_url": "https://i.example",
        "api_version": "64.0",
    }
    connector = SalesforceConnector()
    run = connector.new_state({})
    async with httpx.AsyncClient() as http:
        auth = await connector.authenticate(http, stored, LOGIN)
        assert route.call_count == 0 and auth.credentials is None
        assert auth.headers["Authorization"] == "Bearer old"
        # the legacy credential still sets the version of a connection without options
        assert run.api.version == "64.0"
        assert connector.new_state({"api_version": "65.0"}).api.version == "65.0"
        refreshed = await connector.authenticate(http, stored, LOGIN, refresh=True)
    assert route.call_count == 1
    assert refreshed.headers["Authorization"] == "Bearer fresh"
    assert refreshed.credentials is not None and refreshed.credentials["refresh_token"] == "rt"


@respx.mock
async def test_token_errors_are_clear() -> None:
    respx.post(f"{LOGIN}/services/oauth2/token").respond(
        400, json={"error": "invalid_grant", "error_description": "expired access/refresh token"}
    )
    async with httpx.AsyncClient() as http:
        with pytest.raises(
            client.SalesforceAuthError, match=r"invalid_grant.*expired access/refresh"
        ):
            await client.refresh_access_token(http, LOGIN, CREDS)
        with pytest.raises(
            client.SalesforceAuthError, match="missing Salesforce credentials: client_secret"
        ):
            await client.refresh_access_token(http, LOGIN, {"client_id": "a", "refresh_token": "b"})


def _response(status: int, body: object, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


def test_error_classification() -> None:
    expired = _response(
        401, [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
    )
    limit = _response(
        403, [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
    )
    denied = _response(403, [{"message": "no", "errorCode": "INSUFFICIENT_ACCESS"}])
    connector = SalesforceConnector()
    assert connector.is_auth_error(expired) and not connector.is_auth_error(denied)
    with pytest.raises(client.DailyLimitReached, match="resumes from its saved cursors"):
        connector.is_auth_error(limit)
    near = httpx.Response(200, json={}, headers={"Sforce-Limit-Info": "api-usage=99/100"})
    with pytest.raises(client.DailyLimitReached, match=r"api-usage=99/100"):
        connector.is_auth_error(near)
    fine = httpx.Response(200, json={}, headers={"Sforce-Limit-Info": "api-usage=50/100"})
    assert not connector.is_auth_error(fine)
    assert connector.is_quota_exhausted(limit)
    assert not connector.is_quota_exhausted(denied) and not connector.is_quota_exhausted(expired)
    assert client.error_codes(_response(200, {"records": []})) == []


@pytest.mark.parametrize(
    ("header", "used", "limit", "slow", "stop"),
    [
        ("api-usage=10018/100000", 10018, 100000, False, False),
        ("api-usage=91000/100000; api-bursts=1/750", 91000, 100000, True, False),
        ("api-usage=99000/100000", 99000, 100000, True, True),
    ],
)
def test_limit_info_header(header: str, used: int, limit: int, slow: bool, stop: bool) -> None:
    usage = client.api_usage({"Sforce-Limit-Info": header})
    assert usage is not None
    assert (usage.used, usage.limit, usage.should_slow_down, usage.should_stop) == (
        used,
        limit,
        slow,
        stop,
    )
    assert client.api_usage({"Content-Type": "application/json"}) is None

"""Salesforce's ``Sforce-Limit-Info`` and ``REQUEST_LIMIT_EXCEEDED`` feed the limiter (respx)."""

from __future__ import annotations

import httpx
import pytest
import respx

from connectors.salesforce.client import DailyLimitReached
from connectors.salesforce.connector import SalesforceConnector
from core.sync.connector import Request
from core.sync.errors import QuotaExhausted
from tests.support.limits import FakeClock, limited_http

LOGIN = "https://login.salesforce.test"
INSTANCE = "https://acme.my.salesforce.test"
CREDENTIALS = {
    "client_id": "c",
    "client_secret": "s",
    "refresh_token": "r",
    "access_token": "a",
    "instance_url": INSTANCE,
}
QUERY = f"{INSTANCE}/services/data/v62.0/query"


def usage(used: int, limit: int = 10_000) -> dict[str, str]:
    return {"Sforce-Limit-Info": f"api-usage={used}/{limit}; api-bursts=0/750"}


@respx.mock
async def test_api_usage_is_read_and_paces_near_the_limit() -> None:
    clock = FakeClock()
    respx.get(QUERY).mock(
        side_effect=[
            httpx.Response(200, json={"records": []}, headers=usage(5_000)),
            httpx.Response(200, json={"records": []}, headers=usage(9_300)),
            httpx.Response(200, json={"records": []}, headers=usage(9_301)),
        ]
    )
    http = limited_http(SalesforceConnector(), clock, LOGIN, CREDENTIALS)
    await http.send(Request("GET", QUERY))
    daily = http.limiter.daily
    assert daily is not None and (daily.limit, daily.remaining) == (10_000, 5_000)
    await http.send(Request("GET", QUERY))
    assert clock.now == 0.0  # half the allocation left: full speed
    await http.send(Request("GET", QUERY))
    assert clock.now == pytest.approx(1.0)  # 500 usable above the 2% reserve: paced


@respx.mock
async def test_request_limit_exceeded_ends_the_run_through_the_quota_path() -> None:
    body = [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
    route = respx.get(QUERY).mock(return_value=httpx.Response(403, json=body))
    http = limited_http(SalesforceConnector(), FakeClock(), LOGIN, CREDENTIALS)
    with pytest.raises(QuotaExhausted, match="daily API request limit reached") as caught:
        await http.send(Request("GET", QUERY))
    assert isinstance(caught.value, DailyLimitReached)
    assert route.call_count == 1


@respx.mock
async def test_the_limiter_stops_at_the_reserve_before_salesforce_refuses() -> None:
    route = respx.get(QUERY).mock(
        return_value=httpx.Response(200, json={"records": []}, headers=usage(9_700))
    )
    http = limited_http(SalesforceConnector(), FakeClock(), LOGIN, CREDENTIALS)
    await http.send(Request("GET", QUERY))
    assert http.limiter.daily is not None
    http.limiter.daily.remaining = 200  # what 100 more calls from other apps would leave
    with pytest.raises(QuotaExhausted, match="200 left of 10000, 200 kept in reserve"):
        await http.send(Request("GET", QUERY))
    assert route.call_count == 1

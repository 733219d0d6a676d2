"""HubSpot's quota headers and 429 policies feed the account's limiter (respx)."""

from __future__ import annotations

import httpx
import pytest
import respx

from connectors.hubspot.connector import HubSpotConnector
from connectors.hubspot.quota import SEARCH_BUDGET, budgets_for, read_quota
from connectors.hubspot.simulator import ACCESS_TOKEN, create_simulator
from core.sync.connector import DAILY_BUDGET, QuotaReading, Request
from core.sync.errors import QuotaExhausted
from tests.support.limits import FakeClock, limited_http

BASE = "https://api.hubapi.test"
CREDENTIALS = {"access_token": "pat-1"}


def headers(daily_remaining: int, remaining: int = 99) -> dict[str, str]:
    return {
        "X-HubSpot-RateLimit-Daily": "1000",
        "X-HubSpot-RateLimit-Daily-Remaining": str(daily_remaining),
        "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
        "X-HubSpot-RateLimit-Max": "100",
        "X-HubSpot-RateLimit-Remaining": str(remaining),
    }


def daily_429() -> httpx.Response:
    body = {"status": "error", "errorType": "RATE_LIMIT", "policyName": "DAILY"}
    return httpx.Response(429, json=body)


def test_search_requests_draw_from_the_search_budget() -> None:
    search = Request("POST", "/crm/v3/objects/deals/search", json={})
    assert budgets_for(search) == (SEARCH_BUDGET,)
    assert budgets_for(Request("GET", "/crm/v3/objects/deals")) == ()
    names = {b.name for b in HubSpotConnector.rate_limit.budgets}
    assert names == {SEARCH_BUDGET}


@respx.mock
async def test_daily_headers_slow_down_then_stop_before_the_reserve() -> None:
    clock = FakeClock()
    route = respx.get(f"{BASE}/crm/v3/owners").mock(
        side_effect=[
            httpx.Response(200, json={}, headers=headers(150)),
            httpx.Response(200, json={}, headers=headers(100)),
        ]
    )
    http = limited_http(HubSpotConnector(), clock, BASE, CREDENTIALS)
    await http.send(Request("GET", "/crm/v3/owners"))
    daily = http.limiter.daily
    assert daily is not None and (daily.limit, daily.remaining) == (1000, 150)
    await http.send(Request("GET", "/crm/v3/owners"))
    assert clock.now > 0  # 50 usable above the reserve of 100: paced
    with pytest.raises(QuotaExhausted, match="100 left of 1000, 100 kept in reserve"):
        await http.send(Request("GET", "/crm/v3/owners"))
    assert route.call_count == 2  # the stop sent nothing


@respx.mock
async def test_a_daily_429_stops_at_once_without_retrying() -> None:
    route = respx.get(f"{BASE}/crm/v3/owners").mock(return_value=daily_429())
    http = limited_http(HubSpotConnector(), FakeClock(), BASE, CREDENTIALS)
    with pytest.raises(QuotaExhausted, match="daily API budget exhausted"):
        await http.send(Request("GET", "/crm/v3/owners"))
    assert route.call_count == 1


@respx.mock
async def test_a_secondly_429_on_search_pauses_the_search_budget_only() -> None:
    clock = FakeClock()
    secondly = {"status": "error", "errorType": "RATE_LIMIT", "policyName": "SECONDLY"}
    respx.post(f"{BASE}/crm/v3/objects/deals/search").mock(
        side_effect=[httpx.Response(429, json=secondly), httpx.Response(200, json={"ok": 1})]
    )
    respx.get(f"{BASE}/crm/v3/owners").mock(return_value=httpx.Response(200, json={}))
    http = limited_http(HubSpotConnector(), clock, BASE, CREDENTIALS)
    assert await http.send(Request("POST", "/crm/v3/objects/deals/search", json={})) == {"ok": 1}
    assert clock.now == pytest.approx(1.0)  # the retry waited for the search window
    before = clock.now
    await http.send(Request("GET", "/crm/v3/owners"))
    assert clock.now == before


@respx.mock
async def test_an_empty_ten_second_window_waits_for_the_interval() -> None:
    clock = FakeClock()
    respx.get(f"{BASE}/crm/v3/owners").mock(
        return_value=httpx.Response(200, json={}, headers=headers(900, remaining=0))
    )
    http = limited_http(HubSpotConnector(), clock, BASE, CREDENTIALS)
    await http.send(Request("GET", "/crm/v3/owners"))
    await http.send(Request("GET", "/crm/v3/owners"))
    assert clock.now == pytest.approx(10.0)


async def test_the_simulator_counts_the_day_and_refuses_past_it() -> None:
    sim = create_simulator(seed=2, deals=5, daily_limit=3)
    transport = httpx.ASGITransport(app=sim.app)
    auth = {"Authorization": f"Bearer {ACCESS_TOKEN}"}
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        answers = [await client.get("/crm/v3/owners", headers=auth) for _ in range(4)]
    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    assert [r.headers["X-HubSpot-RateLimit-Daily-Remaining"] for r in answers] == [
        "2",
        "1",
        "0",
        "0",
    ]
    assert answers[3].json()["policyName"] == "DAILY"
    readings = read_quota(answers[3])
    assert QuotaReading(DAILY_BUDGET, 0) in readings
    assert sim.throttled == {"DAILY": 1}

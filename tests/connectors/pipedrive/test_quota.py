"""Pipedrive's burst and daily token headers feed the company's limiter (respx)."""

from __future__ import annotations

import httpx
import pytest
import respx

from connectors.pipedrive.connector import PipedriveConnector
from connectors.pipedrive.quota import DAILY_LEFT_HEADER, DAILY_LIMIT_HEADER, read_quota
from connectors.pipedrive.simulator import API_TOKEN, PipedriveSimulator
from core.simulation.dataset import generate
from core.sync.connector import Request
from core.sync.errors import QuotaExhausted
from tests.support.limits import FakeClock, limited_http

BASE = "https://acme.pipedrive.test"
CREDENTIALS = {"api_token": "t-1"}
DEALS = f"{BASE}/api/v2/deals"


def tokens(left: int, **extra: str) -> dict[str, str]:
    return {DAILY_LIMIT_HEADER: "10000", DAILY_LEFT_HEADER: str(left), **extra}


@respx.mock
async def test_daily_tokens_stop_the_sync_at_the_reserve() -> None:
    route = respx.get(DEALS).mock(
        return_value=httpx.Response(200, json={"data": []}, headers=tokens(1010))
    )
    http = limited_http(PipedriveConnector(), FakeClock(), BASE, CREDENTIALS)
    await http.send(Request("GET", "/api/v2/deals"))
    daily = http.limiter.daily
    assert daily is not None and daily.limit == 10000
    with pytest.raises(QuotaExhausted, match=r"1010 left of 10000, 1000 kept in reserve"):
        await http.send(Request("GET", "/api/v2/deals"))  # 10 usable < one 20-token read
    assert route.call_count == 1


@respx.mock
async def test_a_429_past_the_daily_budget_stops_instead_of_waiting_for_midnight() -> None:
    route = respx.get(DEALS).mock(
        return_value=httpx.Response(
            429,
            json={"success": False, "error": "Request over limit"},
            headers=tokens(0, **{"retry-after": "40000"}),
        )
    )
    http = limited_http(PipedriveConnector(), FakeClock(), BASE, CREDENTIALS)
    with pytest.raises(QuotaExhausted, match="0 left of 10000"):
        await http.send(Request("GET", "/api/v2/deals"))
    assert route.call_count == 1


@respx.mock
async def test_an_empty_burst_window_waits_for_its_reset() -> None:
    clock = FakeClock()
    burst = {"x-ratelimit-limit": "80", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "2"}
    respx.get(DEALS).mock(return_value=httpx.Response(200, json={"data": []}, headers=burst))
    http = limited_http(PipedriveConnector(), clock, BASE, CREDENTIALS)
    await http.send(Request("GET", "/api/v2/deals"))
    await http.send(Request("GET", "/api/v2/deals"))
    assert clock.now == pytest.approx(2.0)
    assert http.limiter.daily is not None and http.limiter.daily.remaining is None


async def test_the_simulator_reports_its_daily_token_budget() -> None:
    sim = PipedriveSimulator(generate(seed=2, deals=5), daily_tokens=35)
    transport = httpx.ASGITransport(app=sim.app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        first = await client.get("/api/v2/stages", headers={"x-api-token": API_TOKEN})
        readings = [read_quota(first)]
        for _ in range(3):  # 10 tokens each on v2: the fourth is over the budget
            last = await client.get("/api/v2/stages", headers={"x-api-token": API_TOKEN})
            readings.append(read_quota(last))
    assert [r[0].remaining for r in readings] == [25, 15, 5, 0]
    assert all(r[0].limit == 35 for r in readings)
    assert last.status_code == 429

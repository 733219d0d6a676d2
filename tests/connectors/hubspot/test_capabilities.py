"""Capabilities: HubSpot's "not on this portal" answers on realistic payloads (respx,
through the engine's own HTTP client), discovery, and the degraded reads."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest
import respx

from connectors.hubspot import _capabilities, streams
from connectors.hubspot._state import HubSpotState
from connectors.hubspot.connector import HubSpotConnector
from core.models.enums import SyncMode
from core.sync import (
    Capabilities,
    Capability,
    CapabilityStatus,
    CapabilityUnavailable,
    Cursor,
    RequestFailed,
    StreamContext,
    read_stream,
)
from tests.connectors.hubspot.fixtures import load
from tests.support.limits import FakeClock, limited_http

BASE = "https://api.hubapi.test"


@pytest.fixture
def http():
    return limited_http(HubSpotConnector(), FakeClock(), BASE, {"access_token": "pat-1"})


def _response(status: int, name: str) -> httpx.Response:
    return httpx.Response(status, json=load(name))


@pytest.mark.parametrize(
    ("status", "fixture", "expected"),
    [
        (403, "error_missing_scopes.json", "crm.objects.leads.read"),
        (404, "error_leads_not_found.json", "HTTP 404"),
        (400, "error_unknown_object_type.json", "infer object type from: leads"),
    ],
)
def test_hubspot_not_available_answers_are_classified(status, fixture, expected) -> None:
    reason = HubSpotConnector().unavailable_reason(_response(status, fixture))
    assert reason is not None and expected in reason


def test_other_failures_are_not_capabilities() -> None:
    search_cap = httpx.Response(
        400,
        json={
            "status": "error",
            "message": "Search results are limited to 10000 records",
            "correlationId": "1",
            "category": "VALIDATION_ERROR",
        },
    )
    assert _capabilities.unavailable_reason(search_cap) is None
    assert _capabilities.unavailable_reason(httpx.Response(401, json={})) is None
    assert _capabilities.unavailable_reason(httpx.Response(400, text="not json")) is None


@respx.mock
async def test_discovery_on_a_minimal_portal(http) -> None:
    respx.get(f"{BASE}/crm/v3/objects/leads").mock(
        return_value=_response(404, "error_leads_not_found.json")
    )
    respx.get(f"{BASE}/crm/v3/properties/deals").mock(
        return_value=httpx.Response(200, json={"results": []})
    )
    respx.get(f"{BASE}/settings/v3/currencies/exchange-rates").mock(
        return_value=httpx.Response(200, json={"results": []})
    )
    found = {c.key: c for c in await HubSpotConnector().discover(http, _ctx())}
    assert found["leads_object"].status is CapabilityStatus.UNAVAILABLE
    assert "404" in (found["leads_object"].reason or "")
    assert found["leads_object"].streams == ("leads",)
    assert found["multi_currency"].status is CapabilityStatus.UNAVAILABLE
    assert found["properties_api"].status is CapabilityStatus.AVAILABLE


@respx.mock
async def test_discovery_on_a_full_portal_and_a_missing_scope(http) -> None:
    respx.get(f"{BASE}/crm/v3/objects/leads").mock(
        return_value=_response(403, "error_missing_scopes.json")
    )
    respx.get(f"{BASE}/crm/v3/properties/deals").mock(
        return_value=httpx.Response(200, json={"results": []})
    )
    respx.get(f"{BASE}/settings/v3/currencies/exchange-rates").mock(
        return_value=httpx.Response(200, json=load("exchange_rates.json"))
    )
    found = {c.key: c for c in await HubSpotConnector().discover(http, _ctx())}
    assert "crm.objects.leads.read" in (found["leads_object"].reason or "")
    assert found["multi_currency"].available


def _ctx(capabilities: Capabilities | None = None, **kwargs) -> StreamContext:
    return StreamContext(
        connection_id="c1",
        mode=kwargs.pop("mode", SyncMode.FULL),
        capabilities=capabilities or Capabilities(),
        state=HubSpotState(),
        **kwargs,
    )


def _search_ctx(capabilities: Capabilities | None = None) -> StreamContext:
    start = Cursor(datetime(2024, 6, 1, tzinfo=UTC), "0")
    return _ctx(
        capabilities,
        mode=SyncMode.INCREMENTAL,
        start_cursor=start,
        now=datetime(2024, 7, 1, tzinfo=UTC),
    )


def _mock_deal_search() -> respx.Route:
    respx.get(f"{BASE}/crm/v3/pipelines/deals").mock(
        return_value=httpx.Response(200, json=load("pipelines.json"))
    )
    respx.get(f"{BASE}/settings/v3/currencies/company-currency").mock(
        return_value=httpx.Response(200, json={"id": "EUR", "createdAt": "2020-01-01T00:00:00Z"})
    )
    respx.post(f"{BASE}/crm/v3/objects/deals/search").mock(
        return_value=httpx.Response(200, json=load("search_deals.json"))
    )
    for to_type in ("companies", "contacts"):
        respx.post(f"{BASE}/crm/v4/associations/deals/{to_type}/batch/read").mock(
            return_value=httpx.Response(200, json={"status": "COMPLETE", "results": []})
        )
    respx.post(f"{BASE}/crm/v3/objects/deals/batch/read").mock(
        return_value=httpx.Response(200, json={"status": "COMPLETE", "results": []})
    )
    respx.get(f"{BASE}/crm/v3/objects/deals", params={"archived": "true"}).mock(
        return_value=httpx.Response(200, json={"results": []})
    )
    # what a portal without the Leads object answers to lead association reads
    return respx.post(f"{BASE}/crm/v4/associations/deals/leads/batch/read").mock(
        return_value=_response(400, "error_unknown_object_type.json")
    )


@respx.mock
async def test_incremental_deals_never_ask_lead_associations_when_leads_are_unavailable(
    http,
) -> None:
    leads = _mock_deal_search()
    unavailable = Capability("leads_object", "Leads object", CapabilityStatus.UNAVAILABLE, "404")
    result = await read_stream(
        streams.DealsStream(), http, _search_ctx(Capabilities([unavailable]))
    )
    assert not leads.called
    assert result.records  # the deals themselves are read


@respx.mock
async def test_an_undiscovered_connection_probes_leads_before_asking_associations(http) -> None:
    leads = _mock_deal_search()
    probe = respx.get(f"{BASE}/crm/v3/objects/leads").mock(
        return_value=_response(404, "error_leads_not_found.json")
    )
    ctx = _search_ctx()
    result = await read_stream(streams.DealsStream(), http, ctx)
    assert probe.called and not leads.called
    assert ctx.state.leads is False and result.records
    # single-currency reading: a deal without deal_currency_code is in the company currency
    deals = [r for r in result.records if type(r).__name__ == "DealRecord"]
    assert all(d.currency for d in deals)


@respx.mock
async def test_the_leads_stream_reports_a_missing_scope_as_a_capability(http) -> None:
    respx.get(f"{BASE}/crm/v3/objects/leads").mock(
        return_value=_response(403, "error_missing_scopes.json")
    )
    with pytest.raises(CapabilityUnavailable) as caught:
        await read_stream(streams.LeadsStream(), http, _ctx())
    assert caught.value.key == "leads_object"
    assert streams.LeadsStream.requires == ("leads_object",)


@respx.mock
async def test_other_errors_on_the_leads_probe_still_fail(http) -> None:
    respx.get(f"{BASE}/crm/v3/objects/leads").mock(
        return_value=httpx.Response(
            400,
            json={"status": "error", "message": "bad limit", "correlationId": "1", "category": "X"},
        )
    )
    with pytest.raises(RequestFailed):
        await _capabilities.leads_available(http)


def test_fixtures_are_hubspot_error_bodies() -> None:
    for name in ("error_missing_scopes", "error_leads_not_found", "error_unknown_object_type"):
        body = json.loads(json.dumps(load(f"{name}.json")))
        assert {"status", "message", "correlationId", "category"} <= set(body)

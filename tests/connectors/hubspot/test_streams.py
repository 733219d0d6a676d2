"""Streams against respx-mocked HubSpot pages: paging, incremental search, deletions."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
import respx

from connectors.hubspot import streams
from connectors.hubspot._state import HubSpotState
from core.models.enums import SyncMode
from core.sync.connector import Cursor, StreamContext
from core.sync.mappings import FieldMappings
from core.sync.records import (
    AccountRecord,
    ActivityRecord,
    DealRecord,
    DealStageHistoryRecord,
    TeamRecord,
    UserRecord,
)
from tests.connectors.hubspot.driver import PlainHttp, drive
from tests.connectors.hubspot.fixtures import load

BASE = "https://api.hubapi.test"


@pytest.fixture
async def http():
    async with httpx.AsyncClient(base_url=BASE) as client:
        yield PlainHttp(client)


def known_portal() -> HubSpotState:
    """A run that already knows the portal (has leads, bills in USD): no probes."""
    return HubSpotState(leads=True, company_currency="USD")


def full_ctx(**kwargs) -> StreamContext:
    kwargs.setdefault("state", known_portal())
    return StreamContext(connection_id="c1", mode=SyncMode.FULL, **kwargs)


def body(call) -> dict:
    return json.loads(call.request.content)


@respx.mock
async def test_owners_read_active_then_archived(http) -> None:
    route = respx.get(f"{BASE}/crm/v3/owners").mock(
        side_effect=[
            httpx.Response(200, json=load("owners.json")),
            httpx.Response(200, json={"results": []}),
            httpx.Response(200, json=load("owners_archived.json")),
        ]
    )
    result = await drive(streams.OwnersStream(), full_ctx(), http)
    params = [dict(call.request.url.params) for call in route.calls]
    assert params == [
        {"limit": "100", "archived": "false"},
        {"limit": "100", "archived": "false", "after": "MTAw"},
        {"limit": "100", "archived": "true"},
    ]
    users = {r.remote_id: r for r in result.records if isinstance(r, UserRecord)}
    assert set(users) == {"41629779", "52011234", "30000001"}
    assert users["30000001"].active is False
    assert {r.remote_id for r in result.records if isinstance(r, TeamRecord)} == {"7201", "7202"}


@respx.mock
async def test_deals_full_read_pages_with_stage_properties_and_deletions(http) -> None:
    respx.get(f"{BASE}/crm/v3/pipelines/deals").mock(
        return_value=httpx.Response(200, json=load("pipelines.json"))
    )
    deals = load("deals.json")["results"][:2]
    listing = respx.get(f"{BASE}/crm/v3/objects/deals", params={"archived": "false"}).mock(
        side_effect=[
            httpx.Response(200, json={"results": deals[:1], "paging": {"next": {"after": "1"}}}),
            httpx.Response(200, json={"results": deals[1:]}),
        ]
    )
    archived = respx.get(f"{BASE}/crm/v3/objects/deals", params={"archived": "true"}).mock(
        return_value=httpx.Response(
            200, json={"results": [{"id": "17", "archived": True, "properties": {}}]}
        )
    )
    ctx = full_ctx(
        mappings=FieldMappings.from_dict({"custom_dimensions": {"customer_tier": "tier"}})
    )
    result = await drive(streams.DealsStream(), ctx, http)

    first = listing.calls[0].request.url.params
    properties = first["properties"].split(",")
    assert "hs_date_entered_closedwon" in properties and "hs_date_exited_8852308" in properties
    assert "customer_tier" in properties
    assert first["associations"] == "companies,contacts,leads"
    assert first["propertiesWithHistory"] == "dealstage"
    assert first["limit"] == "50"  # HubSpot's maximum when history is asked for
    assert listing.calls[1].request.url.params["after"] == "1"
    assert archived.called
    deal_records = [r for r in result.records if isinstance(r, DealRecord)]
    assert [d.remote_id for d in deal_records] == ["18000001", "18000002"]
    assert deal_records[0].custom == {"tier": "gold"}  # the dimension the property maps to
    assert sum(isinstance(r, DealStageHistoryRecord) for r in result.records) == 3
    assert result.deleted == [(DealRecord, "17")]
    assert result.cursor == Cursor(datetime(2024, 6, 28, 15, 5, 11, 320000, tzinfo=UTC), "18000001")


@pytest.mark.parametrize("prefetch", [False, True])
@respx.mock
async def test_deals_incremental_search_then_associations(http, prefetch: bool) -> None:
    respx.get(f"{BASE}/crm/v3/pipelines/deals").mock(
        return_value=httpx.Response(200, json=load("pipelines.json"))
    )
    search = respx.post(f"{BASE}/crm/v3/objects/deals/search").mock(
        return_value=httpx.Response(200, json=load("search_deals.json"))
    )
    companies = respx.post(f"{BASE}/crm/v4/associations/deals/companies/batch/read").mock(
        return_value=httpx.Response(207, json=load("associations_deals_companies.json"))
    )
    contacts = respx.post(f"{BASE}/crm/v4/associations/deals/contacts/batch/read").mock(
        return_value=httpx.Response(
            200,
            json={
                "results": [
                    {
                        "from": {"id": "18000003"},
                        "to": [{"toObjectId": 151, "associationTypes": [{"typeId": 3}]}],
                    }
                ]
            },
        )
    )
    leads = respx.post(f"{BASE}/crm/v4/associations/deals/leads/batch/read").mock(
        return_value=httpx.Response(200, json={"results": []})
    )
    history = respx.post(f"{BASE}/crm/v3/objects/deals/batch/read").mock(
        return_value=httpx.Response(
            200,
            json={
                "status": "COMPLETE",
                "results": [
                    {
                        "id": "18000001",
                        "properties": {"dealstage": "closedwon"},
                        "propertiesWithHistory": {
                            "dealstage": [
                                {"value": "closedwon", "timestamp": "2024-06-28T15:04:00.000Z"},
                                {"value": "qualifiedtobuy", "timestamp": "2024-05-01T00:00:00Z"},
                                {"value": "closedwon", "timestamp": "2024-04-01T00:00:00Z"},
                                {"value": "qualifiedtobuy", "timestamp": "2024-03-02T10:00:00Z"},
                            ]
                        },
                    }
                ],
                "startedAt": "2024-07-02T00:00:00.000Z",
                "completedAt": "2024-07-02T00:00:00.020Z",
            },
        )
    )
    respx.get(f"{BASE}/crm/v3/objects/deals").mock(
        return_value=httpx.Response(200, json={"results": []})
    )
    now = datetime(2024, 7, 2, tzinfo=UTC)
    cursor = Cursor(datetime(2024, 7, 1, 7, 0, tzinfo=UTC), "18000000")
    ctx = StreamContext(
        state=known_portal(),
        connection_id="c1",
        mode=SyncMode.INCREMENTAL,
        start_cursor=cursor,
        lookback=timedelta(minutes=10),
        now=now,
    )
    result = await drive(streams.DealsStream(), ctx, http, prefetch=prefetch)

    sent = body(search.calls[0])
    since_ms = int((cursor.updated_at - timedelta(minutes=10)).timestamp() * 1000)
    assert sent["filterGroups"] == [
        {
            "filters": [
                {"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": str(since_ms)},
                {
                    "propertyName": "hs_lastmodifieddate",
                    "operator": "LT",
                    "value": str(int(now.timestamp() * 1000)),
                },
            ]
        }
    ]
    assert sent["sorts"] == [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}]
    assert sent["limit"] == 200 and "hs_date_entered_closedwon" in sent["properties"]
    expected_inputs = {"inputs": [{"id": "18000001"}, {"id": "18000003"}]}
    assert body(companies.calls[0]) == expected_inputs
    assert body(contacts.calls[0]) == expected_inputs and leads.called
    assert search.call_count == 1
    assert body(history.calls[0]) == {
        **expected_inputs,
        "properties": ["dealstage"],
        "propertiesWithHistory": ["dealstage"],
    }
    stays = [
        (h.deal_remote_id, h.stage_remote_id, h.exited_at)
        for h in result.records
        if isinstance(h, DealStageHistoryRecord)
    ]
    assert stays == [  # every visit, the re-entry of closedwon included
        ("18000001", "qualifiedtobuy", datetime(2024, 4, 1, tzinfo=UTC)),
        ("18000001", "closedwon", datetime(2024, 5, 1, tzinfo=UTC)),
        ("18000001", "qualifiedtobuy", datetime(2024, 6, 28, 15, 4, tzinfo=UTC)),
        ("18000001", "closedwon", None),
    ]
    deals = {r.remote_id: r for r in result.records if isinstance(r, DealRecord)}
    assert deals["18000001"].amount == Decimal("13750.55")
    assert deals["18000001"].account_remote_id == "9854512001"  # the Primary label first
    assert deals["18000001"].contact_remote_id is None
    assert deals["18000003"].account_remote_id is None
    assert deals["18000003"].contact_remote_id == "151"
    assert result.cursor == Cursor(datetime(2024, 7, 1, 8, tzinfo=UTC), "18000003")


@respx.mock
async def test_incremental_search_without_changes_ends_after_one_request(http) -> None:
    search = respx.post(f"{BASE}/crm/v3/objects/companies/search").mock(
        return_value=httpx.Response(200, json={"total": 0, "results": []})
    )
    respx.get(f"{BASE}/crm/v3/objects/companies").mock(
        return_value=httpx.Response(200, json={"results": []})
    )
    ctx = StreamContext(
        state=known_portal(),
        connection_id="c1",
        mode=SyncMode.INCREMENTAL,
        start_cursor=Cursor(datetime(2024, 7, 1, tzinfo=UTC)),
    )
    result = await drive(streams.CompaniesStream(), ctx, http)
    assert search.call_count == 1 and result.records == [] and result.cursor is None


@pytest.mark.parametrize("prefetch", [False, True])
@respx.mock
async def test_associations_cut_short_in_a_list_are_read_in_full_page_by_page(
    http, prefetch: bool
) -> None:
    calls = load("engagements.json")["calls"]
    truncated = {
        **calls[0],
        "associations": {
            **calls[0]["associations"],
            "deals": {
                "results": [{"id": "18000001", "type": "call_to_deal"}],
                "paging": {"next": {"after": "MQ==", "link": "crm/v4/objects/calls/x/deals"}},
            },
        },
    }
    respx.get(f"{BASE}/crm/v3/objects/calls", params={"archived": "false"}).mock(
        return_value=httpx.Response(200, json={"results": [truncated, calls[1]]})
    )
    respx.get(f"{BASE}/crm/v3/objects/calls", params={"archived": "true"}).mock(
        return_value=httpx.Response(200, json={"results": []})
    )
    call_id = truncated["id"]
    unlabeled = [{"category": "HUBSPOT_DEFINED", "typeId": 194, "label": None}]
    pages = respx.post(f"{BASE}/crm/v4/associations/calls/deals/batch/read").mock(
        side_effect=[
            httpx.Response(
                200,
                json={
                    "status": "COMPLETE",
                    "results": [
                        {
                            "from": {"id": call_id},
                            "to": [{"toObjectId": 18000001, "associationTypes": unlabeled}],
                            "paging": {"next": {"after": "NTAw"}},
                        }
                    ],
                },
            ),
            httpx.Response(
                200,
                json={
                    "status": "COMPLETE",
                    "results": [
                        {
                            "from": {"id": call_id},
                            "to": [{"toObjectId": 18000002, "associationTypes": unlabeled}],
                        }
                    ],
                },
            ),
        ]
    )
    result = await drive(streams.CallsStream(), full_ctx(), http, prefetch=prefetch)

    assert [body(c) for c in pages.calls] == [
        {"inputs": [{"id": call_id}]},
        {"inputs": [{"id": call_id, "after": "NTAw"}]},
    ]
    activities = [r for r in result.records if isinstance(r, ActivityRecord)]
    assert [a.remote_id for a in activities] == [call_id, calls[1]["id"]]
    deals = activities[0].remote_data["associations"]["deals"]["results"]
    assert [d["id"] for d in deals] == ["18000001", "18000002"]
    assert activities[0].deal_remote_id == "18000001"
    assert activities[0].contact_remote_id == "151"  # the other types are kept as listed


@respx.mock
async def test_ids_merged_into_a_record_are_deleted_with_the_archived(http) -> None:
    company = {**load("companies.json")["results"][0]}
    company["properties"] = {**company["properties"], "hs_merged_object_ids": "5001;5002"}
    listing = respx.get(f"{BASE}/crm/v3/objects/companies", params={"archived": "false"}).mock(
        return_value=httpx.Response(200, json={"results": [company]})
    )
    respx.get(f"{BASE}/crm/v3/objects/companies", params={"archived": "true"}).mock(
        return_value=httpx.Response(200, json={"results": [{"id": "17", "archived": True}]})
    )
    result = await drive(streams.CompaniesStream(), full_ctx(), http)
    assert "hs_merged_object_ids" in listing.calls[0].request.url.params["properties"]
    assert [r.remote_id for r in result.records] == [company["id"]]
    assert result.deleted == [
        (AccountRecord, "17"),
        (AccountRecord, "5001"),
        (AccountRecord, "5002"),
    ]


@respx.mock
async def test_engagement_stream_maps_its_own_type(http) -> None:
    respx.get(f"{BASE}/crm/v3/objects/meetings", params={"archived": "false"}).mock(
        return_value=httpx.Response(200, json={"results": load("engagements.json")["meetings"]})
    )
    respx.get(f"{BASE}/crm/v3/objects/meetings", params={"archived": "true"}).mock(
        return_value=httpx.Response(200, json={"results": []})
    )
    result = await drive(streams.MeetingsStream(), full_ctx(), http)
    assert [r.type for r in result.records if isinstance(r, ActivityRecord)] == ["MEETING"] * 2


async def test_companies_properties_include_custom_and_deal_attribute_sources() -> None:
    ctx = full_ctx(
        mappings=FieldMappings.from_dict(
            {
                "custom_dimensions": {"customer_tier": "tier"},
                "deal_attributes": {"cost": "cost_of_sale"},
            }
        )
    )
    request = streams.CompaniesStream().first_request(ctx)
    properties = request.params["properties"].split(",")
    assert properties[-2:] == ["cost_of_sale", "customer_tier"]
    assert "associations" not in request.params


def test_every_stream_has_a_unique_name_and_produces_records() -> None:
    all_streams = streams.all_streams()
    names = [s.name for s in all_streams]
    assert len(names) == len(set(names)) == 12
    assert all(s.produces for s in all_streams if s.name != "exchange_rates")
    assert names.index("pipelines") < names.index("deals")
    assert any(AccountRecord in s.produces for s in all_streams)

"""The simulator over ASGI: shapes, paging, search rules, errors, limits, and a full read
of every stream through the connector that gives back the business it was seeded with."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import httpx
import pytest

from connectors.hubspot import streams
from connectors.hubspot._state import HubSpotState
from connectors.hubspot.simulator import (
    ACCESS_TOKEN,
    CLIENT_ID,
    CLIENT_SECRET,
    REFRESH_TOKEN,
    create_app,
    create_simulator,
)
from connectors.hubspot.simulator.account import ARCHIVED_ID_BASE
from connectors.hubspot.simulator.prospects import PROSPECT_ID_BASE
from core.models.enums import SyncMode
from core.simulation.dataset import generate
from core.sync.connector import StreamContext
from core.sync.mappings import FieldMappings
from core.sync.records import (
    AccountRecord,
    ActivityRecord,
    ContactRecord,
    DealRecord,
    DealStageHistoryRecord,
    FxRateRecord,
    LeadRecord,
    PipelineRecord,
    StageRecord,
    TeamRecord,
    UserRecord,
)
from tests.connectors.hubspot.driver import PlainHttp, drive

AUTH = {"Authorization": f"Bearer {ACCESS_TOKEN}"}


def client_for(sim) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sim.app), base_url="http://sim", headers=AUTH
    )


@pytest.fixture(scope="module")
def data():
    return generate(seed=7, deals=240)


@pytest.fixture
def sim(data):
    return create_simulator(data=data)


async def read_all(sim, stream, ctx) -> list:
    async with client_for(sim) as client:
        return (await drive(stream, ctx, PlainHttp(client, AUTH))).records


async def test_unauthenticated_requests_get_hubspots_401(sim) -> None:
    async with client_for(sim) as client:
        response = await client.get("/crm/v3/objects/deals", headers={"Authorization": "Bearer x"})
    assert response.status_code == 401
    assert response.json()["category"] == "INVALID_AUTHENTICATION"
    assert response.json()["status"] == "error" and response.json()["correlationId"]


async def test_list_pages_with_after_and_rate_limit_headers(sim, data) -> None:
    seen: list[str] = []
    async with client_for(sim) as client:
        params = {"limit": 100}
        while True:
            response = await client.get("/crm/v3/objects/deals", params=params)
            assert response.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
            assert int(response.headers["X-HubSpot-RateLimit-Max"]) > 0
            body = response.json()
            seen += [r["id"] for r in body["results"]]
            assert "associations" not in body["results"][0]
            if "paging" not in body:
                break
            params["after"] = body["paging"]["next"]["after"]
    assert seen == [str(d.id) for d in data.deals]


@pytest.mark.off_contract("asks limit=500 to see it capped", expect=["limit 500 outside 1..100"])
async def test_limit_is_capped_and_defaults_to_ten(sim) -> None:
    async with client_for(sim) as client:
        default = (await client.get("/crm/v3/objects/deals")).json()
        capped = (await client.get("/crm/v3/objects/deals", params={"limit": 500})).json()
    assert len(default["results"]) == 10
    assert len(capped["results"]) == 100


async def test_search_filters_sorts_and_totals(sim, data) -> None:
    cut = sorted(d.updated_at for d in data.deals)[len(data.deals) // 2]
    cut_ms = int(cut.timestamp() * 1000)
    body = {
        "filterGroups": [
            {
                "filters": [
                    {"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": str(cut_ms)}
                ]
            }
        ],
        "sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
        "limit": 200,
    }
    async with client_for(sim) as client:
        response = await client.post("/crm/v3/objects/deals/search", json=body)
    page = response.json()
    expected = [d for d in data.deals if d.updated_at >= cut]
    assert page["total"] == len(expected)
    stamps = [r["properties"]["hs_lastmodifieddate"] for r in page["results"]]
    assert stamps == sorted(stamps)
    assert "X-HubSpot-RateLimit-Remaining" not in response.headers
    assert "associations" not in page["results"][0]


def _refused(expect: str) -> Any:
    """The mark of a search HubSpot's contract refuses, sent on purpose to see the 400."""
    return pytest.mark.off_contract("sends a search HubSpot refuses", expect=[expect])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(
            {"limit": 201},
            "limit must be between",
            marks=_refused("201 is greater than the maximum of 200"),
        ),
        # within the request contract: the 10,000-result paging limit is the answer's
        ({"limit": 100, "after": "10000"}, "limited to 10000"),
        pytest.param(
            {"filterGroups": [{"filters": []}] * 6},
            "Too many filter groups",
            marks=_refused("has more than 5 items at ['filterGroups']"),
        ),
        pytest.param(
            {
                "filterGroups": [
                    {"filters": [{"propertyName": "x", "operator": "LIKE", "value": "1"}]}
                ]
            },
            "Unknown operator",
            marks=_refused('"LIKE" is not one of'),
        ),
    ],
)
async def test_search_rejections_are_validation_errors(sim, body, message) -> None:
    async with client_for(sim) as client:
        response = await client.post("/crm/v3/objects/deals/search", json=body)
    assert response.status_code == 400
    assert response.json()["category"] == "VALIDATION_ERROR"
    assert message in response.json()["message"]


async def test_archived_records_leave_the_list_and_search(data) -> None:
    local = generate(seed=7, deals=60)
    sim = create_simulator(data=local)
    gone = local.deals[:3]
    local.delete(gone, local.anchor)
    sim.refresh()
    async with client_for(sim) as client:
        live = (await client.get("/crm/v3/objects/deals", params={"limit": 100})).json()
        archived = (
            await client.get("/crm/v3/objects/deals", params={"limit": 100, "archived": "true"})
        ).json()
        found = (await client.post("/crm/v3/objects/deals/search", json={"limit": 100})).json()
    ids = {str(d.id) for d in gone}
    assert ids.isdisjoint(r["id"] for r in live["results"])
    # the deleted deals, besides the archived records every simulated portal holds
    assert ids < {r["id"] for r in archived["results"]}
    assert all(r["archived"] is True and r["archivedAt"] for r in archived["results"])
    assert found["total"] == 57


async def test_batch_associations_report_missing_ids(sim, data) -> None:
    with_contact = next(d for d in data.deals if d.contact_id)
    without = next(d for d in data.deals if d.lead_id is None)
    async with client_for(sim) as client:
        response = await client.post(
            "/crm/v4/associations/deals/leads/batch/read",
            json={"inputs": [{"id": str(without.id)}]},
        )
        contacts = await client.post(
            "/crm/v4/associations/deals/contacts/batch/read",
            json={"inputs": [{"id": str(with_contact.id)}]},
        )
    assert response.status_code == 207 and response.json()["results"] == []
    assert response.json()["errors"][0]["category"] == "OBJECT_NOT_FOUND"
    (result,) = contacts.json()["results"]
    assert result["to"][0]["toObjectId"] == with_contact.contact_id


async def test_rate_limits_answer_429_with_hubspot_bodies(data) -> None:
    sim = create_simulator(data=data, rate_limit=2, search_rate=1)
    async with client_for(sim) as client:
        search = [await client.post("/crm/v3/objects/deals/search", json={}) for _ in range(2)]
        second = await client.get("/crm/v3/owners")  # the rejected search did not count
        third = await client.get("/crm/v3/owners")
    assert search[0].status_code == 200 and search[1].status_code == 429
    assert search[1].json()["policyName"] == "SECONDLY"
    assert second.status_code == 200
    assert second.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    assert third.status_code == 429
    assert third.json()["policyName"] == "TEN_SECONDLY_ROLLING"
    assert third.json()["errorType"] == "RATE_LIMIT"
    assert third.headers["X-HubSpot-RateLimit-Remaining"] == "0"


async def test_oauth_refresh_issues_a_usable_token(sim) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sim.app), base_url="http://sim"
    ) as client:
        refused = await client.post("/oauth/v1/token", data={"grant_type": "refresh_token"})
        granted = await client.post(
            "/oauth/v1/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": REFRESH_TOKEN,
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
            },
        )
        token = granted.json()["access_token"]
        owners = await client.get("/crm/v3/owners", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 400
    assert granted.json()["expires_in"] == 1800
    assert owners.status_code == 200


async def test_every_stream_reads_back_the_seeded_business(sim, data) -> None:
    ctx = StreamContext(
        connection_id="c1",
        mode=SyncMode.FULL,
        mappings=FieldMappings.from_dict({"deal_attributes": {"cost": "deal_cost"}}),
    )
    records = []
    for stream in streams.all_streams():
        records += await read_all(sim, stream, ctx)
    counts = Counter(type(r) for r in records)
    assert counts[FxRateRecord] == len(data.fx_rates)
    rates = {(r.currency, r.day): r.rate for r in records if isinstance(r, FxRateRecord)}
    assert all(rates[(fx.currency, fx.day)] == fx.usd for fx in data.fx_rates)
    assert counts[UserRecord] == len(data.users)
    assert len({r.remote_id for r in records if isinstance(r, TeamRecord)}) == len(data.teams)
    assert counts[PipelineRecord] == len(data.pipelines)
    assert counts[StageRecord] == len(data.stages)
    assert counts[AccountRecord] == len(data.accounts)
    assert counts[ContactRecord] == len(data.contacts)
    assert counts[LeadRecord] == len(data.leads)
    assert counts[DealRecord] == len(data.deals)
    assert counts[DealStageHistoryRecord] == sum(len(d.history) for d in data.deals)
    activity_types = Counter(r.type for r in records if isinstance(r, ActivityRecord))
    assert activity_types == Counter(a.type for a in data.activities)

    stage_kinds = {r.remote_id: r.kind for r in records if isinstance(r, StageRecord)}
    deals = {r.remote_id: r for r in records if isinstance(r, DealRecord)}
    for sim_deal in data.deals:
        deal = deals[str(sim_deal.id)]
        assert deal.status == sim_deal.status
        assert deal.closed_at == sim_deal.closed_at
        assert deal.amount == sim_deal.amount and deal.currency == sim_deal.currency
        assert deal.owner_remote_id == str(sim_deal.owner_id)
        assert deal.account_remote_id == str(sim_deal.account_id)
        assert deal.contact_remote_id == (str(sim_deal.contact_id) if sim_deal.contact_id else None)
        assert deal.lead_remote_id == (str(sim_deal.lead_id) if sim_deal.lead_id else None)
        assert deal.deal_type == sim_deal.deal_type
        assert deal.recurring_amount == sim_deal.recurring_amount
        assert deal.remote_created_at == sim_deal.created_at
        assert deal.custom == {"deal_cost": str(sim_deal.cost) if sim_deal.cost else None}
        if sim_deal.status != "OPEN":
            assert stage_kinds[deal.stage_remote_id] == sim_deal.status
    history = [r for r in records if isinstance(r, DealStageHistoryRecord)]
    first = data.deals[0]
    mine = sorted(
        (h for h in history if h.deal_remote_id == str(first.id)), key=lambda h: h.entered_at
    )
    assert [h.entered_at for h in mine] == [at for _, at in first.history]
    contacts = {r.remote_id: r for r in records if isinstance(r, ContactRecord)}
    for sim_contact in data.contacts:
        contact = contacts[str(sim_contact.id)]
        assert not contact.is_lead and contact.lead_at is None  # the leads are Lead records
        assert contact.mql_at == sim_contact.lifecycle.get("marketingqualifiedlead")
        assert contact.sql_at == sim_contact.lifecycle.get("salesqualifiedlead")
        assert contact.account_remote_id == str(sim_contact.account_id)
    leads = {r.remote_id: r for r in records if isinstance(r, LeadRecord)}
    for sim_lead in data.leads:
        lead = leads[str(sim_lead.id)]
        assert lead.converted_at == sim_lead.converted_at
        expected = str(sim_lead.converted_deal_id) if sim_lead.converted_deal_id else None
        assert lead.converted_deal_remote_id == expected
    activities = {(r.type, r.remote_id): r for r in records if isinstance(r, ActivityRecord)}
    for act in data.activities:
        activity = activities[(act.type, str(act.id))]
        if act.type == "NOTE":  # on the timeline when written, done then, never due
            assert (activity.due_at, activity.done_at) == (None, act.created_at)
        else:
            assert activity.due_at == act.due_at
        if act.type in ("CALL", "TASK", "EMAIL"):
            assert activity.done_at == act.done_at
        if act.type == "MEETING":  # a held meeting is COMPLETED, done at its start
            assert activity.done_at == (act.due_at if act.done_at else None)
            assert (activity.meeting_status == "HELD") is (act.done_at is not None)
        assert activity.deal_remote_id == (str(act.deal_id) if act.deal_id else None)
        assert activity.lead_remote_id == (str(act.lead_id) if act.lead_id else None)


async def test_incremental_read_finds_edits_and_deletions(data) -> None:
    local = generate(seed=11, deals=120)
    sim = create_simulator(data=local)
    full = StreamContext(connection_id="c1", mode=SyncMode.FULL)
    async with client_for(sim) as client:
        first = await drive(streams.DealsStream(), full, PlainHttp(client, AUTH))
        # after every existing change (the dataset dates some open deals past its anchor)
        at = max(d.updated_at for d in local.deals) + timedelta(hours=1)
        edited = local.edit_deals(5, at)
        deleted = [d for d in local.deals if d not in edited][:2]
        local.delete(deleted, at)
        sim.refresh()
        ctx = StreamContext(
            connection_id="c1",
            mode=SyncMode.INCREMENTAL,
            start_cursor=first.cursor,
            now=at + timedelta(minutes=1),
        )
        second = await drive(streams.DealsStream(), ctx, PlainHttp(client, AUTH))
    changed = {r.remote_id: r for r in second.records if isinstance(r, DealRecord)}
    assert {str(d.id) for d in edited} <= set(changed)
    assert all(changed[str(d.id)].amount == d.amount for d in edited)
    assert all(changed[str(d.id)].account_remote_id == str(d.account_id) for d in edited)
    extras = int(str(ARCHIVED_ID_BASE))  # the archived records every portal holds
    assert {rid for _, rid in second.deleted if int(rid) < extras} == {str(d.id) for d in deleted}
    assert second.cursor.updated_at == at


async def test_injected_faults_carry_hubspot_bodies_and_headers(data) -> None:
    sim = create_simulator(data=data)
    app = create_app(simulator=sim, faults="429every=2,retry_after=3")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sim", headers=AUTH
    ) as client:
        ok = await client.get("/crm/v3/owners")
        limited = await client.get("/crm/v3/owners")
    assert ok.status_code == 200 and ok.json()["results"]
    assert limited.status_code == 429
    assert limited.json()["errorType"] == "RATE_LIMIT"
    assert limited.json()["policyName"] == "TEN_SECONDLY_ROLLING"
    assert limited.headers["retry-after"] == "3"
    assert limited.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    errors = create_app(simulator=sim, faults="5xx=1.0")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=errors), base_url="http://sim", headers=AUTH
    ) as client:
        failed = await client.get("/crm/v3/owners")
    assert failed.status_code in (500, 502, 503)
    assert failed.json()["status"] == "error" and failed.json()["correlationId"]
    assert failed.headers["x-hubspot-correlation-id"] == failed.json()["correlationId"]


@pytest.mark.off_contract(
    "asks 100 records with history, which HubSpot refuses",
    expect=["limit 100 outside 1..50"],
)
async def test_lists_with_history_hold_50_records_and_list_every_stage_newest_first(
    sim, data
) -> None:
    params = {"propertiesWithHistory": "dealstage", "properties": "dealstage"}
    async with client_for(sim) as client:
        refused = await client.get("/crm/v3/objects/deals", params={**params, "limit": 100})
        page = (await client.get("/crm/v3/objects/deals", params={**params, "limit": 50})).json()
    assert refused.status_code == 400 and refused.json()["category"] == "VALIDATION_ERROR"
    assert len(page["results"]) == 50 and page["paging"]["next"]["after"]
    by_id = {d.id: d for d in data.deals}
    for raw in page["results"]:
        visits = raw["propertiesWithHistory"]["dealstage"]
        assert visits[0]["value"] == raw["properties"]["dealstage"]
        assert len(visits) == len(by_id[int(raw["id"])].history)
        stamps = [v["timestamp"] for v in visits]
        assert stamps == sorted(stamps, reverse=True)
        assert all(v["sourceType"] for v in visits)


@pytest.mark.off_contract(
    "sends the batch reads HubSpot refuses: 51 inputs with history, inputs not a list",
    expect=["BatchReadRequest: [{", "3 is not of type \"array\" at ['inputs']"],
)
async def test_batch_read_gives_history_and_reports_archived_ids(data) -> None:
    sim = create_simulator(data=data)
    gone = data.deals[0]
    data.delete([gone], data.anchor)
    sim.refresh()
    live = [d for d in data.deals if d.deleted_at is None]
    request = {"properties": ["dealstage"], "propertiesWithHistory": ["dealstage"]}
    async with client_for(sim) as client:
        too_many = await client.post(
            "/crm/v3/objects/deals/batch/read",
            json={**request, "inputs": [{"id": str(d.id)} for d in live[:51]]},
        )
        plain = await client.post(
            "/crm/v3/objects/deals/batch/read",
            json={"inputs": [{"id": str(d.id)} for d in live[:51]]},
        )
        read = await client.post(
            "/crm/v3/objects/deals/batch/read",
            json={**request, "inputs": [{"id": str(gone.id)}, {"id": str(live[0].id)}]},
        )
        bad = await client.post("/crm/v3/objects/deals/batch/read", json={"inputs": 3})
    assert too_many.status_code == 400 and plain.status_code == 200
    assert len(plain.json()["results"]) == 51
    assert read.status_code == 207
    assert read.json()["errors"][0]["context"] == {"ids": [str(gone.id)]}
    (result,) = read.json()["results"]
    # the asked property, and the three HubSpot always adds
    assert set(result["properties"]) == {
        "dealstage",
        "hs_object_id",
        "createdate",
        "hs_lastmodifieddate",
    }
    assert len(result["propertiesWithHistory"]["dealstage"]) == len(live[0].history)
    assert bad.status_code == 400 and bad.json()["category"] == "VALIDATION_ERROR"


async def test_associations_are_paged_per_object(data) -> None:
    sim = create_simulator(data=data, association_page=2)
    deal = next(d for d in data.deals if d.contact_id and d.deleted_at is None)
    extra = [c.id for c in data.contacts if c.id != deal.contact_id][:3]
    sim.associate("deals", deal.id, "contacts", extra)
    url = "/crm/v4/associations/deals/contacts/batch/read"
    async with client_for(sim) as client:
        listed = (
            await client.get(
                "/crm/v3/objects/deals",
                params={"associations": "contacts", "limit": 100, "after": str(deal.id)},
            )
        ).json()["results"][0]
        pages, after = [], None
        while True:
            item = {"id": str(deal.id), **({"after": after} if after else {})}
            (result,) = (await client.post(url, json={"inputs": [item]})).json()["results"]
            pages.append([t["toObjectId"] for t in result["to"]])
            after = (result.get("paging") or {}).get("next", {}).get("after")
            if after is None:
                break
    block = listed["associations"]["contacts"]
    assert [r["id"] for r in block["results"]] == [str(deal.contact_id), str(extra[0])]
    assert block["paging"]["next"]["after"]
    assert pages == [[deal.contact_id, extra[0]], extra[1:]]


async def test_a_merge_keeps_one_record_and_moves_the_associations(data) -> None:
    sim = create_simulator(data=data)
    keep = next(c for c in data.contacts if c.deleted_at is None)
    gone = next(
        c
        for c in data.contacts
        if c.deleted_at is None
        and c.id != keep.id
        and any(d.contact_id == c.id for d in data.deals)
    )
    pointing = [d for d in data.deals if d.contact_id == gone.id]
    at = data.anchor + timedelta(hours=1)
    sim.merge("contacts", keep.id, gone.id, at)
    merged = "hs_merged_object_ids"
    async with client_for(sim) as client:
        pages = [
            (
                await client.get("/crm/v3/objects/contacts", params={**p, "properties": merged})
            ).json()["results"]
            for p in (
                {"limit": 1},
                {"limit": 1, "after": str(gone.id)},
                {"limit": 100, "archived": "true"},
            )
        ]
        read = await client.post(
            "/crm/v4/associations/deals/contacts/batch/read",
            json={"inputs": [{"id": str(d.id)} for d in pointing]},
        )
    (kept,), (after_gone,), archived = pages
    assert kept["id"] == str(keep.id) and after_gone["id"] != str(gone.id)
    assert str(gone.id) not in {r["id"] for r in archived}
    assert kept["properties"]["hs_merged_object_ids"] == str(gone.id)
    assert kept["properties"]["lastmodifieddate"] == at.isoformat().replace("+00:00", ".000Z")
    targets = [t["toObjectId"] for r in read.json()["results"] for t in r["to"]]
    assert pointing and targets == [keep.id] * len(pointing)


@pytest.mark.parametrize("account", ["minimal", "standard", "full"])
async def test_the_business_leads_are_leads_and_its_accounts_people_are_not(
    data, account: str
) -> None:
    """KPIS.md "Lead": the business's leads are HubSpot leads (Lead records, or on a portal
    whose Leads object the app cannot read, contacts at lifecycle lead that reach customer
    when their deal is won); the people of its accounts are contacts, as in Salesforce and
    Pipedrive, with their qualification dates but no lead stage."""
    sim = create_simulator(data=data, account=account)
    readable = HubSpotState(leads=account == "full")  # as discovery tells the streams
    ctx = StreamContext(connection_id="c1", mode=SyncMode.FULL, state=readable)
    contacts = {r.remote_id: r for r in await read_all(sim, streams.ContactsStream(), ctx)}
    for person in data.contacts:
        contact = contacts[str(person.id)]
        assert not contact.is_lead and contact.lead_at is None
        assert contact.sql_at == person.lifecycle.get("salesqualifiedlead")
    prospects = {rid: c for rid, c in contacts.items() if c.is_lead}
    if account == "full":
        assert prospects == {}
        return
    assert len(prospects) == len(data.leads)
    deals = {d.id: d for d in data.deals}
    for lead in data.leads:
        prospect = prospects[str(PROSPECT_ID_BASE + lead.id)]
        assert prospect.lead_at == lead.created_at
        deal = deals.get(lead.converted_deal_id or 0)
        won = deal.closed_at if deal is not None and deal.status == "WON" else None
        assert prospect.customer_at == won
    calls_stream = next(s for s in streams.all_streams() if s.name == "calls")
    calls = await read_all(sim, calls_stream, ctx)
    lead_calls = {str(a.id): a.lead_id for a in data.activities if a.type == "CALL" and a.lead_id}
    linked = {c.remote_id: c.contact_remote_id for c in calls if c.remote_id in lead_calls}
    assert linked and all(
        linked[rid] == str(PROSPECT_ID_BASE + lead_id)
        for rid, lead_id in lead_calls.items()
        if data.activities[int(rid) - 1].contact_id is None
    )

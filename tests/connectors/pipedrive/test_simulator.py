"""The simulator's Pipedrive shapes, and the connector's streams read against it end to
end over httpx's ASGI transport (the database-backed end-to-end runs are in test_e2e)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from connectors.pipedrive import streams
from connectors.pipedrive._state import RunState
from connectors.pipedrive.simulator import API_TOKEN, PipedriveSimulator
from connectors.pipedrive.simulator.render import lead_uuid
from core.models.enums import SyncMode
from core.simulation.dataset import Dataset, generate
from core.sync.connector import StreamContext
from core.sync.records import (
    AccountRecord,
    ActivityRecord,
    ContactRecord,
    DealRecord,
    DealStageHistoryRecord,
    LeadRecord,
    Record,
    StageRecord,
)
from tests.connectors.pipedrive.driver import Http, Result, run_stream

BASE = "http://pipedrive.test"


@pytest.fixture
def dataset() -> Dataset:
    return generate(seed=7, deals=300)


@pytest.fixture
def sim(dataset: Dataset) -> PipedriveSimulator:
    return PipedriveSimulator(dataset)


@pytest.fixture
async def client(sim: PipedriveSimulator) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=sim.app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as c:
        yield c


async def _sync(client: httpx.AsyncClient, ctx: StreamContext) -> dict[str, Result]:
    http = Http(client, {"x-api-token": API_TOKEN})
    return {s.name: await run_stream(s, http, ctx) for s in streams.all_streams()}


def _of(results: dict[str, Result], kind: type[Record]) -> dict[str, Record]:
    return {
        r.remote_id: r for result in results.values() for r in result.records if isinstance(r, kind)
    }


async def test_v2_cursor_pages_and_rate_limit_headers(client: httpx.AsyncClient) -> None:
    headers = {"x-api-token": API_TOKEN}
    first = await client.get("/api/v2/deals", params={"limit": 120}, headers=headers)
    body = first.json()
    assert body["success"] is True and len(body["data"]) == 120
    assert isinstance(body["additional_data"]["next_cursor"], str)
    assert {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"} <= set(first.headers)
    ids = [d["id"] for d in body["data"]]
    cursor = body["additional_data"]["next_cursor"]
    while cursor:
        page = (
            await client.get(
                "/api/v2/deals", params={"limit": 120, "cursor": cursor}, headers=headers
            )
        ).json()
        ids += [d["id"] for d in page["data"]]
        cursor = page["additional_data"]["next_cursor"]
    assert ids == sorted(ids) and len(ids) == len(set(ids)) == 300
    hashed = [k for k in body["data"][0]["custom_fields"] if len(k) == 40]
    assert len(hashed) == 3


async def test_updated_since_is_inclusive_and_sorted(
    client: httpx.AsyncClient, dataset: Dataset
) -> None:
    pivot = sorted(d.updated_at for d in dataset.deals)[200].replace(microsecond=0)
    page = (
        await client.get(
            "/api/v2/deals",
            params={
                "updated_since": pivot.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "sort_by": "update_time",
                "limit": 500,
            },
            headers={"x-api-token": API_TOKEN},
        )
    ).json()
    expected = {d.id for d in dataset.deals if d.updated_at.replace(microsecond=0) >= pivot}
    assert {d["id"] for d in page["data"]} == expected
    times = [d["update_time"] for d in page["data"]]
    assert times == sorted(times)


async def test_v1_offset_pagination_in_both_documented_shapes_and_null_data(
    client: httpx.AsyncClient,
) -> None:
    headers = {"x-api-token": API_TOKEN}
    # field metadata, leads, flows: the keys straight under additional_data (their models)
    page = (await client.get("/api/v1/dealFields", params={"limit": 3}, headers=headers)).json()
    assert page["additional_data"] == {"start": 0, "limit": 3, "more_items_in_collection": True}
    empty = (await client.get("/api/v1/leads/archived", headers=headers)).json()
    assert empty["data"] is None
    assert empty["additional_data"]["more_items_in_collection"] is False
    # notes: under additional_data.pagination, with next_start
    notes = (await client.get("/v1/notes", params={"limit": 2}, headers=headers)).json()
    assert notes["additional_data"]["pagination"] == {
        "start": 0,
        "limit": 2,
        "more_items_in_collection": True,
        "next_start": 2,
    }


async def test_errors_use_pipedrive_envelope(client: httpx.AsyncClient) -> None:
    unauthorized = await client.get("/api/v2/deals", headers={"x-api-token": "nope"})
    assert unauthorized.status_code == 401
    assert unauthorized.json()["success"] is False
    assert unauthorized.json()["error"] == "unauthorized access"
    missing = await client.get("/api/v1/deals/999999/flow", headers={"x-api-token": API_TOKEN})
    assert missing.status_code == 404 and missing.json()["error"] == "Deal not found"
    bad = await client.get(
        "/api/v2/deals", params={"limit": 900}, headers={"x-api-token": API_TOKEN}
    )
    assert bad.status_code == 400 and "limit" in bad.json()["error"]


async def test_burst_limit_answers_429_with_retry_after(dataset: Dataset) -> None:
    sim = PipedriveSimulator(dataset, burst_limit=3)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app), base_url=BASE) as c:
        codes = [
            (await c.get("/api/v2/pipelines", headers={"x-api-token": API_TOKEN})).status_code
            for _ in range(5)
        ]
        last = await c.get("/api/v2/pipelines", headers={"x-api-token": API_TOKEN})
    assert codes == [200, 200, 200, 429, 429]
    assert last.json()["error"] == "Too Many Requests" and last.json()["success"] is False
    assert last.headers["x-ratelimit-remaining"] == "0" and int(last.headers["retry-after"]) >= 1


async def test_daily_token_budget_blocks_until_midnight(dataset: Dataset) -> None:
    sim = PipedriveSimulator(dataset, daily_tokens=35)  # v2 list: 10 tokens, v1: 20
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app), base_url=BASE) as c:
        h = {"x-api-token": API_TOKEN}
        codes = [(await c.get("/api/v2/stages", headers=h)).status_code for _ in range(3)]
        over = await c.get("/api/v1/users", headers=h)
    assert codes == [200, 200, 200]
    assert over.status_code == 429 and 1 <= int(over.headers["retry-after"]) <= 86_400
    assert sim.tokens_used == 50


async def test_oauth_refresh_then_bearer(client: httpx.AsyncClient) -> None:
    refused = await client.post("/oauth/token", data={"grant_type": "refresh_token"})
    assert refused.status_code == 401
    token = await client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": "sim-refresh-token"},
        auth=("sim-client", "sim-secret"),
    )
    body = token.json()
    assert body["api_domain"] == BASE
    ok = await client.get(
        "/api/v2/stages", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert ok.status_code == 200 and ok.json()["data"]


async def test_full_read_carries_the_whole_business(
    client: httpx.AsyncClient, dataset: Dataset
) -> None:
    results = await _sync(client, StreamContext("conn", SyncMode.FULL))
    assert all(not r.errors for r in results.values()), {k: r.errors for k, r in results.items()}
    deals = _of(results, DealRecord)
    assert len(deals) == len(dataset.deals)
    for sim_deal in dataset.deals:
        deal = deals[str(sim_deal.id)]
        assert isinstance(deal, DealRecord)
        assert (deal.status, deal.amount, deal.currency) == (
            sim_deal.status,
            sim_deal.amount,
            sim_deal.currency,
        )
        assert deal.closed_at == (
            sim_deal.closed_at.replace(microsecond=0) if sim_deal.closed_at else None
        )
        assert (deal.deal_type, deal.source, deal.lost_reason) == (
            sim_deal.deal_type,
            sim_deal.source,
            sim_deal.lost_reason,
        )
        assert deal.cost == sim_deal.cost and deal.recurring_amount == sim_deal.recurring_amount
        expected_lead = lead_uuid(dataset.seed, sim_deal.lead_id) if sim_deal.lead_id else None
        assert deal.lead_remote_id == expected_lead
    stays = _of(results, DealStageHistoryRecord)
    # every open-stage stay, and the close as a stay in the pipeline's won / lost stage
    assert len(stays) == sum(len(d.history) for d in dataset.deals)
    closes = {
        (s.deal_remote_id, s.stage_remote_id, s.entered_at)
        for s in stays.values()
        if isinstance(s, DealStageHistoryRecord) and s.stage_remote_id.endswith(("won", "lost"))
    }
    assert closes == {
        (str(d.id), f"{d.pipeline_id}:{d.status.lower()}", d.closed_at.replace(microsecond=0))
        for d in dataset.deals
        if d.closed_at is not None
    }
    stages = [s for s in _of(results, StageRecord).values() if isinstance(s, StageRecord)]
    for pipeline in dataset.pipelines:
        own = sorted(
            (s for s in stages if s.pipeline_remote_id == str(pipeline.id)),
            key=lambda s: s.display_order,
        )
        assert [(s.remote_id, s.kind) for s in own[-2:]] == [
            (f"{pipeline.id}:won", "WON"),
            (f"{pipeline.id}:lost", "LOST"),
        ]
        assert not any(s.is_closed for s in own[:-2])  # Pipedrive's own: open stages
    open_now = [
        s for s in stays.values() if isinstance(s, DealStageHistoryRecord) and not s.exited_at
    ]
    assert len(open_now) == len(dataset.deals)  # exactly one running stay per deal
    accounts = _of(results, AccountRecord)
    assert {(a.remote_id, a.country, a.region, a.industry) for a in accounts.values()} == {
        (str(a.id), a.country, a.region, a.industry) for a in dataset.accounts
    }
    contacts = _of(results, ContactRecord)
    assert {(c.remote_id, c.email, c.source) for c in contacts.values()} == {
        (str(c.id), c.email, c.source) for c in dataset.contacts
    }
    mql_days = {
        c.remote_id: c.mql_at.date()
        for c in contacts.values()
        if isinstance(c, ContactRecord) and c.mql_at
    }
    assert mql_days == {
        str(c.id): c.lifecycle["marketingqualifiedlead"].date()
        for c in dataset.contacts
        if "marketingqualifiedlead" in c.lifecycle
    }
    leads = _of(results, LeadRecord)
    converted = {r.remote_id for r in leads.values() if r.converted_deal_remote_id}
    assert converted == {
        lead_uuid(dataset.seed, x.id) for x in dataset.leads if x.converted_deal_id
    }
    assert len(leads) == len(dataset.leads)
    activities = _of(results, ActivityRecord)
    assert len(activities) == len(dataset.activities)
    by_type = {t: sum(1 for a in activities.values() if a.type == t) for t in ("NOTE", "CALL")}
    assert by_type["NOTE"] == sum(1 for a in dataset.activities if a.type == "NOTE")
    assert sum(
        d.amount for d in deals.values() if isinstance(d, DealRecord) and d.status == "WON"
    ) == sum((d.amount for d in dataset.deals if d.status == "WON"), Decimal(0))


def _latest_change(dataset: Dataset) -> datetime:
    """After every change of the business: deletions happen after the last sync's cursor."""
    objects = [*dataset.deals, *dataset.contacts, *dataset.activities, *dataset.accounts]
    return max(o.updated_at for o in objects)


async def test_incremental_read_gets_edits_and_deletions(
    client: httpx.AsyncClient, dataset: Dataset, sim: PipedriveSimulator
) -> None:
    full = await _sync(client, StreamContext("conn", SyncMode.FULL))
    cursors = {name: r.cursor for name, r in full.items()}
    # After every existing change (the dataset can date deal updates past its anchor).
    at = _latest_change(dataset) + timedelta(hours=1)
    edited = dataset.edit_deals(5, at)
    gone_deal = [d for d in dataset.deals if d not in edited][:2]
    dataset.delete(gone_deal, at)
    dataset.delete(dataset.contacts[:3], at)
    dataset.delete([a for a in dataset.activities if a.type == "CALL"][:2], at)
    sim.refresh()

    results: dict[str, Result] = {}
    http = Http(client, {"x-api-token": API_TOKEN})
    state = RunState()
    for stream in streams.all_streams():
        ctx = StreamContext(
            "conn", SyncMode.INCREMENTAL, start_cursor=cursors[stream.name], state=state
        )
        results[stream.name] = await run_stream(stream, http, ctx)
    deals = results["deals"]
    changed = {r.remote_id for r in deals.records if isinstance(r, DealRecord)}
    assert {str(d.id) for d in edited} <= changed
    assert len(changed) < len(dataset.deals) // 4  # only the look-back window, not everything
    amounts = {r.remote_id: r.amount for r in deals.records if isinstance(r, DealRecord)}
    assert all(amounts[str(d.id)] == d.amount for d in edited)
    removed = {r.remote_id for r in deals.records if isinstance(r, DealRecord) and r.deleted}
    assert removed == {str(d.id) for d in gone_deal}  # listed by status=deleted
    # Persons and activities have no documented deleted listing: an incremental read
    # neither lists nor returns them; a full read no longer does (the sweep removes them).
    gone_people = {str(c.id) for c in dataset.contacts[:3]}
    assert results["contacts"].deleted == [] and results["activities"].deleted == []
    full_after = await _sync(client, StreamContext("conn", SyncMode.FULL))
    assert gone_people.isdisjoint(_of(full_after, ContactRecord))
    live = {str(a.id) for a in dataset.activities if a.type != "NOTE" and a.deleted_at is None}
    assert {r for r in _of(full_after, ActivityRecord) if not r.startswith("note:")} == live
    assert results["deals"].cursor is not None and cursors["deals"] is not None
    assert results["deals"].cursor > cursors["deals"]
    stamp = at.replace(microsecond=0)
    cursor = results["deals"].cursor
    assert cursor.updated_at == stamp and cursor.remote_id in {str(d.id) for d in edited}

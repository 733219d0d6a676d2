"""Converted leads (respx, Pipedrive's payloads): a lead a deal names in ``source_lead_id``
is converted, never deleted, whether the lists still return it or not."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import respx

from connectors.pipedrive import streams
from connectors.pipedrive._state import run_state
from connectors.pipedrive.custom_fields import FieldCatalog
from core.models.enums import SyncMode
from core.sync.connector import Cursor, Page, Request, StreamContext
from core.sync.errors import RequestFailed
from core.sync.records import LeadRecord
from tests.connectors.pipedrive.conftest import load
from tests.connectors.pipedrive.driver import Http

BASE = "https://acme.pipedrive.com"
LISTED = "adf21080-0e10-11eb-879b-05d71fb426ec"  # in leads_v1.json
READABLE = "cc000000-0e10-11eb-879b-05d71fb426ec"  # dropped from the lists, readable by id
GONE = "dd000000-0e10-11eb-879b-05d71fb426ec"  # dropped and 404 by id
OLD = "ee000000-0e10-11eb-879b-05d71fb426ec"  # converted before an incremental window


class StatusHttp(Http):
    """Raises what the engine raises for an error answer: RequestFailed with the status."""

    async def send(self, request: Request) -> Any:
        try:
            return await super().send(request)
        except httpx.HTTPStatusError as exc:
            raise RequestFailed("refused", status=exc.response.status_code) from exc


@pytest.fixture
async def http() -> AsyncIterator[StatusHttp]:
    async with httpx.AsyncClient(base_url=BASE) as client:
        yield StatusHttp(client, {"x-api-token": "t0k"})


def _mock_lists(router: respx.MockRouter) -> dict[str, respx.Route]:
    router.get(f"{BASE}/api/v1/dealFields").mock(
        side_effect=lambda req: httpx.Response(
            200,
            json=load("deal_fields_page2" if req.url.params.get("start") == "5" else "deal_fields"),
        )
    )
    router.get(f"{BASE}/api/v1/leadLabels").mock(
        return_value=httpx.Response(200, json=load("lead_labels"))
    )
    router.get(f"{BASE}/api/v1/leads/archived").mock(
        return_value=httpx.Response(200, json={"success": True, "data": None})
    )
    router.get(f"{BASE}/api/v1/leads").mock(return_value=httpx.Response(200, json=load("leads_v1")))
    # Pipedrive's getLead: the lead "marked as deleted" by the conversion, still readable.
    readable = {**load("leads_v1")["data"][1], "id": READABLE, "is_deleted": True}
    return {
        READABLE: router.get(f"{BASE}/api/v1/leads/{READABLE}").mock(
            return_value=httpx.Response(200, json={"success": True, "data": readable})
        ),
        GONE: router.get(f"{BASE}/api/v1/leads/{GONE}").mock(
            return_value=httpx.Response(
                404, json={"success": False, "error": "Lead not found", "errorCode": 404}
            )
        ),
        OLD: router.get(f"{BASE}/api/v1/leads/{OLD}").mock(
            return_value=httpx.Response(404, json={"success": False, "error": "not found"})
        ),
        LISTED: router.get(f"{BASE}/api/v1/leads/{LISTED}").mock(
            return_value=httpx.Response(500, json={"success": False, "error": "unexpected"})
        ),
    }


def _ctx(mode: SyncMode, at: datetime) -> StreamContext:
    cursor = None if mode is SyncMode.FULL else Cursor(at, "x")
    ctx = StreamContext(
        connection_id="conn_1", mode=mode, start_cursor=cursor, lookback=timedelta(0)
    )
    state = run_state(ctx)
    state.deals_read, state.deals_window = True, None  # the deals stream read every deal
    day = timedelta(days=1)
    for n, lead in enumerate((LISTED, READABLE, GONE)):
        state.conversions[lead] = (str(100 + n), at + day, "201")
    state.conversions[OLD] = ("99", at - day, None)
    return ctx


async def _read(http: StatusHttp, ctx: StreamContext) -> list[Page]:
    return [page async for page in streams.LeadsStream().read(http, ctx)]


def _leads(pages: list[Page], ctx: StreamContext) -> dict[str, LeadRecord]:
    stream = streams.LeadsStream()
    records = [r for p in pages for raw in p.raws for r in stream.map(raw, ctx)]
    return {r.remote_id: r for r in records if isinstance(r, LeadRecord)}


@respx.mock
async def test_full_read_reads_unlisted_converted_leads_by_id_and_keeps_the_gone(
    http: StatusHttp,
) -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    routes = _mock_lists(respx.mock)
    ctx = _ctx(SyncMode.FULL, at)
    pages = await _read(http, ctx)
    leads = _leads(pages, ctx)
    # still listed: converted from the list, never asked for by id
    assert routes[LISTED].call_count == 0
    assert leads[LISTED].converted_deal_remote_id == "100" and not leads[LISTED].deleted
    # dropped from the lists, readable by id: converted, not deleted although marked so
    assert routes[READABLE].call_count == 1
    assert leads[READABLE].converted_deal_remote_id == "101"
    assert leads[READABLE].status == "Converted" and not leads[READABLE].deleted
    # gone by id: the stored row is kept (the sweep leaves it), nothing written over it
    kept = [k for p in pages for k in p.kept]
    assert (LeadRecord, GONE) in kept and (LeadRecord, OLD) in kept
    assert GONE not in leads
    # a lead read by id moves no cursor (it is out of the list's update-time order)
    by_id = next(raw for p in pages for raw in p.raws if raw.get("id") == READABLE)
    assert streams.LeadsStream().cursor_of(by_id) is None


@respx.mock
async def test_incremental_read_asks_only_for_leads_converted_in_its_window(
    http: StatusHttp,
) -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    routes = _mock_lists(respx.mock)
    respx.get(f"{BASE}/api/v2/deals").mock(
        return_value=httpx.Response(
            200, json={"success": True, "data": [], "additional_data": {"next_cursor": None}}
        )
    )
    pages = await _read(http, _ctx(SyncMode.INCREMENTAL, at))
    assert routes[READABLE].call_count == 1 and routes[GONE].call_count == 1
    assert routes[OLD].call_count == 0  # converted before the window: stored already
    assert [k for p in pages for k in p.kept] == [(LeadRecord, GONE)]


@respx.mock
async def test_an_error_other_than_gone_fails_the_stream(http: StatusHttp) -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    _mock_lists(respx.mock)
    respx.get(f"{BASE}/api/v1/leads/{READABLE}").mock(
        return_value=httpx.Response(403, json={"success": False, "error": "Forbidden"})
    )
    with pytest.raises(RequestFailed):
        await _read(http, _ctx(SyncMode.FULL, at))


def test_a_converted_lead_is_never_mapped_deleted() -> None:
    ctx = _ctx(SyncMode.FULL, datetime(2026, 1, 1, tzinfo=UTC))
    lead = {**load("leads_v1")["data"][0], "is_archived": True, "is_deleted": True}
    run_state(ctx).catalogs["deal"] = FieldCatalog.from_metadata(load("deal_fields")["data"])
    (record,) = streams.LeadsStream().map(lead, ctx)
    assert isinstance(record, LeadRecord)
    assert not record.deleted and record.converted_deal_remote_id == "100"
    unconverted = {**lead, "id": "ff000000-0e10-11eb-879b-05d71fb426ec"}
    (other,) = streams.LeadsStream().map(unconverted, ctx)
    assert isinstance(other, LeadRecord) and other.deleted

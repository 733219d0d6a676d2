"""Streams against respx-mocked pages: paging, incremental filters, deletions, currencies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import respx

from connectors.pipedrive import streams
from core.models.enums import SyncMode
from core.sync.connector import Cursor, StreamContext
from core.sync.mappings import FieldMappings
from core.sync.records import CurrencyRecord, DealRecord, LeadRecord, UserRecord
from tests.connectors.pipedrive.conftest import load
from tests.connectors.pipedrive.driver import Http, run_stream

BASE = "https://acme.pipedrive.com"


@pytest.fixture
async def http() -> AsyncIterator[Http]:
    async with httpx.AsyncClient(base_url=BASE) as client:
        yield Http(client, {"x-api-token": "t0k"})


def _ctx(mode: SyncMode = SyncMode.FULL, cursor: Cursor | None = None) -> StreamContext:
    return StreamContext(connection_id="conn_1", mode=mode, start_cursor=cursor)


def _page(data: list[dict], next_cursor: str | None = None) -> dict:
    return {"success": True, "data": data, "additional_data": {"next_cursor": next_cursor}}


def _mock_deal_fields(router: respx.MockRouter) -> respx.Route:
    return router.get(f"{BASE}/api/v1/dealFields").mock(
        side_effect=lambda req: httpx.Response(
            200,
            json=load("deal_fields_page2" if req.url.params.get("start") == "5" else "deal_fields"),
        )
    )


@respx.mock
async def test_deals_full_read_pages_by_cursor_and_lists_deletions(http: Http) -> None:
    fields = _mock_deal_fields(respx.mock)
    deals = load("deals_v2")["data"]
    route = respx.get(f"{BASE}/api/v2/deals").mock(
        side_effect=lambda req: httpx.Response(
            200,
            json=(
                (_page([], None) if "cursor" in req.url.params else _page([{"id": 900}], "c2"))
                if req.url.params.get("status") == "deleted"
                else _page(deals[:3], "c1")
                if "cursor" not in req.url.params
                else _page(deals[3:])
            ),
        )
    )
    archived = respx.get(f"{BASE}/api/v2/deals/archived").mock(
        return_value=httpx.Response(200, json=_page([{"id": 901}, {"id": 902}]))
    )
    ctx = _ctx()
    result = await run_stream(streams.DealsStream(), http, ctx)

    assert fields.call_count == 2  # both offset pages of the field metadata
    first, second = (call.request.url.params for call in route.calls[:2])
    assert first["limit"] == "500" and first["sort_by"] == "update_time"
    assert "updated_since" not in first and second["cursor"] == "c1"
    assert all(c.request.headers["x-api-token"] == "t0k" for c in route.calls)
    deals_out = [r for r in result.records if isinstance(r, DealRecord)]
    assert [d.remote_id for d in deals_out] == ["101", "102", "103", "106"]
    assert [e.split(":")[0] for e in result.errors] == ["104", "105"]
    assert result.cursor == Cursor(datetime(2026, 3, 5, tzinfo=UTC), "106")
    # deleted deals (status=deleted, both pages) then archived deals
    deleted_calls = [c for c in route.calls if c.request.url.params.get("status") == "deleted"]
    assert len(deleted_calls) == 2 and deleted_calls[1].request.url.params["cursor"] == "c2"
    assert archived.call_count == 1
    assert "status" not in archived.calls[0].request.url.params
    assert result.deleted == [(DealRecord, "900"), (DealRecord, "901"), (DealRecord, "902")]
    assert (
        ctx.shared[streams.Shared.CONVERSIONS]["adf21080-0e10-11eb-879b-05d71fb426ec"][0] == "101"
    )


@respx.mock
async def test_incremental_read_asks_from_cursor_minus_lookback(http: Http) -> None:
    _mock_deal_fields(respx.mock)
    route = respx.get(f"{BASE}/api/v2/deals").mock(return_value=httpx.Response(200, json=_page([])))
    respx.get(f"{BASE}/api/v2/deals/archived").mock(
        return_value=httpx.Response(200, json=_page([]))
    )
    cursor = Cursor(datetime(2026, 3, 1, 12, 0, tzinfo=UTC), "5")
    ctx = _ctx(SyncMode.INCREMENTAL, cursor)
    ctx.lookback = timedelta(minutes=10)
    await run_stream(streams.DealsStream(), http, ctx)
    params = [c.request.url.params for c in route.calls]
    assert params[0]["updated_since"] == "2026-03-01T11:50:00Z"
    assert params[0]["sort_direction"] == "asc"
    assert params[1]["status"] == "deleted" and params[1]["updated_since"] == "2026-03-01T11:50:00Z"


@respx.mock
async def test_null_data_page_is_an_empty_page(http: Http) -> None:
    respx.get(f"{BASE}/api/v2/pipelines").mock(
        return_value=httpx.Response(
            200, json={"success": True, "data": None, "additional_data": {}}
        )
    )
    result = await run_stream(streams.PipelinesStream(), http, _ctx())
    assert result.records == [] and result.errors == []


@respx.mock
async def test_leads_page_by_offset_and_archived_are_deletions(http: Http) -> None:
    _mock_deal_fields(respx.mock)
    respx.get(f"{BASE}/api/v1/leadLabels").mock(
        return_value=httpx.Response(200, json=load("lead_labels"))
    )
    leads = load("leads_v1")
    page1 = {
        **leads,
        "data": leads["data"][:1],
        "additional_data": {
            "pagination": {
                "start": 0,
                "limit": 1,
                "more_items_in_collection": True,
                "next_start": 1,
            }
        },
    }
    page2 = {**leads, "data": leads["data"][1:]}
    route = respx.get(f"{BASE}/api/v1/leads").mock(
        side_effect=lambda req: httpx.Response(
            200, json=page2 if req.url.params.get("start") == "1" else page1
        )
    )
    archived = respx.get(f"{BASE}/api/v1/leads/archived").mock(
        return_value=httpx.Response(200, json={"success": True, "data": [{"id": "dead-beef"}]})
    )
    converting = {"id": 101, "source_lead_id": "adf21080-0e10-11eb-879b-05d71fb426ec"}
    deals = respx.get(f"{BASE}/api/v2/deals").mock(
        return_value=httpx.Response(200, json=_page([converting, {"id": 102}]))
    )
    ctx = _ctx(SyncMode.INCREMENTAL, Cursor(datetime(2026, 1, 1, tzinfo=UTC)))
    result = await run_stream(streams.LeadsStream(), http, ctx)
    assert route.calls[0].request.url.params["sort"] == "update_time ASC"
    assert route.calls[0].request.url.params["updated_since"] == "2025-12-31T23:50:00Z"
    assert route.calls[1].request.url.params["start"] == "1"
    assert [r.remote_id for r in result.records] == [
        "adf21080-0e10-11eb-879b-05d71fb426ec",
        "bbf21080-0e10-11eb-879b-05d71fb426ec",
    ]
    first = result.records[0]
    assert isinstance(first, LeadRecord) and first.converted_deal_remote_id == "101"
    assert first.mql_at is None  # no lifecycle mapping for its "Hot" label
    ctx.mappings = FieldMappings.from_dict({"lifecycle": {"Hot": "sql"}})
    ctx.shared.pop(streams.Shared.FIELD_MAPPINGS, None)
    hot = next(iter(streams.LeadsStream().map(leads["data"][0], ctx)))
    assert isinstance(hot, LeadRecord)
    assert hot.sql_at == hot.mql_at == hot.remote_created_at is not None
    assert archived.call_count == 1 and result.deleted == [(LeadRecord, "dead-beef")]
    # conversions by deals outside the deals window: read from the lead window on
    assert deals.calls[0].request.url.params["updated_since"] == "2025-12-31T23:50:00Z"
    assert result.cursor == Cursor(
        datetime(2026, 2, 1, 8, tzinfo=UTC), "bbf21080-0e10-11eb-879b-05d71fb426ec"
    )


@respx.mock
async def test_users_read_their_team_membership(http: Http) -> None:
    teams = respx.get(f"{BASE}/api/v1/legacyTeams").mock(
        return_value=httpx.Response(200, json=load("teams_v1"))
    )
    respx.get(f"{BASE}/api/v1/users").mock(return_value=httpx.Response(200, json=load("users_v1")))
    ctx = _ctx()
    team_records = await run_stream(streams.TeamsStream(), http, ctx)
    users = await run_stream(streams.UsersStream(), http, ctx)
    assert [t.remote_id for t in team_records.records] == ["1", "2"]
    assert [
        (u.remote_id, u.team_remote_id) for u in users.records if isinstance(u, UserRecord)
    ] == [
        ("7", "1"),
        ("8", "1"),
    ]
    assert teams.call_count == 2


@respx.mock
async def test_users_without_teams_on_the_plan(http: Http) -> None:
    respx.get(f"{BASE}/api/v1/legacyTeams").mock(
        return_value=httpx.Response(403, json={"success": False, "error": "Forbidden"})
    )
    respx.get(f"{BASE}/api/v1/users").mock(return_value=httpx.Response(200, json=load("users_v1")))

    class StatusHttp(Http):  # what the engine raises: an error carrying the HTTP status
        async def send(self, request):  # type: ignore[no-untyped-def]
            try:
                return await super().send(request)
            except httpx.HTTPStatusError as exc:
                error = RuntimeError("refused")
                error.status = exc.response.status_code  # type: ignore[attr-defined]
                raise error from exc

    users = await run_stream(streams.UsersStream(), StatusHttp(http.client, http.headers), _ctx())
    assert [u.team_remote_id for u in users.records if isinstance(u, UserRecord)] == [None, None]


@respx.mock
async def test_currencies_are_one_unpaged_list_keyed_by_code(http: Http) -> None:
    route = respx.get(f"{BASE}/api/v1/currencies").mock(
        return_value=httpx.Response(200, json=load("currencies_v1"))
    )
    result = await run_stream(streams.CurrenciesStream(), http, _ctx(SyncMode.INCREMENTAL))
    assert route.call_count == 1 and not route.calls[0].request.url.params
    currencies = {r.remote_id: r for r in result.records if isinstance(r, CurrencyRecord)}
    assert set(currencies) == {"USD", "EUR", "ZWL", "PTS"}
    assert (currencies["EUR"].symbol, currencies["EUR"].decimals) == ("\u20ac", 2)
    assert currencies["ZWL"].active is False and currencies["PTS"].is_custom is True
    assert result.errors == ["9: currency 9 without a code"]
    assert result.cursor is None  # re-read whole every run


@respx.mock
@pytest.mark.parametrize("deals_window", [None, datetime(2026, 3, 1, tzinfo=UTC)])
async def test_leads_read_whole_find_conversions_outside_the_deals_window(
    http: Http, deals_window: datetime | None
) -> None:
    """A first (or post-crash) lead read after an incremental deals read still learns every
    conversion; after a full deals read it needs no deals request of its own."""
    _mock_deal_fields(respx.mock)
    respx.get(f"{BASE}/api/v1/leadLabels").mock(
        return_value=httpx.Response(200, json=load("lead_labels"))
    )
    respx.get(f"{BASE}/api/v1/leads").mock(return_value=httpx.Response(200, json=load("leads_v1")))
    respx.get(f"{BASE}/api/v1/leads/archived").mock(
        return_value=httpx.Response(200, json={"success": True, "data": None})
    )
    old = {"id": 55, "source_lead_id": "adf21080-0e10-11eb-879b-05d71fb426ec", "org_id": 9}
    deals = respx.get(f"{BASE}/api/v2/deals").mock(
        side_effect=lambda req: httpx.Response(
            200, json=_page([old], "c2") if "cursor" not in req.url.params else _page([])
        )
    )
    ctx = _ctx(SyncMode.INCREMENTAL)
    ctx.shared[streams.Shared.DEALS_WINDOW] = deals_window
    result = await run_stream(streams.LeadsStream(), http, ctx)
    converted = {
        r.remote_id: r.converted_deal_remote_id for r in result.records if isinstance(r, LeadRecord)
    }
    if deals_window is None:
        assert deals.call_count == 0
        assert converted["adf21080-0e10-11eb-879b-05d71fb426ec"] is None
    else:
        assert deals.call_count == 2  # every deal, page by page
        assert "updated_since" not in deals.calls[0].request.url.params
        assert converted["adf21080-0e10-11eb-879b-05d71fb426ec"] == "55"

"""The stage history stream against respx-mocked pages: which flows it reads, in which
order, and which cursor each raw record lets the engine commit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import respx

from connectors.pipedrive._state import run_state
from connectors.pipedrive.stage_history import DealStageHistoryStream, moved, threshold_of
from core.models.enums import SyncMode
from core.sync.connector import Cursor, StreamContext
from core.sync.records import DealStageHistoryRecord
from tests.connectors.pipedrive.conftest import load
from tests.connectors.pipedrive.driver import Http

BASE = "https://acme.pipedrive.com"


@pytest.fixture
async def http() -> AsyncIterator[Http]:
    async with httpx.AsyncClient(base_url=BASE) as client:
        yield Http(client, {"x-api-token": "t0k"})


def _deal(deal_id: int, updated: str, stage_change: str | None) -> dict[str, Any]:
    return {
        "id": deal_id,
        "add_time": "2026-01-05T09:30:00Z",
        "update_time": updated,
        "stage_change_time": stage_change,
        "stage_id": 3,
        "pipeline_id": 1,
        "is_deleted": False,
        "is_archived": False,
    }


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


DEALS = [
    _deal(1, "2026-03-01T10:00:00Z", "2026-02-01T12:00:00Z"),  # moved
    _deal(2, "2026-03-01T11:00:00Z", None),  # never moved
    _deal(3, "2026-03-01T12:00:00Z", "2026-03-01T11:55:00Z"),  # moved, flow on 2 pages
    _deal(4, "2026-03-01T13:00:00Z", None),
]


def _flow_pages(deal_id: str) -> list[dict[str, Any]]:
    """The fixture flow for ``deal_id``; deal 3's spans two offset pages."""
    flow = load("deal_flow_v1")
    items = [{**i, "data": {**i["data"], "item_id": int(deal_id)}} for i in flow["data"]]
    if deal_id != "3":
        return [{**flow, "data": items}]
    more = {"start": 0, "limit": 2, "more_items_in_collection": True, "next_start": 2}
    return [
        {**flow, "data": items[:2], "additional_data": {"pagination": more}},
        {**flow, "data": items[2:]},
    ]


def _mock_stages(router: respx.MockRouter) -> None:
    """The stages the stream reads first (stage -> pipeline), one v2 page."""
    stages = [{"id": i, "pipeline_id": 1, "order_nr": i} for i in (1, 2, 3)]
    page = {"success": True, "data": stages, "additional_data": {"next_cursor": None}}
    router.get(f"{BASE}/api/v2/stages").mock(return_value=httpx.Response(200, json=page))


def _mock(router: respx.MockRouter, deals: list[dict[str, Any]]) -> list[str]:
    """Deals in two cursor pages (2 + rest), flows per deal; returns the paths asked."""
    asked: list[str] = []

    def deals_page(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("status") == "deleted":
            empty = {"success": True, "data": [], "additional_data": {"next_cursor": None}}
            return httpx.Response(200, json=empty)
        asked.append(f"deals:{request.url.params.get('cursor', '')}")
        second = request.url.params.get("cursor") == "c1"
        data = deals[2:] if second else deals[:2]
        nxt = None if second or len(deals) <= 2 else "c1"
        return httpx.Response(
            200, json={"success": True, "data": data, "additional_data": {"next_cursor": nxt}}
        )

    def flow(request: httpx.Request) -> httpx.Response:
        deal_id = request.url.path.split("/")[-2]
        page = 1 if request.url.params.get("start") == "2" else 0
        asked.append(f"flow:{deal_id}:{page}")
        return httpx.Response(200, json=_flow_pages(deal_id)[page])

    _mock_stages(router)
    router.get(f"{BASE}/api/v2/deals").mock(side_effect=deals_page)
    router.get(url__regex=rf"{BASE}/api/v1/deals/\d+/flow").mock(side_effect=flow)
    return asked


async def _engine_order(
    stream: DealStageHistoryStream, http: Http, ctx: StreamContext
) -> list[tuple[list[DealStageHistoryRecord], Cursor | None]]:
    """The pages ``read`` yields, each as its records and the cursor it carries."""
    out: list[tuple[list[DealStageHistoryRecord], Cursor | None]] = []
    async for page in stream.read(http, ctx):
        records = [r for raw in page.raws for r in stream.map(raw, ctx)]
        assert all(isinstance(r, DealStageHistoryRecord) for r in records)
        out.append((records, page.cursor))  # type: ignore[arg-type]
    return out


def _pending(threshold: str) -> dict[str, str]:
    return {"threshold": threshold}


@respx.mock
async def test_first_read_interleaves_flows_of_moved_deals_with_deals_pages(http: Http) -> None:
    asked = _mock(respx.mock, DEALS)
    ctx = StreamContext(connection_id="c", mode=SyncMode.FULL)
    pages = await _engine_order(DealStageHistoryStream(), http, ctx)

    # the next deals page is asked for as soon as one arrives, before its flows
    assert asked == ["deals:", "deals:c1", "flow:1:0", "flow:3:0", "flow:3:1"]
    assert run_state(ctx).pipeline_of_stage == {"1": "1", "2": "1", "3": "1"}
    lists = [c.request.url.params for c in respx.calls if c.request.url.path == "/api/v2/deals"]
    first = lists[0]
    assert first["sort_by"] == "update_time" and "updated_since" not in first
    assert "status" not in first  # no deleted deals to read on a first read
    records = [r for page, _ in pages for r in page]
    # the deals that never moved get their stay from the list, without a request
    assert [(r.deal_remote_id, r.stage_remote_id) for r in records] == [
        ("2", "3"),
        ("1", "1"),
        ("1", "2"),
        ("1", "3"),
        ("4", "3"),
        ("3", "1"),
        ("3", "2"),
        ("3", "3"),
    ]
    assert records[-1].exited_at is None and records[0].pipeline_remote_id == "1"
    # Each cursor covers only deals whose history is written: deal 1 after its flow, the
    # end of page 1 (unmoved deal 2), deal 3 after its two flow pages, then the end of
    # the list, which ends the pass. Until then the cursor keeps the pass's threshold
    # ("*": every move) in ``resume``; the last one has none.
    assert all(cursor is None for page, cursor in pages if page and page[0].deal_remote_id in "24")
    cursors = [cursor for _, cursor in pages if cursor is not None]
    assert cursors == [
        Cursor(_at(DEALS[0]["update_time"]), "1"),
        Cursor(_at(DEALS[1]["update_time"]), "2"),
        Cursor(_at(DEALS[2]["update_time"]), "3"),
        Cursor(_at(DEALS[3]["update_time"]), "4"),
    ]
    assert [c.resume for c in cursors if c is not None] == [_pending("*")] * 3 + [None]
    assert [p.final for p in [p async for p in DealStageHistoryStream().read(http, ctx)]][-1]


@respx.mock
async def test_incremental_reads_only_flows_of_deals_moved_since_its_cursor(http: Http) -> None:
    asked = _mock(respx.mock, DEALS)
    cursor = Cursor(datetime(2026, 3, 1, 12, 0, tzinfo=UTC), "0")
    ctx = StreamContext(connection_id="c", mode=SyncMode.INCREMENTAL, start_cursor=cursor)
    ctx.lookback = timedelta(minutes=10)
    pages = await _engine_order(DealStageHistoryStream(), http, ctx)

    lists = [c.request.url.params for c in respx.calls if c.request.url.path == "/api/v2/deals"]
    live = [p for p in lists if "status" not in p]
    assert live[0]["updated_since"] == "2026-03-01T11:50:00Z"
    deleted = [p for p in lists if "status" in p]
    assert deleted and deleted[0]["status"] == "deleted"
    assert deleted[0]["updated_since"] == "2026-03-01T11:50:00Z"
    # deal 1 was edited in the window but moved long before: no flow read for it
    flows = [a for a in asked if a.startswith("flow")]
    assert flows == ["flow:3:0", "flow:3:1"]
    # deals 1 and 2 need no flow: the end of the first page moves the cursor past them
    window = _pending("2026-03-01T11:50:00+00:00")
    covered = [c for _, c in pages if c is not None]
    assert covered[0] == Cursor(_at(DEALS[1]["update_time"]), "2")
    assert covered[0].resume == window


@respx.mock
async def test_a_deal_that_moved_long_ago_and_closed_since_has_its_flow_read_again(
    http: Http,
) -> None:
    """Pipedrive has no won stage: winning keeps ``stage_change_time``, so a close since
    the cursor is what says the last open stay must now end (at ``won_time``)."""
    won = {
        **_deal(5, "2026-03-01T12:30:00Z", "2026-02-01T12:00:00Z"),
        **{"status": "won", "won_time": "2026-03-01T12:30:00Z"},
    }
    edited = _deal(6, "2026-03-01T12:40:00Z", "2026-02-01T12:00:00Z")  # moved long ago
    asked = _mock(respx.mock, [won, edited])
    cursor = Cursor(datetime(2026, 3, 1, 12, 0, tzinfo=UTC), "0")
    ctx = StreamContext(connection_id="c", mode=SyncMode.INCREMENTAL, start_cursor=cursor)
    pages = await _engine_order(DealStageHistoryStream(), http, ctx)

    assert [a for a in asked if a.startswith("flow")] == ["flow:5:0"]
    stays = [r for page, _ in pages for r in page]
    closed_at = _at(won["won_time"])
    assert [(r.stage_remote_id, r.exited_at) for r in stays] == [
        ("1", _at("2026-01-10T16:45:30Z")),
        ("2", _at("2026-02-01T12:00:00Z")),
        ("3", closed_at),
        ("1:won", None),
    ]
    assert stays[-1].entered_at == closed_at


@respx.mock
async def test_stays_of_a_deleted_deal_are_written_deleted_whenever_it_moved(
    http: Http,
) -> None:
    gone = {**_deal(1, "2026-03-02T10:00:00Z", "2025-01-01T12:00:00Z"), "is_deleted": True}

    def deals_page(request: httpx.Request) -> httpx.Response:
        data = [gone] if request.url.params.get("status") == "deleted" else []
        return httpx.Response(
            200, json={"success": True, "data": data, "additional_data": {"next_cursor": None}}
        )

    _mock_stages(respx.mock)
    respx.get(f"{BASE}/api/v2/deals").mock(side_effect=deals_page)
    respx.get(url__regex=rf"{BASE}/api/v1/deals/\d+/flow").mock(
        return_value=httpx.Response(200, json=_flow_pages("1")[0])
    )
    cursor = Cursor(datetime(2026, 3, 2, 12, tzinfo=UTC), "5")
    ctx = StreamContext(connection_id="c", mode=SyncMode.INCREMENTAL, start_cursor=cursor)
    pages = await _engine_order(DealStageHistoryStream(), http, ctx)
    records = [r for page, _ in pages for r in page]
    assert records and all(r.deleted and r.deal_remote_id == "1" for r in records)
    assert all(c is None for page, c in pages if page)  # deletions move no cursor


@respx.mock
async def test_a_page_without_moved_deals_still_moves_the_cursor(http: Http) -> None:
    unmoved = [_deal(8, "2026-03-02T08:00:00Z", None), _deal(9, "2026-03-02T09:00:00Z", None)]
    asked = _mock(respx.mock, unmoved)
    ctx = StreamContext(connection_id="c", mode=SyncMode.FULL)
    pages = await _engine_order(DealStageHistoryStream(), http, ctx)
    assert asked == ["deals:"]
    (stays, none), (nothing, cursor) = pages
    assert [(r.deal_remote_id, r.exited_at) for r in stays] == [("8", None), ("9", None)]
    assert none is None and nothing == []
    assert cursor == Cursor(_at(unmoved[1]["update_time"]), "9")
    assert cursor is not None and cursor.resume is None  # the pass ended


def test_moved_compares_the_stage_change_with_the_window() -> None:
    since = datetime(2026, 3, 1, tzinfo=UTC)
    assert not moved(_deal(1, "2026-03-02T00:00:00Z", None), None)
    assert moved(_deal(1, "2026-03-02T00:00:00Z", "2020-01-01T00:00:00Z"), None)
    assert not moved(_deal(1, "2026-03-02T00:00:00Z", "2026-02-28T23:59:59Z"), since)
    assert moved(_deal(1, "2026-03-02T00:00:00Z", "2026-03-01T00:00:00Z"), since)
    assert moved(_deal(1, "2026-03-02T00:00:00Z", "yesterday"), since)  # unreadable: read it


def test_an_interrupted_pass_is_finished_with_its_own_threshold() -> None:
    at = datetime(2026, 3, 1, 12, tzinfo=UTC)

    def ctx(resume: dict[str, str] | None, mode: SyncMode = SyncMode.INCREMENTAL) -> StreamContext:
        cursor = Cursor(at, "7", resume)
        return StreamContext(connection_id="c", mode=mode, start_cursor=cursor)

    window = at - timedelta(minutes=10)
    assert threshold_of(ctx(None)) == window  # a finished pass: a new window
    assert threshold_of(ctx(_pending("*"))) is None  # an interrupted first read: every move
    earlier = datetime(2026, 2, 1, tzinfo=UTC)
    assert threshold_of(ctx(_pending(earlier.isoformat()))) == earlier
    assert threshold_of(ctx(_pending("garbage"))) == window
    # a full sync reads only the flows of deals moved since its cursor (cheap nightly)
    assert threshold_of(ctx(None, SyncMode.FULL)) == window
    assert threshold_of(StreamContext(connection_id="c", mode=SyncMode.FULL)) is None

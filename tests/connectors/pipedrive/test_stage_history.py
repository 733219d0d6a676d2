"""The stage history stream against respx-mocked pages: which flows it reads, in which
order, and which cursor each raw record lets the engine commit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import respx

from connectors.pipedrive.stage_history import DealStageHistoryStream, moved, threshold_of
from core.models.enums import SyncMode
from core.sync.connector import Cursor, Request, StreamContext
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


def _mock(router: respx.MockRouter, deals: list[dict[str, Any]]) -> list[str]:
    """Deals in two cursor pages (2 + rest), flows per deal; returns the paths asked."""
    asked: list[str] = []

    def deals_page(request: httpx.Request) -> httpx.Response:
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

    router.get(f"{BASE}/api/v2/deals").mock(side_effect=deals_page)
    router.get(url__regex=rf"{BASE}/api/v1/deals/\d+/flow").mock(side_effect=flow)
    return asked


async def _engine_order(
    stream: DealStageHistoryStream, http: Http, ctx: StreamContext
) -> list[tuple[list[DealStageHistoryRecord], Cursor | None]]:
    """Pages as the engine handles them: next_request right after each send (prefetch),
    then extract, map and the page's cursor."""
    out: list[tuple[list[DealStageHistoryRecord], Cursor | None]] = []
    request: Request | None = stream.first_request(ctx)
    while request is not None:
        page = await http.send(request)
        request = stream.next_request(page, request, ctx)
        raws = stream.extract(page)
        records = [r for raw in raws for r in stream.map(raw, ctx)]
        cursors = [c for c in (stream.cursor_of(raw) for raw in raws) if c is not None]
        assert all(isinstance(r, DealStageHistoryRecord) for r in records)
        out.append((records, max(cursors) if cursors else None))  # type: ignore[misc]
    return out


@respx.mock
async def test_full_read_interleaves_flows_of_moved_deals_with_deals_pages(http: Http) -> None:
    asked = _mock(respx.mock, DEALS)
    ctx = StreamContext(connection_id="c", mode=SyncMode.FULL)
    ctx.shared["pipedrive.pipeline_of_stage"] = {"1": "1", "2": "1", "3": "1"}
    pages = await _engine_order(DealStageHistoryStream(), http, ctx)

    assert asked == ["deals:", "flow:1:0", "deals:c1", "flow:3:0", "flow:3:1"]
    first = respx.calls[0].request.url.params
    assert first["sort_by"] == "update_time" and "updated_since" not in first
    records = [r for page, _ in pages for r in page]
    assert [(r.deal_remote_id, r.stage_remote_id) for r in records] == [
        ("1", "1"),
        ("1", "2"),
        ("1", "3"),
        ("3", "1"),
        ("3", "2"),
        ("3", "3"),
    ]
    assert records[-1].exited_at is None and records[0].pipeline_remote_id == "1"
    # Each page's cursor covers only deals whose history is written: nothing before
    # deal 1's flow; deal 1's flow covers unmoved deal 2; page 2 starts with moved deal 3,
    # so it covers nothing until deal 3's last flow page, which covers deal 4 and ends the
    # pass. Until then the cursor keeps the pass's threshold ("*": every move).
    cursors = [cursor for _, cursor in pages]
    assert cursors == [
        None,
        Cursor(_at(DEALS[1]["update_time"]), "2|*"),
        None,
        None,
        Cursor(_at(DEALS[3]["update_time"]), "4|done"),
    ]


@respx.mock
async def test_incremental_reads_only_flows_of_deals_moved_since_its_cursor(http: Http) -> None:
    asked = _mock(respx.mock, DEALS)
    cursor = Cursor(datetime(2026, 3, 1, 12, 0, tzinfo=UTC), "0")
    ctx = StreamContext(connection_id="c", mode=SyncMode.INCREMENTAL, start_cursor=cursor)
    ctx.lookback = timedelta(minutes=10)
    pages = await _engine_order(DealStageHistoryStream(), http, ctx)

    assert respx.calls[0].request.url.params["updated_since"] == "2026-03-01T11:50:00Z"
    # deal 1 was edited in the window but moved long before: no flow read for it
    assert [a for a in asked if a.startswith("flow")] == ["flow:3:0", "flow:3:1"]
    # deals 1 and 2 need no flow: the first page moves the cursor past them at once
    assert pages[0][1] == Cursor(_at(DEALS[1]["update_time"]), "2|2026-03-01T11:50:00+00:00")


@respx.mock
async def test_a_page_without_moved_deals_still_moves_the_cursor(http: Http) -> None:
    unmoved = [_deal(8, "2026-03-02T08:00:00Z", None), _deal(9, "2026-03-02T09:00:00Z", None)]
    asked = _mock(respx.mock, unmoved)
    ctx = StreamContext(connection_id="c", mode=SyncMode.FULL)
    pages = await _engine_order(DealStageHistoryStream(), http, ctx)
    assert asked == ["deals:"]
    assert pages == [([], Cursor(_at(unmoved[1]["update_time"]), "9|done"))]


def test_moved_compares_the_stage_change_with_the_window() -> None:
    since = datetime(2026, 3, 1, tzinfo=UTC)
    assert not moved(_deal(1, "2026-03-02T00:00:00Z", None), None)
    assert moved(_deal(1, "2026-03-02T00:00:00Z", "2020-01-01T00:00:00Z"), None)
    assert not moved(_deal(1, "2026-03-02T00:00:00Z", "2026-02-28T23:59:59Z"), since)
    assert moved(_deal(1, "2026-03-02T00:00:00Z", "2026-03-01T00:00:00Z"), since)
    assert moved(_deal(1, "2026-03-02T00:00:00Z", "yesterday"), since)  # unreadable: read it


def test_an_interrupted_pass_is_finished_with_its_own_threshold() -> None:
    at = datetime(2026, 3, 1, 12, tzinfo=UTC)

    def ctx(remote_id: str, mode: SyncMode = SyncMode.INCREMENTAL) -> StreamContext:
        return StreamContext(connection_id="c", mode=mode, start_cursor=Cursor(at, remote_id))

    window = at - timedelta(minutes=10)
    assert threshold_of(ctx("7|done")) == window  # a finished pass: a new window
    assert threshold_of(ctx("7")) == window  # a cursor written before passes existed
    assert threshold_of(ctx("7|*")) is None  # an interrupted full read: every move
    earlier = datetime(2026, 2, 1, tzinfo=UTC)
    assert threshold_of(ctx(f"7|{earlier.isoformat()}")) == earlier
    assert threshold_of(ctx("7|garbage")) == window
    assert threshold_of(ctx("7|*", SyncMode.FULL)) is None

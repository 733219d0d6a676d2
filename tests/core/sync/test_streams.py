"""The stream runner's pure parts: mapping with quarantine, and the prefetching page loop."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from core.models.enums import SyncMode
from core.sync.connector import Cursor, MappingError, Request, Stream, StreamContext
from core.sync.declarative import prefetched as _prefetched
from core.sync.mappings import FieldMappings
from core.sync.pagecursor import page_cursor as _page_cursor
from core.sync.records import AnyRecord, DealRecord, PipelineRecord, StageRecord
from core.sync.streams import map_page


class Deals(Stream):
    name = "deals"

    def first_request(self, ctx: StreamContext) -> Request:
        return Request(path="/deals")

    def extract(self, page: Any) -> Sequence[Mapping[str, Any]]:
        return list(page)

    def map(self, raw: Mapping[str, Any], ctx: StreamContext) -> Iterable[AnyRecord]:
        if raw.get("broken"):
            raise MappingError("broken on purpose")
        yield DealRecord(remote_id=str(raw["id"]), name=raw.get("name"), custom=raw.get("custom"))


def test_bad_records_are_quarantined_with_reason_and_raw_and_the_rest_kept() -> None:
    ctx = StreamContext(connection_id="c", mode=SyncMode.FULL)
    mappings = FieldMappings.from_dict({"deal_attributes": {"cost": "cogs"}})
    raws = [
        {"id": 1},
        {"id": 2, "broken": True},
        {"no_id": 3},
        {"id": 4, "custom": {"cogs": "n/a"}},
        {"id": 5, "custom": {"cogs": "7"}},
    ]
    records, bad = map_page(Deals(), raws, ctx, mappings)
    assert [r.remote_id for r in records if isinstance(r, DealRecord)] == ["1", "5"]
    assert [(q.remote_id, q.raw) for q in bad] == [("2", raws[1]), (None, raws[2]), ("4", raws[3])]
    assert bad[0].reason == "broken on purpose"
    assert bad[1].reason.startswith("KeyError")
    assert "cost" in bad[2].reason


def test_unstorable_text_quarantines_its_raw_in_page_order() -> None:
    ctx = StreamContext(connection_id="c", mode=SyncMode.FULL)
    raws = [
        {"id": 1, "name": "Café"},
        {"id": 2, "name": "nul\x00"},
        {"id": 3, "broken": True},
        {"id": 4, "custom": {"k": "\ud800"}},
        {"id": 5, "name": "x" * 300},
    ]
    records, bad = map_page(Deals(), raws, ctx, FieldMappings.from_dict({}))
    assert [r.remote_id for r in records] == ["1", "5"]
    assert [q.remote_id for q in bad] == ["2", "3", "4"]
    assert [q.reason for q in bad] == [
        "field name contains a NUL character",
        "broken on purpose",
        "field custom is not valid Unicode (lone surrogate)",
    ]
    assert bad[0].raw == {"id": 2, "name": "nul\\x00"}


def test_clean_text_pages_check_only_the_bounded_columns() -> None:
    """With ``text_clean`` (every body searched for NUL and surrogate escapes), nested and
    unbounded values are not read, but a value longer than its column is still found."""
    ctx = StreamContext(connection_id="c", mode=SyncMode.FULL)
    none = FieldMappings.from_dict({})
    nested = [{"id": 2, "custom": {"k": "nul\x00"}}]
    records, bad = map_page(Deals(), nested, ctx, none, text_clean=True)
    assert ([r.remote_id for r in records], bad) == (["2"], [])  # vouched for: not read
    records, bad = map_page(Deals(), nested, ctx, none)
    assert [q.reason for q in bad] == ["field custom contains a NUL character"]
    long = [{"id": 1, "name": "x" * 501}, {"id": 3, "name": "ok"}]
    records, bad = map_page(Deals(), long, ctx, none, text_clean=True)
    assert [r.remote_id for r in records] == ["3"]
    assert [(q.remote_id, q.reason) for q in bad] == [
        ("1", "field name is 501 characters long, more than its 500")
    ]
    # Renamed custom fields carry the connection's own text: the full check comes back.
    renamed = FieldMappings.from_dict({"custom_dimensions": {"k": "dim"}})
    records, bad = map_page(Deals(), nested, ctx, renamed, text_clean=True)
    assert records == []
    assert [q.reason for q in bad] == ["field custom contains a NUL character"]


class Dated(Deals):
    """Cursors from ``day`` (a bad day is unreadable); ``ordered`` as the test asks."""

    def cursor_of(self, raw: Mapping[str, Any]) -> Cursor | None:
        day = raw.get("day")
        return None if day is None else Cursor(datetime(2024, 1, int(day), tzinfo=UTC), "")


@pytest.mark.parametrize("ordered", [True, False])
def test_page_cursor_is_the_highest_or_for_ordered_streams_the_last(ordered: bool) -> None:
    stream = Dated()
    stream.cursor_ordered = ordered  # type: ignore[misc]
    raws = [{"day": 3}, {"day": 9}, {"day": 5}, {"day": "bad"}, {}]
    cursor = _page_cursor(stream, raws)
    # An ordered stream's page is trusted to end with its highest cursor: reading it from
    # the end stops at the first readable one (5 here, as the page breaks its promise).
    assert cursor is not None and cursor.updated_at.day == (5 if ordered else 9)
    assert _page_cursor(stream, [{}, {"day": "bad"}]) is None


class Pages:
    """An HttpClient serving numbered pages, recording when each fetch started."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.fetched: list[int] = []

    async def send(self, request: Request) -> Any:
        page = int(request.path)
        self.fetched.append(page)
        if page == 99:
            raise RuntimeError("fetch failed")
        await asyncio.sleep(0.01)
        return page


async def test_prefetch_keeps_one_page_ahead_and_marks_the_last() -> None:
    http = Pages(4)

    def nxt(page: int, request: Request) -> Request | None:
        return Request(path=str(page + 1)) if page + 1 < http.count else None

    seen = []
    async for page, is_last in _prefetched(http, Request(path="0"), nxt):
        await asyncio.sleep(0.05)  # a slow write: the next page is fetched meanwhile
        seen.append((page, is_last, len(http.fetched)))
    assert [(p, last) for p, last, _ in seen] == [(0, False), (1, False), (2, False), (3, True)]
    # While page n is written, page n+1 is already fetched, never more than that.
    assert all(fetched <= page + 2 for page, _, fetched in seen)
    assert seen[0][2] == 2


async def test_prefetch_reraises_fetch_errors() -> None:
    http = Pages(200)
    with pytest.raises(RuntimeError, match="fetch failed"):
        async for _ in _prefetched(http, Request(path="98"), lambda p, r: Request(path="99")):
            pass


class Stages(Stream):
    name = "stages"

    def map(self, raw: Mapping[str, Any], ctx: StreamContext) -> Iterable[AnyRecord]:
        return [
            PipelineRecord(remote_id="p"),
            StageRecord(remote_id=str(raw["id"]), name=raw["name"], is_closed=raw["closed"]),
        ]


@pytest.mark.parametrize("mappings", [{}, {"custom_dimensions": {"k": "dim"}}])
def test_stages_get_their_kind_with_or_without_the_connections_own_mappings(
    mappings: dict[str, Any],
) -> None:
    """A stage's kind is the one mapping applied to every page (a guess when neither the
    CRM nor the connection says): with other mappings, and without any."""
    ctx = StreamContext(connection_id="c", mode=SyncMode.FULL)
    raws = [
        {"id": "s1", "name": "Proposal made", "closed": False},
        {"id": "s2", "name": "Lost", "closed": True},
    ]
    records, bad = map_page(Stages(), raws, ctx, FieldMappings.from_dict(mappings))
    assert bad == []
    kinds = [r.kind for r in records if isinstance(r, StageRecord)]
    assert kinds == ["PROPOSAL", "LOST"]

"""The page cursor asks a FindsHighestCursor stream, others record by record; and a page
mapped without connection mappings quarantines a raw whose generator fails midway whole."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from core.models.enums import SyncMode
from core.sync.connector import Cursor, MappingError, StreamContext
from core.sync.mappings import FieldMappings
from core.sync.pagecursor import FindsHighestCursor, highest_cursor, page_cursor
from core.sync.records import AnyRecord, DealRecord
from core.sync.streams import map_page
from tests.core.sync.test_streams import Deals


class Counted(Deals):
    """Cursors from ``day``; counts the cursors read."""

    incremental = True

    def __init__(self) -> None:
        self.read = 0

    def cursor_of(self, raw: Mapping[str, Any]) -> Cursor | None:
        self.read += 1
        return Cursor(datetime(2024, 1, int(raw["day"]), tzinfo=UTC), str(raw["id"]))


class Finder(Counted):
    def highest_cursor(self, raws: Sequence[Mapping[str, Any]]) -> Cursor | None:
        return Cursor(datetime(2024, 2, 1, tzinfo=UTC), "found")


RAWS = [{"id": 1, "day": 3}, {"id": 2, "day": 9}, {"id": 3, "day": 5}]


def test_a_finder_is_asked_and_other_streams_read_every_cursor() -> None:
    counted, finder = Counted(), Finder()
    assert not isinstance(counted, FindsHighestCursor) and isinstance(finder, FindsHighestCursor)
    assert page_cursor(counted, RAWS) == highest_cursor(counted, RAWS)
    assert page_cursor(counted, RAWS) == Cursor(datetime(2024, 1, 9, tzinfo=UTC), "2")
    assert counted.read == 9  # three reads of three raws
    for _ in range(2):  # the second time from the per-class answer
        assert page_cursor(finder, RAWS) == Cursor(datetime(2024, 2, 1, tzinfo=UTC), "found")
    assert finder.read == 0


class HalfBroken(Deals):
    def map(self, raw: Mapping[str, Any], ctx: StreamContext) -> Iterator[AnyRecord]:
        yield DealRecord(remote_id=f"{raw['id']}-a")
        if raw.get("broken"):
            raise MappingError("broken after one record")
        yield DealRecord(remote_id=f"{raw['id']}-b")


def test_a_generator_failing_midway_quarantines_its_raw_whole() -> None:
    ctx = StreamContext(connection_id="c", mode=SyncMode.FULL)
    raws = [{"id": 1}, {"id": 2, "broken": True}, {"id": 3}]
    records, bad = map_page(HalfBroken(), raws, ctx, FieldMappings())
    assert [r.remote_id for r in records] == ["1-a", "1-b", "3-a", "3-b"]
    assert [(q.remote_id, q.reason) for q in bad] == [("2", "broken after one record")]

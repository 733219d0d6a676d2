"""A HubSpot page's highest cursor found from the dates' text equals the one found by
comparing every record's cursor (core.sync.pagecursor.highest_cursor), whatever the page."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.hubspot.streams import CallsStream, DealsStream
from core.sync.connector import Cursor
from core.sync.pagecursor import highest_cursor
from core.sync.pagecursor import page_cursor as _page_cursor


def _raw(remote_id: Any, modified: Any) -> dict[str, Any]:
    return {"id": remote_id, "properties": {"hs_lastmodifieddate": modified}}


UNIFORM = [
    _raw("7", "2024-05-01T10:00:00.123Z"),
    _raw("12", "2024-06-30T23:59:59.999Z"),
    _raw("3", "2024-06-30T23:59:59.999Z"),  # equal dates: the higher id wins ("3" > "12")
    _raw("9", "2023-12-31T00:00:00.000Z"),
]

PAGES = {
    "uniform": UNIFORM,
    "no fraction": [_raw("1", "2024-05-01T10:00:00Z"), _raw("2", "2024-04-01T10:00:00Z")],
    "mixed lengths": [_raw("1", "2024-05-01T10:00:00Z"), _raw("2", "2024-05-01T10:00:00.5Z")],
    "offset": [_raw("1", "2024-05-01T12:00:00.000+02:00"), _raw("2", "2024-05-01T11:00:00.000Z")],
    "epoch ms": [_raw("1", "1714557600000"), _raw("2", "1714557600001")],
    "seven digits": [
        _raw("1", "2024-05-01T10:00:00.1234569Z"),
        _raw("2", "2024-05-01T10:00:00.1234561Z"),
    ],
    "month 13 highest": [_raw("1", "2024-13-01T10:00:00.000Z"), *UNIFORM],
    "month 13 lower": [_raw("1", "2023-13-01T10:00:00.000Z"), *UNIFORM],
    "missing date": [{"id": "1", "properties": {}}, *UNIFORM],
    "null date": [_raw("1", None), *UNIFORM],
    "no properties": [{"id": "1"}, *UNIFORM],
    "numeric id": [_raw(5, "2025-01-01T00:00:00.000Z"), *UNIFORM],
    "non-ASCII digit": [_raw("1", "2024-05-01T10:00:0\u0660.000Z"), *UNIFORM],
    "padded": [_raw("1", " 2024-05-01T10:00:00.000Z"), *UNIFORM],
    "empty": [],
}


@pytest.mark.parametrize("name", PAGES)
@pytest.mark.parametrize("stream_class", [CallsStream, DealsStream])
def test_the_text_shortcut_finds_what_comparing_every_cursor_finds(
    name: str, stream_class: type[CallsStream] | type[DealsStream]
) -> None:
    stream = stream_class()
    raws = PAGES[name]
    assert _page_cursor(stream, raws) == highest_cursor(stream, raws)


def test_highest_cursor_of_a_uniform_page() -> None:
    assert _page_cursor(CallsStream(), UNIFORM) == Cursor(
        datetime(2024, 6, 30, 23, 59, 59, 999000, tzinfo=UTC), "3"
    )
    # An unreadable highest date falls back to the comparison, which skips it.
    assert _page_cursor(CallsStream(), PAGES["month 13 highest"]) == _page_cursor(
        CallsStream(), UNIFORM
    )

"""The COPY path's JSON text equals what ``json.dumps(default=str)`` wrote before orjson."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from core.sync.pgcopy import dumps


@pytest.mark.parametrize(
    "value",
    [
        {"a": 1, "b": [1.5, None, True], "c": "é ☕"},
        {"when": datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), "day": date(2024, 1, 2)},
        {"amount": Decimal("1.10")},
        {1: "an integer key"},
        {"big": 2**70},
    ],
)
def test_dumps_means_the_same_json_as_the_standard_library(value: Any) -> None:
    assert json.loads(dumps(value)) == json.loads(json.dumps(value, default=str))


def test_only_the_json_columns_are_encoded_and_rows_without_json_pass_as_they_are() -> None:
    from core.sync.pgcopy import _encode

    columns = ("remote_id", "remote_data", "name", "custom")
    plain = ("1", None, "a", None)
    rows = [plain, ("2", {"k": [1]}, "b", None), ("3", None, "c", {"d": "é"})]
    encoded = _encode(columns, rows)
    assert encoded[0] is plain
    assert encoded[1] == ("2", '{"k":[1]}', "b", None)
    assert encoded[2][:3] == ("3", None, "c")
    assert json.loads(encoded[2][3]) == {"d": "é"}


def test_a_dropped_column_leaves_every_row_after_or_before_the_json_columns() -> None:
    from core.sync.pgcopy import _encode

    columns = ("remote_id", "custom", "synced_at", "deleted_at")
    rows = [("1", None, "now", None), ("2", {"k": 1}, "now", "then")]
    assert _encode(columns, rows, drop=2) == [("1", None, None), ("2", '{"k":1}', "then")]
    before = ("synced_at", "remote_id", "custom")
    assert _encode(before, [("now", "1", {"k": 1})], drop=0) == [("1", '{"k":1}')]


def test_two_json_columns_and_a_dropped_one_are_rebuilt_in_one_pass() -> None:
    from core.sync.pgcopy import _encode

    columns = ("remote_id", "remote_data", "name", "custom", "synced_at", "deleted_at")
    rows = [("1", {"a": 1}, "x", None, "now", None), ("2", None, "y", {}, "now", "then")]
    assert _encode(columns, rows, drop=4) == [
        ("1", '{"a":1}', "x", None, None),
        ("2", None, "y", "{}", "then"),
    ]
    assert _encode(columns, rows) == [
        ("1", '{"a":1}', "x", None, "now", None),
        ("2", None, "y", "{}", "now", "then"),
    ]

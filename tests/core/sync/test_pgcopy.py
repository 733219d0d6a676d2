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

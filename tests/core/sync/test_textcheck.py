"""Unstorable text is found at mapping time, and quarantined raw records are made storable."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from core.sync.records import DealRecord, DealStageHistoryRecord, FxRateRecord, Record
from core.sync.textcheck import page_storable, storable, unstorable_text


def test_clean_record_passes() -> None:
    record = DealRecord(remote_id="d1", name="Café ☕", custom={"k": ["ok", "ünï"]})
    assert unstorable_text(record) is None


def test_surrogates_nul_and_overlong_text_are_named() -> None:
    surrogate = DealRecord(remote_id="d1", name="bad \ud800")
    assert unstorable_text(surrogate) == "field name is not valid Unicode (lone surrogate)"
    nul = DealRecord(remote_id="d1", custom={"note": ["a\x00b"]})
    assert unstorable_text(nul) == "field custom contains a NUL character"
    long = DealRecord(remote_id="d1", name="x" * 100_000)
    problem = unstorable_text(long)
    assert problem is not None and problem.startswith("field name is 100,000 characters long")


def test_storable_escapes_what_cannot_be_written() -> None:
    raw = {"id": "d\ud800", "nested": ["nul\x00", 3, {"k\udcff": None}], "fine": "é"}
    clean = storable(raw)
    assert clean == {"id": "d\\ud800", "nested": ["nul\\x00", 3, {"k\\udcff": None}], "fine": "é"}
    assert unstorable_text(DealRecord(remote_id="x", custom=clean)) is None


def test_nested_values_are_checked_whatever_their_items() -> None:
    # A literal backslash-u0000 (no NUL) is fine; the one-pass JSON check must not flag it.
    literal = DealRecord(remote_id="d1", remote_data={"note": "\\u0000 is how JSON writes NUL"})
    assert unstorable_text(literal) is None
    # Items JSON cannot encode (dates, decimals) are still looked into.
    mixed = {"when": date(2024, 1, 1), "amount": Decimal("1.5"), "tags": ("ok", "a\x00")}
    assert unstorable_text(DealRecord(remote_id="d1", custom=mixed)) == (
        "field custom contains a NUL character"
    )
    keys = DealRecord(remote_id="d1", remote_data={"k\ud800": 1, "n": [None, 2.5]})
    assert unstorable_text(keys) == "field remote_data is not valid Unicode (lone surrogate)"
    assert unstorable_text(DealRecord(remote_id="d1", remote_data={"é": ["ü", {"x": 1}]})) is None
    # What orjson refuses to encode (integer keys, integers past 64 bits) is walked too.
    odd = {1: "x", "big": 2**70, "when": date(2024, 1, 1)}
    assert unstorable_text(DealRecord(remote_id="d1", custom=odd)) is None
    assert unstorable_text(DealRecord(remote_id="d1", custom={**odd, "n": "a\x00"})) == (
        "field custom contains a NUL character"
    )


_AT = datetime(2024, 1, 1, tzinfo=UTC)


def _page() -> list[Record | FxRateRecord]:
    """A clean page of several record classes and field types."""
    return [
        DealRecord(remote_id="d1", name="Café ☕", amount=Decimal("1.5"), custom={"k": ["ü"]}),
        DealStageHistoryRecord(
            remote_id="h1", deal_remote_id="d1", stage_remote_id="s", entered_at=_AT
        ),
        DealRecord(remote_id="d2", name=None, custom=None, deleted=True),
        FxRateRecord(base_currency="EUR", currency="USD", day=date(2024, 1, 1), rate=Decimal(1)),
    ]


def test_a_clean_page_is_cleared_at_once() -> None:
    assert page_storable(_page())
    assert page_storable([])
    assert page_storable([DealRecord(remote_id="d", name="x" * 500)])


@pytest.mark.parametrize(
    "bad",
    [
        DealRecord(remote_id="d9", name="bad \ud800"),
        DealRecord(remote_id="d9", name="nul \x00"),
        DealRecord(remote_id="d9", name="x" * 100_000),
        DealRecord(remote_id="d9", custom={"note": ["a\x00b"]}),
        DealRecord(remote_id="d9", remote_data={"k\ud800": 1}),
        DealStageHistoryRecord(
            remote_id="h9", deal_remote_id="d\x00", stage_remote_id="s", entered_at=_AT
        ),
    ],
)
def test_a_page_with_one_unstorable_record_is_not_cleared(bad: Record) -> None:
    assert unstorable_text(bad) is not None
    assert not page_storable([*_page(), bad])


def test_values_of_unexpected_types_send_the_page_to_the_record_check() -> None:
    # A connector putting a number in a text field: not a text problem, but not for the
    # page check to decide (the record check reads it as harmless).
    odd = DealRecord(remote_id="d9", name=42, custom=[{"a": 1}])  # type: ignore[arg-type]
    assert unstorable_text(odd) is None
    mixed = [*_page(), DealRecord(remote_id="d8", name=["a", "b"])]  # type: ignore[arg-type]
    assert not page_storable(mixed)


def test_clean_text_pages_check_each_bounded_length_whatever_the_values() -> None:
    """``text_clean``: only the bounded columns' lengths are read; a value that is not
    text leaves the column to the full check (numbers alone are harmless; numbers mixed
    with text, or a list, go to the record check), and empty values are no text at all."""

    def clean(*records: Record) -> bool:
        return page_storable([*_page(), *records], text_clean=True)

    assert clean(DealRecord(remote_id="d3", currency="EUR", name="x" * 500))
    assert not clean(DealRecord(remote_id="d3", currency="EURO"))
    assert not clean(DealRecord(remote_id="d3", name="x" * 501))
    assert not clean(DealRecord(remote_id="x" * 256))
    odd: Any = [0, "", [], False]
    assert clean(*(DealRecord(remote_id=f"e{i}", name=v) for i, v in enumerate(odd)))
    assert page_storable([DealRecord(remote_id="n", name=7)], text_clean=True)  # type: ignore[arg-type]
    assert not clean(DealRecord(remote_id="n", name=7))  # type: ignore[arg-type]
    assert not clean(DealRecord(remote_id="n", name=["a"]))  # type: ignore[arg-type]

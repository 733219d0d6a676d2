"""Unstorable text is found at mapping time, and quarantined raw records are made storable."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from core.sync.records import DealRecord
from core.sync.textcheck import storable, unstorable_text


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

"""Unstorable text is found at mapping time, and quarantined raw records are made storable."""

from __future__ import annotations

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

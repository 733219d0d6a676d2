"""SQLite's crmkpi_local_day (core.db) equals zoneinfo's local date, DST changes included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from core.db import _EPOCH_ORDINAL, _local_day

ZONES = ["Europe/Madrid", "America/St_Johns", "Australia/Lord_Howe", "Asia/Kathmandu", "UTC"]


@given(
    seconds=st.integers(min_value=0, max_value=40 * 365 * 86400),
    micros=st.integers(min_value=0, max_value=999_999),
    zone=st.sampled_from(ZONES),
)
def test_local_day_matches_zoneinfo(seconds: int, micros: int, zone: str) -> None:
    instant = datetime(1995, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds, microseconds=micros)
    stored = instant.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    expected = instant.astimezone(ZoneInfo(zone)).date().toordinal() - _EPOCH_ORDINAL
    assert _local_day(stored, zone) == expected


def test_around_a_lord_howe_half_hour_change() -> None:
    # Lord Howe moves from +10:30 to +11:00 at 02:00 local on 2025-10-05 (15:30 UTC).
    for minute in range(0, 60):
        instant = datetime(2025, 10, 4, 15, minute, tzinfo=UTC)
        stored = instant.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
        local = instant.astimezone(ZoneInfo("Australia/Lord_Howe")).date()
        assert _local_day(stored, "Australia/Lord_Howe") == local.toordinal() - _EPOCH_ORDINAL
    assert _local_day(None, "UTC") is None

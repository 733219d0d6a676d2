"""Presets, fiscal calendars, week starts, comparison periods and DST-correct buckets."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from core.errors import ValidationError
from core.metrics.periods import (
    Calendar,
    LocalPeriod,
    PeriodSpec,
    Preset,
    buckets,
    previous,
    resolve,
    same_period_last_year,
)
from core.metrics.types import Granularity

# Wednesday 15 May 2024, 23:30 in Madrid (21:30 UTC).
NOW = datetime(2024, 5, 15, 21, 30, tzinfo=UTC)
MADRID = Calendar("Europe/Madrid")


@pytest.mark.parametrize(
    ("preset", "calendar", "start", "end"),
    [
        (Preset.TODAY, MADRID, date(2024, 5, 15), date(2024, 5, 16)),
        (Preset.TODAY, Calendar("America/New_York"), date(2024, 5, 15), date(2024, 5, 16)),
        (Preset.TODAY, Calendar("Asia/Tokyo"), date(2024, 5, 16), date(2024, 5, 17)),
        (Preset.THIS_WEEK, MADRID, date(2024, 5, 13), date(2024, 5, 20)),
        (
            Preset.THIS_WEEK,
            Calendar("Europe/Madrid", week_start=7),
            date(2024, 5, 12),
            date(2024, 5, 19),
        ),
        (Preset.LAST_WEEK, MADRID, date(2024, 5, 6), date(2024, 5, 13)),
        (Preset.THIS_MONTH, MADRID, date(2024, 5, 1), date(2024, 6, 1)),
        (Preset.LAST_MONTH, MADRID, date(2024, 4, 1), date(2024, 5, 1)),
        (Preset.THIS_QUARTER, MADRID, date(2024, 4, 1), date(2024, 7, 1)),
        (
            Preset.LAST_QUARTER,
            Calendar("UTC", fiscal_year_start_month=2),
            date(2024, 2, 1),
            date(2024, 5, 1),
        ),
        (
            Preset.THIS_YEAR,
            Calendar("UTC", fiscal_year_start_month=7),
            date(2023, 7, 1),
            date(2024, 7, 1),
        ),
        (Preset.LAST_YEAR, MADRID, date(2023, 1, 1), date(2024, 1, 1)),
        (Preset.LAST_7_DAYS, MADRID, date(2024, 5, 9), date(2024, 5, 16)),
        (Preset.LAST_365_DAYS, MADRID, date(2023, 5, 17), date(2024, 5, 16)),
    ],
)
def test_presets(preset: Preset, calendar: Calendar, start: date, end: date) -> None:
    period = resolve(PeriodSpec(preset=preset), calendar, NOW)
    assert (period.start, period.end) == (start, end)


def test_utc_bounds_follow_dst() -> None:
    march = LocalPeriod(date(2024, 3, 1), date(2024, 4, 1), MADRID)
    assert march.utc_bounds() == (
        datetime(2024, 2, 29, 23, tzinfo=UTC),  # CET, UTC+1
        datetime(2024, 3, 31, 22, tzinfo=UTC),  # CEST from 31 March, UTC+2
    )
    days = buckets(march, Granularity.DAY)
    dst_day = days[-1][0].frame(NOW)
    assert (dst_day.end - dst_day.start).total_seconds() == 23 * 3600


def test_previous_and_same_period_last_year() -> None:
    q1 = LocalPeriod(date(2024, 1, 1), date(2024, 4, 1), MADRID)
    assert (previous(q1).start, previous(q1).end) == (date(2023, 10, 1), date(2024, 1, 1))
    ten_days = LocalPeriod(date(2024, 3, 5), date(2024, 3, 15), MADRID)
    assert (previous(ten_days).start, previous(ten_days).end) == (
        date(2024, 2, 24),
        date(2024, 3, 5),
    )
    leap = LocalPeriod(date(2024, 2, 29), date(2024, 3, 1), MADRID)
    assert same_period_last_year(leap).start == date(2023, 2, 28)


def test_buckets_cover_the_period_with_calendar_labels() -> None:
    period = LocalPeriod(date(2024, 2, 15), date(2024, 8, 1), Calendar("UTC", 4))
    quarters = buckets(period, Granularity.QUARTER)
    assert [(b.start, b.end, label) for b, label in quarters] == [
        (date(2024, 2, 15), date(2024, 4, 1), "FY2024-Q4"),
        (date(2024, 4, 1), date(2024, 7, 1), "FY2025-Q1"),
        (date(2024, 7, 1), date(2024, 8, 1), "FY2025-Q2"),
    ]
    weeks = buckets(period, Granularity.WEEK)
    assert weeks[0][0].start == date(2024, 2, 15) and weeks[1][0].start.isoweekday() == 1


@pytest.mark.parametrize(
    ("spec", "calendar", "message"),
    [
        (PeriodSpec(start=date(2024, 1, 2), end=date(2024, 1, 1)), MADRID, "must be after"),
        (PeriodSpec(start=date(2024, 1, 2)), MADRID, "both start and end"),
        (PeriodSpec(preset=Preset.TODAY, start=date(2024, 1, 1)), MADRID, "not both"),
    ],
)
def test_bad_periods(spec: PeriodSpec, calendar: Calendar, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        resolve(spec, calendar, NOW)


def test_bad_calendars() -> None:
    with pytest.raises(ValidationError, match="unknown timezone"):
        Calendar("Europe/Atlantis")
    with pytest.raises(ValidationError, match="fiscal"):
        Calendar("UTC", fiscal_year_start_month=13)
    with pytest.raises(ValidationError, match="series over this period"):
        buckets(LocalPeriod(date(2000, 1, 1), date(2024, 1, 1), MADRID), Granularity.DAY)

"""Periods and calendars: presets and explicit dates resolved to UTC instants.

Everything here is plain Python on local dates: a period is ``[start, end)`` of local dates
in an IANA timezone, and its bounds become UTC instants through ``zoneinfo``, so a deal closed
at 23:30 local time on the last day of a month counts in that month whatever the DST offset.
SQL only ever sees the resulting UTC ranges.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.errors import ValidationError
from core.metrics.types import Comparison, Frame, Granularity

#: More buckets than this in one series is a request error, not a slow query.
MAX_BUCKETS = 800
#: Explicit periods must lie within these dates (issue #20).
EARLIEST = date(1900, 1, 1)
LATEST = date(2200, 1, 1)


class Preset(StrEnum):
    TODAY = "TODAY"
    THIS_WEEK = "THIS_WEEK"
    LAST_WEEK = "LAST_WEEK"
    THIS_MONTH = "THIS_MONTH"
    LAST_MONTH = "LAST_MONTH"
    THIS_QUARTER = "THIS_QUARTER"
    LAST_QUARTER = "LAST_QUARTER"
    THIS_YEAR = "THIS_YEAR"
    LAST_YEAR = "LAST_YEAR"
    LAST_7_DAYS = "LAST_7_DAYS"
    LAST_30_DAYS = "LAST_30_DAYS"
    LAST_90_DAYS = "LAST_90_DAYS"
    LAST_365_DAYS = "LAST_365_DAYS"


_LAST_N_DAYS = {
    Preset.LAST_7_DAYS: 7,
    Preset.LAST_30_DAYS: 30,
    Preset.LAST_90_DAYS: 90,
    Preset.LAST_365_DAYS: 365,
}


@dataclass(frozen=True, slots=True)
class Calendar:
    """A workspace's calendar: timezone, fiscal-year start month, ISO week start (1=Mon)."""

    timezone: str = "UTC"
    fiscal_year_start_month: int = 1
    week_start: int = 1

    def __post_init__(self) -> None:
        zone(self.timezone)
        if not 1 <= self.fiscal_year_start_month <= 12:
            raise ValidationError(
                f"fiscal year start month must be 1..12, got {self.fiscal_year_start_month}"
            )
        if not 1 <= self.week_start <= 7:
            raise ValidationError(f"week start must be 1 (Monday) .. 7, got {self.week_start}")


@dataclass(frozen=True, slots=True)
class PeriodSpec:
    """What a caller asks for: a preset, or explicit local dates (end exclusive)."""

    preset: Preset | None = None
    start: date | None = None
    end: date | None = None


@dataclass(frozen=True, slots=True)
class LocalPeriod:
    """Resolved local dates ``[start, end)`` in ``calendar``'s timezone."""

    start: date
    end: date
    calendar: Calendar

    def utc_bounds(self) -> tuple[datetime, datetime]:
        return to_utc(self.start, self.calendar.timezone), to_utc(self.end, self.calendar.timezone)

    def frame(self, as_of: datetime, within_days: int | None = None) -> Frame:
        """The evaluation frame; cohorts are followed to ``as_of`` but never less than the end."""
        start, end = self.utc_bounds()
        return Frame(
            start_date=self.start,
            end_date=self.end,
            timezone=self.calendar.timezone,
            start=start,
            end=end,
            as_of=max(as_of, end),
            within_days=within_days,
        )


def zone(name: str) -> ZoneInfo:
    """The ``ZoneInfo`` for an IANA name, or a ValidationError naming the bad value."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValidationError(
            f"unknown timezone {name!r}: use an IANA name such as 'Europe/Madrid'"
        ) from None


def to_utc(day: date, timezone: str) -> datetime:
    """The UTC instant of local midnight starting ``day`` (DST-correct through zoneinfo)."""
    return datetime.combine(day, time(0), tzinfo=zone(timezone)).astimezone(UTC)


def local_date(instant: datetime, timezone: str) -> date:
    return instant.astimezone(zone(timezone)).date()


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole months, clamped to the month's last day (31 Jan + 1 = 28 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    last = (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)).day
    return date(year, month, min(day.day, last))


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _quarter_start(day: date, fiscal_month: int) -> date:
    offset = (day.month - fiscal_month) % 3
    return add_months(_month_start(day), -offset)


def _year_start(day: date, fiscal_month: int) -> date:
    offset = (day.month - fiscal_month) % 12
    return add_months(_month_start(day), -offset)


def _week_start(day: date, week_start: int) -> date:
    return day - timedelta(days=(day.isoweekday() - week_start) % 7)


def resolve(spec: PeriodSpec, calendar: Calendar, now: datetime) -> LocalPeriod:
    """Turn a preset or explicit dates into local dates ``[start, end)``.

    ``LAST_N_DAYS`` presets are the N local days ending with today (today included).
    """
    if spec.preset is not None and (spec.start is not None or spec.end is not None):
        raise ValidationError("give either a period preset or start/end, not both")
    if spec.preset is None:
        if spec.start is None or spec.end is None:
            raise ValidationError("a period needs a preset, or both start and end dates")
        if spec.end <= spec.start:
            raise ValidationError(
                f"period end {spec.end.isoformat()} must be after start {spec.start.isoformat()} "
                "(end is exclusive)"
            )
        if spec.start < EARLIEST or spec.end > LATEST:
            # Comparisons and baselines reach years further out: 0001-01-01 overflowed.
            raise ValidationError(
                f"period dates must be between {EARLIEST.isoformat()} and {LATEST.isoformat()}"
            )
        return LocalPeriod(spec.start, spec.end, calendar)
    today = local_date(now, calendar.timezone)
    fiscal = calendar.fiscal_year_start_month
    preset = spec.preset
    if preset in _LAST_N_DAYS:
        n = _LAST_N_DAYS[preset]
        return LocalPeriod(today - timedelta(days=n - 1), today + timedelta(days=1), calendar)
    if preset is Preset.TODAY:
        start, end = today, today + timedelta(days=1)
    elif preset in (Preset.THIS_WEEK, Preset.LAST_WEEK):
        start = _week_start(today, calendar.week_start)
        if preset is Preset.LAST_WEEK:
            start -= timedelta(days=7)
        end = start + timedelta(days=7)
    elif preset in (Preset.THIS_MONTH, Preset.LAST_MONTH):
        start = add_months(_month_start(today), -1 if preset is Preset.LAST_MONTH else 0)
        end = add_months(start, 1)
    elif preset in (Preset.THIS_QUARTER, Preset.LAST_QUARTER):
        start = add_months(
            _quarter_start(today, fiscal), -3 if preset is Preset.LAST_QUARTER else 0
        )
        end = add_months(start, 3)
    else:
        start = add_months(_year_start(today, fiscal), -12 if preset is Preset.LAST_YEAR else 0)
        end = add_months(start, 12)
    return LocalPeriod(start, end, calendar)


def _whole_months(period: LocalPeriod) -> int | None:
    """The number of months a period spans when it starts and ends on a first of a month."""
    if period.start.day != 1 or period.end.day != 1:
        return None
    return (period.end.year - period.start.year) * 12 + period.end.month - period.start.month


def previous(period: LocalPeriod) -> LocalPeriod:
    """The previous equal period (KPIS.md): whole months when it is whole months, else days."""
    months = _whole_months(period)
    if months is not None:
        return replace(period, start=add_months(period.start, -months), end=period.start)
    days = (period.end - period.start).days
    return replace(period, start=period.start - timedelta(days=days), end=period.start)


def same_period_last_year(period: LocalPeriod) -> LocalPeriod:
    return replace(period, start=add_months(period.start, -12), end=add_months(period.end, -12))


def comparison_period(period: LocalPeriod, compare_to: Comparison) -> LocalPeriod:
    if compare_to is Comparison.PREVIOUS_PERIOD:
        return previous(period)
    return same_period_last_year(period)


def aligned_frame(
    period: LocalPeriod, comparison: LocalPeriod, now: datetime, frame: Frame
) -> tuple[Frame, bool]:
    """The comparison frame cut to the elapsed part of a period still in progress.

    Elapsed time is measured on the local wall clock (so 10 days and 3 hours into March is
    compared with the first 10 days and 3 hours of February, whatever DST does). Returns the
    frame and whether it was cut.
    """
    start_utc, end_utc = period.utc_bounds()
    if not start_utc <= now < end_utc:
        return frame, False
    tz = zone(period.calendar.timezone)
    local_now = now.astimezone(tz).replace(tzinfo=None)
    elapsed = local_now - datetime.combine(period.start, time(0))
    cut_local = datetime.combine(comparison.start, time(0)) + elapsed
    cut = cut_local.replace(tzinfo=tz).astimezone(UTC)
    if cut >= frame.end:
        return frame, False
    return replace(frame, end=cut), True


def _floor(day: date, granularity: Granularity, calendar: Calendar) -> date:
    if granularity is Granularity.DAY:
        return day
    if granularity is Granularity.WEEK:
        return _week_start(day, calendar.week_start)
    if granularity is Granularity.MONTH:
        return _month_start(day)
    if granularity is Granularity.QUARTER:
        return _quarter_start(day, calendar.fiscal_year_start_month)
    return _year_start(day, calendar.fiscal_year_start_month)


def _step(day: date, granularity: Granularity) -> date:
    if granularity is Granularity.DAY:
        return day + timedelta(days=1)
    if granularity is Granularity.WEEK:
        return day + timedelta(days=7)
    months = {Granularity.MONTH: 1, Granularity.QUARTER: 3, Granularity.YEAR: 12}[granularity]
    return add_months(day, months)


def _label(start: date, granularity: Granularity, calendar: Calendar) -> str:
    if granularity in (Granularity.DAY, Granularity.WEEK):
        return start.isoformat()
    if granularity is Granularity.MONTH:
        return start.strftime("%Y-%m")
    fiscal = calendar.fiscal_year_start_month
    # Fiscal years are named by the calendar year they end in (FY2027 starts July 2026).
    fiscal_year = start.year + (1 if fiscal != 1 and start.month >= fiscal else 0)
    prefix = "FY" if fiscal != 1 else ""
    if granularity is Granularity.YEAR:
        return f"{prefix}{fiscal_year}"
    quarter = ((start.month - fiscal) % 12) // 3 + 1
    return f"{prefix}{fiscal_year}-Q{quarter}"


def buckets(period: LocalPeriod, granularity: Granularity) -> list[tuple[LocalPeriod, str]]:
    """Calendar buckets covering the period, clipped to it, with their labels.

    A week, month, quarter or year bucket starts on the calendar's boundary (week start,
    fiscal quarter); the first and last are clipped to the period, so buckets sum to it.
    """
    out: list[tuple[LocalPeriod, str]] = []
    cursor = _floor(period.start, granularity, period.calendar)
    while cursor < period.end:
        following = _step(cursor, granularity)
        piece = replace(period, start=max(cursor, period.start), end=min(following, period.end))
        out.append((piece, _label(cursor, granularity, period.calendar)))
        if len(out) > MAX_BUCKETS:
            raise ValidationError(
                f"a {granularity.value} series over this period has more than {MAX_BUCKETS} "
                "buckets; use a coarser granularity"
            )
        cursor = following
    return out

"""A series' whole-period value, added up from its buckets, equals the value asked alone."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from core.metrics import Granularity, KpiRequest, PeriodSpec
from core.metrics.measures import MEASURES
from core.metrics.periods import Calendar, LocalPeriod
from core.metrics.series_totals import from_buckets, whole_span
from tests.core.metrics.factory import Seed, utc

KPIS = (
    "salesRevenue", "dealsWon", "dealsLost", "opportunitiesCreated", "activities",
    "averageSalesCycleDays", "winRate", "averageDealSize",
)  # fmt: skip
NOW = utc(2026, 7, 1)


async def _seeded(session: AsyncSession) -> Seed:
    seed = await Seed.create(session, timezone="Europe/Madrid", currency="EUR")
    await seed.rate(date(2026, 2, 10), "USD", "0.5", base="EUR")
    created = utc(2025, 12, 20)
    for month, day, status, amount, currency in [
        (1, 5, "WON", 100, "EUR"), (2, 10, "WON", 250.5, "USD"), (2, 28, "WON", None, "EUR"),
        (2, 28, "LOST", 70, "EUR"), (3, 31, "WON", 40, "GBP"), (4, 1, "WON", 10, "EUR"),
    ]:  # fmt: skip
        closed = utc(2026, month, day, 22, 30)
        await seed.deal(
            status=status, amount=amount, currency=currency, remote_created_at=created,
            closed_at=closed,
        )  # fmt: skip
    await seed.deal(status="WON", amount=999, remote_created_at=created,
                    closed_at=utc(2026, 2, 2), deleted_at=utc(2026, 3, 1))  # fmt: skip
    await seed.deal(remote_created_at=utc(2026, 2, 3))
    for day in (0, 39, 40, 79):
        await seed.activity(done_at=utc(2026, 1, 1, 12) + timedelta(days=day))
    return seed


@pytest.mark.parametrize(
    ("start", "end", "granularity"),
    [
        (date(2026, 1, 1), date(2026, 5, 1), Granularity.MONTH),
        (date(2026, 1, 1), date(2026, 4, 1), Granularity.WEEK),
        (date(2026, 5, 1), date(2026, 7, 1), Granularity.MONTH),  # no rows at all
    ],
)
async def test_series_values_equal_the_kpis_asked_alone(
    session: AsyncSession, start: date, end: date, granularity: Granularity
) -> None:
    seed = await _seeded(session)
    period = PeriodSpec(start=start, end=end)
    series = await seed.run(
        *(KpiRequest(k, period=period, granularity=granularity) for k in KPIS), now=NOW
    )
    alone = await seed.run(*(KpiRequest(k, period=period) for k in KPIS), now=NOW)
    for s, a in zip(series, alone, strict=True):
        assert s.series, s.name
        assert (s.null_reason, s.missing_fx_count) == (a.null_reason, a.missing_fx_count), s.name
        for mine, theirs in ((s.value, a.value), (s.numerator, a.numerator),
                             (s.denominator, a.denominator)):  # fmt: skip
            assert (mine is None) == (theirs is None), s.name
            assert mine is None or mine == pytest.approx(theirs), s.name
    if start.month == 1:
        revenue = next(s for s in series if s.name == "salesRevenue")
        assert revenue.value is not None and revenue.value > 110  # EUR and converted USD


def test_only_additive_flows_over_the_whole_span_are_added_up() -> None:
    seed_frames = []
    calendar = Calendar("UTC", 1, 1)
    for month in (1, 2, 3):
        seed_frames.append(
            LocalPeriod(date(2026, month, 1), date(2026, month + 1, 1), calendar).frame(NOW)
        )
    span = whole_span(seed_frames)
    assert span is not None and span.start == seed_frames[0].start
    assert span.end == seed_frames[-1].end
    measures = {m.name: m for m in MEASURES}
    assert from_buckets(measures["won_amount"], span, seed_frames)
    assert from_buckets(measures["deals_won"], span, seed_frames)
    assert not from_buckets(measures["won_amount"], seed_frames[0], seed_frames)
    assert not from_buckets(measures["won_amount"], span, [seed_frames[0], seed_frames[2]])
    distinct = [m for m in MEASURES if m.time is not None and m.agg.name == "COUNT_DISTINCT"]
    stocks = [m for m in MEASURES if m.time is None]
    assert all(not from_buckets(m, span, seed_frames) for m in distinct + stocks[:3])

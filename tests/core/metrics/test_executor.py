"""Edge cases of the executor: nulls, deletions, DST, FX, segments, series, stock KPIs."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import ValidationError
from core.metrics import (
    Breakdown,
    Comparison,
    Dimension,
    DimensionRef,
    Granularity,
    KpiRequest,
    PeriodSpec,
    Preset,
    Segment,
)
from tests.core.metrics.factory import Seed, utc

MARCH = PeriodSpec(start=date(2026, 3, 1), end=date(2026, 4, 1))
NOW = utc(2026, 5, 1)
BEFORE = utc(2026, 1, 10)


@pytest.fixture
async def seed(session: AsyncSession) -> Seed:
    return await Seed.create(session)


async def test_empty_denominators_give_null_with_a_reason(seed: Seed) -> None:
    win, growth, size = await seed.run(
        KpiRequest("winRate", period=MARCH),
        KpiRequest("salesGrowthRate", period=MARCH),
        KpiRequest("averageDealSize", period=MARCH),
        now=NOW,
    )
    assert win.value is None and win.null_reason == "no deals were closed in the period"
    assert growth.value is None and "previous" in (growth.null_reason or "")
    assert size.value is None and size.null_reason


async def test_deleted_records_never_count(seed: Seed) -> None:
    closed = utc(2026, 3, 5)
    await seed.deal(status="WON", closed_at=closed, remote_created_at=BEFORE, amount=10)
    await seed.deal(
        status="WON", closed_at=closed, remote_created_at=BEFORE, amount=99, deleted_at=closed
    )
    await seed.lead(remote_created_at=closed, deleted_at=closed)
    await seed.activity(done_at=closed, deleted_at=closed)
    won, revenue, leads, acts = await seed.run(
        KpiRequest("dealsWon", period=MARCH),
        KpiRequest("salesRevenue", period=MARCH),
        KpiRequest("newLeads", period=MARCH),
        KpiRequest("activities", period=MARCH),
        now=NOW,
    )
    assert (won.value, revenue.value, leads.value, acts.value) == (1, 10, 0, 0)


@pytest.mark.parametrize(
    ("timezone", "month_end"),
    [
        ("Europe/Madrid", date(2026, 3, 31)),  # just after DST starts (29 March)
        ("Europe/Madrid", date(2026, 10, 31)),  # just after DST ends (25 October)
        ("America/New_York", date(2026, 3, 31)),  # DST since 8 March
        ("America/New_York", date(2026, 10, 31)),  # the day before DST ends
    ],
)
async def test_late_evening_close_counts_in_its_local_month(
    session: AsyncSession, timezone: str, month_end: date
) -> None:
    seed = await Seed.create(session, timezone=timezone)
    local = datetime(
        month_end.year, month_end.month, month_end.day, 23, 30, tzinfo=ZoneInfo(timezone)
    )
    await seed.deal(status="WON", closed_at=local, remote_created_at=BEFORE, amount=5)
    month = PeriodSpec(start=month_end.replace(day=1), end=date(2026, month_end.month + 1, 1))
    result = await seed.one(
        KpiRequest("dealsWon", period=month, granularity=Granularity.DAY), now=utc(2027, 1, 1)
    )
    assert result.value == 1
    assert result.series is not None and result.series[-1].value == 1
    assert sum(p.value or 0 for p in result.series) == 1
    following = PeriodSpec(start=month.end, end=date(2026, month_end.month + 2, 1))
    assert (await seed.one(KpiRequest("dealsWon", period=following), now=NOW)).value == 0


async def test_missing_fx_is_excluded_and_counted(session: AsyncSession) -> None:
    seed = await Seed.create(session, currency="EUR")
    closed = utc(2026, 3, 10, 12)
    await seed.rate(date(2026, 3, 9), "USD", "0.5", base="EUR")  # 1 USD = 0.5 EUR
    await seed.rate(date(2026, 3, 10), "GBP", "2", base="USD")  # via USD: 1 GBP = 1 EUR
    for currency, amount in [("EUR", 100), ("USD", 100), ("GBP", 10), ("JPY", 1000)]:
        await seed.deal(
            status="WON",
            amount=amount,
            currency=currency,
            closed_at=closed,
            remote_created_at=BEFORE,
        )
    revenue = await seed.one(KpiRequest("salesRevenue", period=MARCH), now=NOW)
    assert revenue.value == pytest.approx(100 + 50 + 10)
    assert revenue.missing_fx_count == 1 and revenue.currency == "EUR"


async def test_segment_and_breakdown_sums_agree_with_total(seed: Seed) -> None:
    ana, bob = await seed.user("Ana"), await seed.user("Bob")
    closed = utc(2026, 3, 5)
    for owner, n in [(ana, 3), (bob, 2), (None, 1)]:
        await seed.deals(
            n,
            status="WON",
            closed_at=closed,
            remote_created_at=BEFORE,
            amount=100,
            owner_remote_id=owner.remote_id if owner else None,
        )
    await seed.deals(2, status="LOST", closed_at=closed, owner_remote_id=ana.remote_id)
    by_owner = Breakdown(DimensionRef(Dimension.OWNER), top=1)
    owners = DimensionRef(Dimension.OWNER)
    total, ana_only, both = await seed.run(
        KpiRequest("salesRevenue", period=MARCH, breakdown=by_owner),
        KpiRequest("salesRevenue", period=MARCH, segment=Segment.of([(owners, [str(ana.id)])])),
        KpiRequest(
            "winRate",
            period=MARCH,
            segment=Segment.of([(owners, [str(ana.id), str(bob.id)])]),
            breakdown=Breakdown(owners),
        ),
        now=NOW,
    )
    assert total.value == 600
    assert total.breakdown is not None
    assert [(p.label, p.value) for p in total.breakdown] == [("Ana", 300), ("other", 300)]
    assert sum(p.value or 0 for p in total.breakdown) == total.value
    assert ana_only.value == 300
    assert both.value == pytest.approx(5 / 7)
    assert both.breakdown is not None
    assert {p.label: p.value for p in both.breakdown} == {"Ana": 0.6, "Bob": 1.0}
    assert sum(p.numerator or 0 for p in both.breakdown) == both.numerator


def test_segment_ids_must_be_numeric() -> None:
    with pytest.raises(ValidationError, match="owner ids must be the numeric ids"):
        Segment.of([(DimensionRef(Dimension.OWNER), ["usr_1"])])


async def test_unsupported_segment_gives_null_with_reason(seed: Seed) -> None:
    pipelines = DimensionRef(Dimension.PIPELINE)
    result = await seed.one(
        KpiRequest("newLeads", period=MARCH, segment=Segment.of([(pipelines, ["1"])])), now=NOW
    )
    assert result.value is None and "PIPELINE" in (result.null_reason or "")


async def test_stock_kpis_as_of_a_past_date_use_stage_history(seed: Seed) -> None:
    pipeline = await seed.pipeline("Sales")
    early = await seed.stage(pipeline, "Early", kind="QUALIFIED", probability=0.2)
    late = await seed.stage(pipeline, "Late", kind="NEGOTIATION", probability=0.8)
    won_stage = await seed.stage(pipeline, "Won", kind="WON", probability=1.0)
    # Open on 31 March in the early stage, later moved on and won in April.
    moved = await seed.deal(
        status="WON",
        amount=1000,
        closed_at=utc(2026, 4, 10),
        remote_created_at=BEFORE,
        stage_remote_id=won_stage.remote_id,
    )
    await seed.stay(moved, early, BEFORE, utc(2026, 4, 2))
    await seed.stay(moved, late, utc(2026, 4, 2), utc(2026, 4, 10))
    await seed.stay(moved, won_stage, utc(2026, 4, 10), None)
    await seed.deal(amount=500, remote_created_at=BEFORE, stage_remote_id=late.remote_id)
    await seed.deal(amount=700, remote_created_at=utc(2026, 4, 3))  # created after March
    await seed.deal(status="LOST", amount=300, remote_created_at=BEFORE, closed_at=utc(2026, 3, 2))
    value, weighted, count = await seed.run(
        KpiRequest("pipelineValue", period=MARCH),
        KpiRequest("weightedPipelineValue", period=MARCH),
        KpiRequest("openDeals", period=MARCH),
        now=NOW,
    )
    assert value.value == 1500 and count.value == 2
    assert weighted.value == pytest.approx(1000 * 0.2 + 500 * 0.8)


async def test_series_fills_empty_buckets_and_comparison_is_aligned(seed: Seed) -> None:
    await seed.deal(status="WON", closed_at=utc(2026, 1, 20), remote_created_at=BEFORE)
    await seed.deal(status="WON", closed_at=utc(2026, 3, 3), remote_created_at=BEFORE)
    await seed.deal(status="WON", closed_at=utc(2026, 2, 3), remote_created_at=BEFORE)
    await seed.deal(status="WON", closed_at=utc(2026, 2, 20), remote_created_at=BEFORE)
    quarter = await seed.one(
        KpiRequest(
            "dealsWon",
            period=PeriodSpec(start=date(2026, 1, 1), end=date(2026, 5, 1)),
            granularity=Granularity.MONTH,
        ),
        now=NOW,
    )
    assert quarter.series is not None
    assert [(p.label, p.value) for p in quarter.series] == [
        ("2026-01", 1),
        ("2026-02", 2),
        ("2026-03", 1),
        ("2026-04", 0),
    ]
    single = await seed.one(
        KpiRequest("dealsWon", period=MARCH, granularity=Granularity.MONTH), now=NOW
    )
    assert single.series is not None
    assert [(p.label, p.value) for p in single.series] == [("2026-03", 1)]
    # 10 March, 12:00: this month so far against 1-10 February (noon).
    mtd = await seed.one(
        KpiRequest(
            "dealsWon",
            period=PeriodSpec(preset=Preset.THIS_MONTH),
            compare_to=Comparison.PREVIOUS_PERIOD,
        ),
        now=utc(2026, 3, 10, 12),
    )
    assert mtd.value == 1 and mtd.period.in_progress
    assert mtd.comparison is not None and mtd.comparison.aligned
    assert mtd.comparison.value == 1 and mtd.comparison.change == 0
    assert mtd.comparison.period.end_utc == utc(2026, 2, 10, 12)


async def test_median_and_p90_of_the_sales_cycle(seed: Seed) -> None:
    from core.metrics import Statistic

    for days in (1, 2, 3, 4, 10):
        await seed.deal(
            status="WON", closed_at=utc(2026, 3, 20), remote_created_at=utc(2026, 3, 20 - days)
        )
    median, p90 = await seed.run(
        KpiRequest("averageSalesCycleDays", period=MARCH, statistic=Statistic.MEDIAN),
        KpiRequest("averageSalesCycleDays", period=MARCH, statistic=Statistic.P90),
        now=NOW,
    )
    assert median.value == pytest.approx(3)
    assert p90.value == pytest.approx(4 + 0.6 * 6)


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (KpiRequest("winRate", timezone="Mars/Olympus"), "unknown timezone"),
        (
            KpiRequest("winRate", period=PeriodSpec(start=date(2026, 3, 2), end=date(2026, 3, 1))),
            "must be after",
        ),
        (KpiRequest("nope"), "unknown KPI"),
        (KpiRequest("winRate", within_days=3), "withinDays"),
    ],
)
async def test_bad_requests_raise_precise_errors(
    seed: Seed, request_: KpiRequest, message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        await seed.one(request_, now=NOW)

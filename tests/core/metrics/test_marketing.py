"""Spend, visitor and survey KPIs: the KPIS.md seed examples, FX and channels, both databases."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import ValidationError
from core.imports import IMPORT_KINDS, import_csv
from core.metrics import (
    Dimension,
    DimensionRef,
    KpiRequest,
    KpiResult,
    PeriodSpec,
    Segment,
)
from core.models import Deal, Lead
from tests.core.metrics.factory import Seed, utc

NOW = utc(2026, 11, 1)
MARCH = PeriodSpec(start=date(2026, 3, 1), end=date(2026, 4, 1))


async def _kpis(seed: Seed, *names: str, **request: Any) -> dict[str, KpiResult]:
    results = await seed.run(*(KpiRequest(n, MARCH, **request) for n in names), now=NOW)
    return {r.name: r for r in results if isinstance(r, KpiResult)}


async def _import(seed: Seed, kind: str, csv: str) -> None:
    await import_csv(seed.session, IMPORT_KINDS[kind], seed.workspace.id, csv)


async def _new_customers(seed: Seed, n: int) -> None:
    seed.session.add_all(
        Deal(
            **seed._synced(),
            remote_id=f"d{i}",
            status="WON",
            closed_at=utc(2026, 3, 10),
            amount=150,
            currency="USD",
            account_remote_id=f"a{i}",
        )
        for i in range(n)
    )
    await seed.session.flush()


async def test_cac_and_cpa_seed_10000_for_100_customers(session: AsyncSession) -> None:
    seed = await Seed.create(session)
    await _new_customers(seed, 100)
    await _import(
        seed,
        "spend",
        "day,kind,channel,amount\n"
        "2026-03-01,MARKETING,ads,6000\n2026-03-31,SALES,,4000\n"
        "2026-02-28,MARKETING,ads,999\n2026-04-01,SALES,,999\n",  # outside March
    )
    r = await _kpis(seed, "customerAcquisitionCost", "costPerAcquisition", "roi")
    cac = r["customerAcquisitionCost"]
    assert (cac.value, cac.numerator, cac.denominator, cac.currency) == (100, 10_000, 100, "USD")
    assert r["costPerAcquisition"].value == 60
    assert r["roi"].value == pytest.approx((15_000 - 10_000) / 10_000)


async def test_cpl_seed_5000_for_200_leads_and_channels(session: AsyncSession) -> None:
    seed = await Seed.create(session)
    seed.session.add_all(
        Lead(
            **seed._synced(),
            remote_id=f"l{i}",
            remote_created_at=utc(2026, 3, 5),
            source="ads" if i < 50 else "seo",
        )
        for i in range(200)
    )
    await _import(seed, "spend", "day,channel,amount\n2026-03-02,ads,4000\n2026-03-03,seo,1000\n")
    await _import(
        seed, "visitors", "day,channel,visitors\n2026-03-02,ads,1000\n2026-03-09,seo,3000\n"
    )
    r = await _kpis(seed, "costPerLead", "visitorToLeadRate")
    assert r["costPerLead"].value == 25
    assert r["visitorToLeadRate"].value == pytest.approx(200 / 4000)
    ads = Segment.of([(DimensionRef(Dimension.SOURCE), ["ads"])])
    by_ads = await _kpis(seed, "costPerLead", "visitorToLeadRate", segment=ads)
    assert by_ads["costPerLead"].value == 4000 / 50
    assert by_ads["visitorToLeadRate"].value == pytest.approx(50 / 1000)


async def test_spend_is_converted_at_its_own_days_rate(session: AsyncSession) -> None:
    seed = await Seed.create(session, currency="USD")
    await seed.rate(date(2026, 3, 1), "EUR", "2")
    await seed.rate(date(2026, 3, 20), "EUR", "3")
    await _new_customers(seed, 10)
    await _import(
        seed,
        "spend",
        "day,amount,currency\n2026-03-05,100,EUR\n2026-03-25,100,EUR\n2026-03-06,50,JPY\n",
    )
    cac = (await _kpis(seed, "customerAcquisitionCost"))["customerAcquisitionCost"]
    assert cac.numerator == 500 and cac.value == 50 and cac.missing_fx_count == 1


async def test_nps_seed_60_promoters_10_detractors_gives_50(session: AsyncSession) -> None:
    seed = await Seed.create(session)
    scores = [10] * 30 + [9] * 30 + [7] * 15 + [8] * 15 + [6] * 5 + [0] * 5
    lines = [f"n{i},NPS,2026-03-{1 + i % 28:02d},{s}" for i, s in enumerate(scores)]
    lines += ["late,NPS,2026-04-01,0", "c1,CSAT,2026-03-02,5", "c2,CSAT,2026-03-02,4"]
    lines += ["c3,CSAT,2026-03-02,3", "c4,CSAT,2026-03-02,1"]
    await _import(seed, "surveys", "id,kind,responded_at,score\n" + "\n".join(lines) + "\n")
    r = await _kpis(seed, "nps", "csat")
    assert (r["nps"].value, r["nps"].denominator, r["nps"].unit) == (50, 100, "SCORE")
    assert r["csat"].value == 0.5
    assert r["csat"].extra == {"meanScore": (5 + 4 + 3 + 1) / 4}
    assert r["nps"].extra == {}


async def test_without_imports_the_denominators_are_empty(session: AsyncSession) -> None:
    seed = await Seed.create(session)
    names = ("customerAcquisitionCost", "costPerLead", "roi", "visitorToLeadRate", "nps", "csat")
    r = await _kpis(seed, *names)
    assert len(r) == len(names)
    for name, result in r.items():
        assert result.value is None and result.null_reason, name


async def test_incremental_revenue_over_three_previous_months(session: AsyncSession) -> None:
    seed = await Seed.create(session)
    for month, amount in ((12, 1000), (1, 2000), (2, 3000), (3, 5000)):
        year = 2025 if month == 12 else 2026
        await seed.deal(status="WON", closed_at=utc(year, month, 10), amount=amount)
    await _import(seed, "spend", "day,kind,amount\n2026-03-02,MARKETING,500\n2026-03-02,SALES,7\n")
    r = (await _kpis(seed, "incrementalRevenue"))["incrementalRevenue"]
    assert r.value == 5000 - 2000 - 500
    assert (r.numerator, r.denominator) == (3000, 2000)


async def test_incremental_revenue_baseline_periods(session: AsyncSession) -> None:
    seed = await Seed.create(session)
    for month, amount in ((12, 1000), (1, 2000), (2, 3000), (3, 5000)):
        year = 2025 if month == 12 else 2026
        await seed.deal(status="WON", closed_at=utc(year, month, 10), amount=amount)
    one = (await _kpis(seed, "incrementalRevenue", baseline_periods=1))["incrementalRevenue"]
    four = (await _kpis(seed, "incrementalRevenue", baseline_periods=4))["incrementalRevenue"]
    assert (one.value, one.denominator) == (5000 - 3000, 3000)
    assert (four.value, four.denominator) == (5000 - 6000 / 4, 6000 / 4)
    for request, message in (
        (KpiRequest("incrementalRevenue", MARCH, baseline_periods=0), "between 1 and 36"),
        (KpiRequest("salesRevenue", MARCH, baseline_periods=2), "not available on salesRevenue"),
    ):
        with pytest.raises(ValidationError, match=message):
            await seed.run(request, now=NOW)

"""MRR summed per currency and converted in Python (core.metrics.currency_sql), on both
databases: the factor of each frame's last day, rows without a rate counted as missing, the
same figures as the in-SQL conversion of its breakdown, and its rates read beside the
statements (no FX round trip before them)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from core.metrics import (
    Breakdown,
    Comparison,
    Dimension,
    DimensionRef,
    KpiRequest,
    KpiResult,
    PeriodSpec,
)
from core.metrics.executor import MetricsExecutor
from core.metrics.jobs import compile_jobs, fx_in_sql, plan_jobs, start_order
from core.models import Workspace
from tests.core.metrics.factory import REGISTRY, Seed, utc

NOW = utc(2026, 11, 1)
MARCH = PeriodSpec(start=date(2026, 3, 1), end=date(2026, 4, 1))


async def _seed(session: AsyncSession) -> tuple[Seed, str, str]:
    seed = await Seed.create(session, currency="USD")
    ana, bob = await seed.user("Ana"), await seed.user("Bob")
    # EUR: 2 USD on February's last day, 3 USD on March's (the comparison's and the period's).
    await seed.rate(date(2026, 2, 28), "EUR", "2")
    await seed.rate(date(2026, 3, 31), "EUR", "3")
    won = {"status": "WON", "closed_at": utc(2025, 12, 20), "contract_start": date(2026, 1, 1)}
    await seed.deal(recurring_amount=100, amount=1200, owner_remote_id=ana.remote_id, **won)  # USD
    await seed.deal(
        recurring_amount=10, amount=120, currency="EUR", owner_remote_id=bob.remote_id, **won
    )
    await seed.deal(
        recurring_amount=7, amount=84, currency="XXX", owner_remote_id=bob.remote_id, **won
    )  # no rate: missing
    await seed.deal(
        recurring_amount=1000,
        amount=5,
        currency="EUR",
        contract_end=date(2026, 3, 15),
        owner_remote_id=ana.remote_id,
        **won,
    )  # ended mid-March: February only
    return seed, str(ana.id), str(bob.id)


async def test_mrr_converts_each_currency_at_each_frames_last_day(session: AsyncSession) -> None:
    seed, _, _ = await _seed(session)
    (mrr,) = await seed.run(
        KpiRequest("mrr", MARCH, compare_to=Comparison.PREVIOUS_PERIOD), now=NOW
    )
    assert isinstance(mrr, KpiResult)
    assert mrr.value == pytest.approx(100 + 10 * 3)
    assert mrr.missing_fx_count == 1
    assert mrr.comparison is not None
    assert mrr.comparison.value == pytest.approx(100 + 10 * 2 + 1000 * 2)
    # Reported in EUR: USD through the inverse rate, EUR at 1.
    (eur,) = await seed.run(KpiRequest("mrr", MARCH), now=NOW, currency="EUR")
    assert isinstance(eur, KpiResult)
    assert (eur.value, eur.currency) == (pytest.approx(100 / 3 + 10), "EUR")


async def test_mrr_equals_its_breakdown_converted_in_sql(session: AsyncSession) -> None:
    seed, ana, bob = await _seed(session)
    owner = Breakdown(DimensionRef(Dimension.OWNER), top=10)
    (mrr,) = await seed.run(KpiRequest("mrr", MARCH, breakdown=owner), now=NOW)
    assert isinstance(mrr, KpiResult) and mrr.breakdown is not None
    by_owner = {p.key: p.value for p in mrr.breakdown}
    assert by_owner == {ana: pytest.approx(100), bob: pytest.approx(30)}
    assert mrr.value == pytest.approx(sum(v or 0 for v in by_owner.values()))


def test_lifecycle_kpis_need_no_fx_before_their_statements() -> None:
    """Churn, retention and MRR compile without the FX tables (read beside them); a KPI
    converting at the close date still needs them first."""
    executor = MetricsExecutor(REGISTRY)
    workspace = Workspace(timezone="UTC", currency="USD", fiscal_year_start_month=1, week_start=1)

    def needs_fx(*names: str) -> bool:
        plans = [
            executor._plan(
                KpiRequest(n, MARCH, compare_to=Comparison.PREVIOUS_PERIOD), workspace, NOW
            )
            for n in names
        ]
        return fx_in_sql(plan_jobs(plans, executor._cells))

    assert not needs_fx("customerChurnRate", "customerRetentionRate", "mrr")
    assert needs_fx("mrr", "salesRevenue")


def test_the_customer_statement_starts_before_mrr_and_deals_before_both() -> None:
    """MRR reads only the recurring contracts: its statement is started after the longer
    customer scan (and a deal-range statement first of all)."""
    executor = MetricsExecutor(REGISTRY)
    workspace = Workspace(timezone="UTC", currency="USD", fiscal_year_start_month=1, week_start=1)
    plans = [
        executor._plan(KpiRequest(n, MARCH, compare_to=Comparison.PREVIOUS_PERIOD), workspace, NOW)
        for n in ("mrr", "customerChurnRate", "dealsWon")
    ]
    compiled = compile_jobs(plan_jobs(plans, executor._cells), workspace_ids=["ws"], fx_tables={})
    started = [
        "currency" if c.per_currency else job.entity.value
        for job, c in (compiled[i] for i in start_order(compiled))
    ]
    assert started == ["DEALS", "CUSTOMERS", "currency"]

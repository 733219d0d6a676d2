"""Customer lifecycle KPIs: the KPIS.md seed examples and edge cases, on both databases."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from core.metrics import (
    Breakdown,
    Dimension,
    DimensionRef,
    KpiRequest,
    KpiResult,
    PeriodSpec,
    Segment,
)
from core.metrics.stretches import from_base_tables
from core.models import Deal
from tests.core.metrics.factory import Seed, utc

NOW = utc(2026, 11, 1)
_accounts = itertools.count(1)
MARCH = PeriodSpec(start=date(2026, 3, 1), end=date(2026, 4, 1))


def _noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


async def _customers(seed: Seed, n: int, *won_days: date, amount: int = 100, **fields: Any) -> None:
    """``n`` accounts, each with a won deal on every one of ``won_days`` (at noon UTC)."""
    rows = []
    for _ in range(n):
        account = f"acc{next(_accounts)}"
        for day in won_days:
            rows.append(
                Deal(
                    **seed._synced(),
                    remote_id=f"{account}:{day}",
                    status="WON",
                    closed_at=_noon(day),
                    amount=amount,
                    currency=seed.workspace.currency,
                    account_remote_id=account,
                    **fields,
                )
            )
    seed.session.add_all(rows)
    await seed.session.flush()


async def _kpis(seed: Seed, period: PeriodSpec, *names: str) -> dict[str, KpiResult]:
    results = await seed.run(*(KpiRequest(n, period) for n in names), now=NOW)
    return {r.name: r for r in results if isinstance(r, KpiResult)}


async def test_churn_seed_200_active_10_lost(session: AsyncSession) -> None:
    seed = await Seed.create(session)
    await _customers(seed, 190, date(2025, 6, 1))
    await _customers(seed, 10, date(2025, 3, 10))  # lost on 2026-03-10 (365 days later)
    r = await _kpis(
        seed,
        MARCH,
        "customerChurnRate",
        "netCustomerChurnRate",
        "customerRetentionRate",
        "activeCustomers",
        "newCustomers",
    )
    churn = r["customerChurnRate"]
    assert (churn.value, churn.numerator, churn.denominator) == (0.05, 10, 200)
    assert r["netCustomerChurnRate"].value == pytest.approx(0.05)
    assert r["customerRetentionRate"].value == pytest.approx(0.95)
    assert r["activeCustomers"].value == 190
    assert r["newCustomers"].value == 0


async def test_net_churn_seed_99_to_95(session: AsyncSession) -> None:
    seed = await Seed.create(session)
    await _customers(seed, 95, date(2025, 6, 1))
    await _customers(seed, 4, date(2025, 3, 20))
    r = await _kpis(seed, MARCH, "netCustomerChurnRate")
    assert r["netCustomerChurnRate"].value == pytest.approx(4 / 99)
    assert round(r["netCustomerChurnRate"].value or 0, 4) == 0.0404


async def test_retention_seed_100_to_90(session: AsyncSession) -> None:
    seed = await Seed.create(session)
    await _customers(seed, 90, date(2025, 7, 1))
    await _customers(seed, 10, date(2025, 3, 5))
    await _customers(seed, 5, date(2026, 3, 15))  # new in March: not part of retention
    r = await _kpis(seed, MARCH, "customerRetentionRate", "newCustomers", "activeCustomers")
    assert r["customerRetentionRate"].value == pytest.approx(0.90)
    assert r["newCustomers"].value == 5
    assert r["activeCustomers"].value == 95


async def test_arpa_seed_50000_from_100_accounts(session: AsyncSession) -> None:
    seed = await Seed.create(session)
    await _customers(seed, 100, date(2026, 3, 3), amount=500)
    r = await _kpis(seed, MARCH, "arpa", "newCustomers")
    assert (r["arpa"].value, r["arpa"].numerator, r["arpa"].denominator) == (500, 50_000, 100)
    assert r["newCustomers"].value == 100


async def test_clv_seed_500_a_year_for_3_years(session: AsyncSession) -> None:
    seed = await Seed.create(session)
    first = date(2022, 6, 1)
    # Wins 365 days apart touch: one stretch of 3 x 365 days, lost on 2025-05-31.
    await _customers(seed, 1, first, first + timedelta(365), first + timedelta(730), amount=0)
    await _customers(seed, 1, date(2025, 3, 1), amount=1000)
    year = PeriodSpec(start=date(2025, 1, 1), end=date(2026, 1, 1))
    r = await _kpis(seed, year, "customerLifetimeValue", "averageCustomerLifetimeDays")
    assert r["averageCustomerLifetimeDays"].value == 1095
    assert r["customerLifetimeValue"].value == pytest.approx(1500)


async def test_mrr_seed_a_1000_a_month_subscription_adds_1000(session: AsyncSession) -> None:
    seed = await Seed.create(session)
    common = {"status": "WON", "closed_at": utc(2025, 12, 20), "account_remote_id": "a1"}
    before = (await _kpis(seed, MARCH, "mrr"))["mrr"].value
    await seed.deal(recurring_amount=1000, contract_start=date(2026, 1, 1), **common)
    await seed.deal(
        recurring_amount=300,
        contract_start=date(2025, 1, 1),
        contract_end=date(2026, 2, 28),
        **common,
    )  # ended before March's end
    await seed.deal(recurring_amount=200, **common)  # no contract dates: from the close time
    await seed.deal(status="OPEN", recurring_amount=999, contract_start=date(2026, 1, 1))
    after = (await _kpis(seed, MARCH, "mrr"))["mrr"]
    assert before == 0 and after.value == 1200 and after.unit == "MONEY"


async def test_lost_and_won_back_is_new_again(session: AsyncSession) -> None:
    seed = await Seed.create(session, inactivity_days=30)
    await _customers(seed, 1, date(2026, 1, 10), date(2026, 3, 5))  # lost 2026-02-09
    months = {m: PeriodSpec(start=date(2026, m, 1), end=date(2026, m + 1, 1)) for m in (1, 2, 3)}
    new = {
        m: (await _kpis(seed, p, "newCustomers"))["newCustomers"].value for m, p in months.items()
    }
    assert new == {1: 1, 2: 0, 3: 1}
    feb = await _kpis(
        seed, months[2], "customerChurnRate", "activeCustomers", "averageCustomerLifetimeDays"
    )
    assert feb["customerChurnRate"].value == 1.0 and feb["activeCustomers"].value == 0
    assert feb["averageCustomerLifetimeDays"].value == 30
    mar = await _kpis(seed, months[3], "customerChurnRate", "customerRetentionRate")
    assert mar["customerChurnRate"].value is None  # nobody active on 28 February
    assert mar["customerChurnRate"].null_reason


async def test_retained_through_stretches_inside_the_period(session: AsyncSession) -> None:
    """A customer active on the day before the period and on its last day is retained
    however many times it was lost and won back in between; one whose previous stretch
    ended before the period, or that is new, is not (KPIS.md "Retention")."""
    seed = await Seed.create(session, inactivity_days=10)
    mar25, may1, jun25 = date(2026, 3, 25), date(2026, 5, 1), date(2026, 6, 25)
    await _customers(seed, 1, mar25, may1, jun25)  # three stretches, the middle one inside
    await _customers(seed, 1, mar25, jun25)  # lost in April, back in June
    await _customers(seed, 1, mar25)  # lost
    await _customers(seed, 1, jun25)  # new
    await _customers(seed, 1, date(2026, 3, 1), jun25)  # lost before the period, back
    await _customers(seed, 1, date(2026, 3, 1), may1, jun25)  # the same, through May
    quarter = PeriodSpec(start=date(2026, 4, 1), end=date(2026, 7, 1))
    r = await _kpis(seed, quarter, "customerRetentionRate", "activeCustomers")
    assert (r["customerRetentionRate"].numerator, r["customerRetentionRate"].denominator) == (2, 3)
    assert r["activeCustomers"].value == 5
    with from_base_tables():
        again = await _kpis(seed, quarter, "customerRetentionRate")
    assert again["customerRetentionRate"].value == r["customerRetentionRate"].value


async def test_a_win_on_the_first_inactive_day_keeps_the_stretch(session: AsyncSession) -> None:
    seed = await Seed.create(session, inactivity_days=30)
    await _customers(seed, 1, date(2026, 1, 10), date(2026, 2, 9))  # 2-09 = first inactive day
    feb = PeriodSpec(start=date(2026, 2, 1), end=date(2026, 3, 1))
    r = await _kpis(seed, feb, "newCustomers", "customerChurnRate", "activeCustomers")
    assert r["newCustomers"].value == 0 and r["customerChurnRate"].value == 0
    assert r["activeCustomers"].value == 1


async def test_customers_whose_only_deal_is_deleted_do_not_exist(session: AsyncSession) -> None:
    seed = await Seed.create(session)
    await _customers(seed, 3, date(2026, 3, 2), deleted_at=utc(2026, 3, 20))
    await _customers(seed, 2, date(2026, 3, 2))
    await seed.deal(status="WON", closed_at=utc(2026, 3, 2))  # no account nor contact
    await seed.deal(status="WON", closed_at=utc(2026, 3, 2), contact_remote_id="person-1")
    r = await _kpis(seed, MARCH, "newCustomers", "activeCustomers")
    assert r["newCustomers"].value == 3 and r["activeCustomers"].value == 3


async def test_local_dates_of_the_workspace_decide_the_day(session: AsyncSession) -> None:
    seed = await Seed.create(session, timezone="Europe/Madrid")
    await seed.deal(status="WON", account_remote_id="late", closed_at=utc(2026, 3, 31, 21, 30))
    await seed.deal(status="WON", account_remote_id="next", closed_at=utc(2026, 3, 31, 22, 30))
    r = await _kpis(seed, MARCH, "newCustomers")
    april = await _kpis(
        seed, PeriodSpec(start=date(2026, 4, 1), end=date(2026, 5, 1)), "newCustomers"
    )
    assert r["newCustomers"].value == 1 and april["newCustomers"].value == 1


async def test_one_day_and_multi_year_periods(session: AsyncSession) -> None:
    seed = await Seed.create(session)
    await _customers(seed, 2, date(2024, 5, 5))  # lost 2025-05-05
    await _customers(seed, 1, date(2026, 3, 5))
    one_day = PeriodSpec(start=date(2026, 3, 5), end=date(2026, 3, 6))
    day = await _kpis(seed, one_day, "newCustomers", "activeCustomers")
    assert day["newCustomers"].value == 1 and day["activeCustomers"].value == 1
    years = PeriodSpec(start=date(2024, 1, 1), end=date(2027, 1, 1))
    span = await _kpis(seed, years, "newCustomers", "customerChurnRate", "arpa")
    assert span["newCustomers"].value == 3
    assert span["customerChurnRate"].value is None  # nobody active before 2024
    assert span["arpa"].value == pytest.approx(100)  # 300 revenue, 3 customers


async def test_empty_denominators_give_null_with_a_reason(session: AsyncSession) -> None:
    seed = await Seed.create(session)
    r = await _kpis(
        seed,
        MARCH,
        "customerChurnRate",
        "netCustomerChurnRate",
        "customerRetentionRate",
        "arpa",
        "customerLifetimeValue",
        "averageCustomerLifetimeDays",
        "upsellCrossSellRate",
    )
    for name, result in r.items():
        assert result.value is None and result.null_reason, name
    assert len(r) == 7


async def test_upsell_rate_and_expansion_revenue(session: AsyncSession) -> None:
    seed = await Seed.create(session)
    await _customers(seed, 4, date(2025, 9, 1))
    # "x" is an existing customer (won in September): its expansion deals count.
    await seed.deal(status="WON", closed_at=utc(2025, 9, 2), amount=1, account_remote_id="x")
    for kind, amount in (("UPSELL", 100), ("CROSS_SELL", 50), ("UPGRADE", 25), ("RENEWAL", 7)):
        await seed.deal(
            status="WON",
            closed_at=utc(2026, 3, 9),
            deal_type=kind,
            amount=amount,
            account_remote_id="x",
        )
    r = await _kpis(seed, MARCH, "upsellCrossSellRate", "expansionRevenue")
    assert r["upsellCrossSellRate"].value == pytest.approx(2 / 5)
    assert r["expansionRevenue"].value == 175


async def test_average_customer_value_and_referral_customers(session: AsyncSession) -> None:
    seed = await Seed.create(session)
    for account, day, source in (("a", 3, "Referral"), ("a", 9, "ads"), ("b", 4, "ads")):
        await seed.deal(
            status="WON",
            closed_at=utc(2026, 3, day),
            amount=100,
            account_remote_id=account,
            source=source,
        )
    await seed.deal(
        status="WON",
        closed_at=utc(2026, 3, 5),
        amount=60,
        contact_remote_id="p1",
        source="partner referral",
    )
    await seed.deal(
        status="WON", closed_at=utc(2025, 12, 1), amount=1, account_remote_id="c", source="referral"
    )  # an earlier customer: not new in March
    r = await _kpis(seed, MARCH, "averageCustomerValue", "referralCustomers", "newCustomers")
    value = r["averageCustomerValue"]
    assert (value.value, value.numerator, value.denominator) == (120, 360, 3)
    assert r["referralCustomers"].value == 2 and r["newCustomers"].value == 3


async def test_inactive_customers_and_existing_customer_engagement(
    session: AsyncSession,
) -> None:
    seed = await Seed.create(session, inactivity_days=365, no_contact_days=30)
    for account, won in (("lost", utc(2024, 6, 1)), ("quiet", utc(2025, 9, 1))):
        await seed.deal(status="WON", closed_at=won, account_remote_id=account)
    for account in ("called", "old-call"):
        await seed.deal(status="WON", closed_at=utc(2025, 9, 1), account_remote_id=account)
    await seed.deal(status="WON", closed_at=utc(2025, 9, 1), contact_remote_id="p1")
    await seed.activity(account_remote_id="called", done_at=utc(2026, 3, 20))
    await seed.activity(account_remote_id="old-call", done_at=utc(2026, 2, 20))  # > 30 days
    await seed.activity(contact_remote_id="p1", done_at=utc(2026, 3, 30))
    await seed.activity(account_remote_id="quiet", done_at=None, due_at=utc(2026, 3, 5))
    await seed.activity(account_remote_id="called", done_at=utc(2026, 3, 21), deleted_at=NOW)
    r = await _kpis(seed, MARCH, "inactiveCustomers", "existingCustomerEngagement")
    # Ever customers: 5; active on 31 March and contacted since 1 March: called, p1.
    assert r["inactiveCustomers"].value == 3
    engagement = r["existingCustomerEngagement"]
    assert (engagement.numerator, engagement.denominator) == (2, 4)


async def test_segmented_and_broken_down_by_the_owner_and_pipeline_that_won_them(
    session: AsyncSession,
) -> None:
    seed = await Seed.create(session)
    ana, bob = await seed.user("Ana"), await seed.user("Bob")
    sales, renewals = await seed.pipeline("Sales"), await seed.pipeline("Renewals")
    # Ana won 6 customers in June 2025 (Sales), 2 of them lost in March 2026; Bob won 4 in
    # March 2025 (Renewals), all lost on 10 March 2026. A later win by Bob of one of Ana's
    # customers keeps it Ana's (the deal that began the stretch decides).
    ana_fields = {"owner_remote_id": ana.remote_id, "pipeline_remote_id": sales.remote_id}
    bob_fields = {"owner_remote_id": bob.remote_id, "pipeline_remote_id": renewals.remote_id}
    await _customers(seed, 3, date(2025, 6, 1), **ana_fields)
    await _customers(seed, 2, date(2025, 3, 12), **ana_fields)
    await _customers(seed, 4, date(2025, 3, 10), **bob_fields)
    for day, fields in ((date(2025, 6, 1), ana_fields), (date(2025, 9, 1), bob_fields)):
        await seed.deal(status="WON", closed_at=_noon(day), account_remote_id="shared", **fields)
    owner = DimensionRef(Dimension.OWNER)
    results = await seed.run(
        KpiRequest("customerChurnRate", MARCH, segment=Segment.of([(owner, [str(ana.id)])])),
        KpiRequest(
            "customerChurnRate",
            MARCH,
            segment=Segment.of([(DimensionRef(Dimension.PIPELINE), [str(renewals.id)])]),
        ),
        KpiRequest(
            "newCustomers",
            PeriodSpec(start=date(2025, 1, 1), end=date(2026, 1, 1)),
            breakdown=Breakdown(owner),
        ),
        now=NOW,
    )
    mine, renewal, by_owner = results
    assert (mine.value, mine.numerator, mine.denominator) == (2 / 6, 2, 6)
    assert (renewal.value, renewal.numerator, renewal.denominator) == (1.0, 4, 4)
    assert by_owner.breakdown is not None
    assert {p.label: p.value for p in by_owner.breakdown} == {"Ana": 6.0, "Bob": 4.0}

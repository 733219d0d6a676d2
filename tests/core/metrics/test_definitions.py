"""The seed examples of KPIS.md, on rows written into the model (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from core.metrics import KpiRequest, PeriodSpec
from tests.core.metrics.factory import Seed, utc

MARCH = PeriodSpec(start=utc(2026, 3, 1).date(), end=utc(2026, 4, 1).date())
NOW = utc(2026, 5, 1)
IN_MARCH = utc(2026, 3, 10, 12)
BEFORE = utc(2026, 1, 10)


def req(kpi: str, **kw: object) -> KpiRequest:
    return KpiRequest(kpi, period=MARCH, **kw)  # type: ignore[arg-type]


@pytest.fixture
async def seed(session: AsyncSession) -> Seed:
    return await Seed.create(session)


async def test_win_rate_and_win_loss_ratio(seed: Seed) -> None:
    await seed.deals(15, status="WON", closed_at=IN_MARCH, remote_created_at=BEFORE)
    await seed.deals(10, status="LOST", closed_at=IN_MARCH, remote_created_at=BEFORE)
    await seed.deals(4, status="WON", closed_at=utc(2026, 4, 2), remote_created_at=BEFORE)
    win, ratio, won, lost = await seed.run(
        req("winRate"), req("winLossRatio"), req("dealsWon"), req("dealsLost"), now=NOW
    )
    assert (win.value, win.numerator, win.denominator) == (0.6, 15, 25)
    assert ratio.value == 1.5
    assert (won.value, lost.value) == (15, 10)


async def test_close_rate_counts_deals_open_at_any_instant(seed: Seed) -> None:
    await seed.deals(10, status="WON", closed_at=IN_MARCH, remote_created_at=BEFORE)
    await seed.deals(30, status="OPEN", remote_created_at=BEFORE)
    await seed.deals(5, status="LOST", closed_at=IN_MARCH, remote_created_at=BEFORE)
    await seed.deals(5, status="OPEN", remote_created_at=IN_MARCH)
    # Not open during March: lost before it, or created after it.
    await seed.deal(status="LOST", closed_at=utc(2026, 2, 1), remote_created_at=BEFORE)
    await seed.deal(status="OPEN", remote_created_at=utc(2026, 4, 5))
    result = await seed.one(req("closeRate"), now=NOW)
    assert (result.value, result.numerator, result.denominator) == (0.2, 10, 50)


async def test_lead_close_ratio(seed: Seed) -> None:
    await seed.deals(25, status="WON", closed_at=IN_MARCH, remote_created_at=BEFORE)
    for i in range(100):
        if i % 2:
            await seed.lead(remote_created_at=IN_MARCH)
        else:
            await seed.contact(is_lead=True, lead_at=IN_MARCH, remote_created_at=BEFORE)
    await seed.contact(is_lead=False, remote_created_at=IN_MARCH)  # not a lead
    result = await seed.one(req("leadCloseRatio"), now=NOW)
    assert (result.value, result.numerator, result.denominator) == (0.25, 25, 100)
    assert (await seed.one(req("newLeads"), now=NOW)).value == 100


async def _customers(seed: Seed, n: int, field: str, converted: int) -> None:
    """``n`` contacts entering ``field`` in March, the first ``converted`` of them customers
    on 3 April: lifecycle at customer then (as HubSpot sets it when their deal is won)."""
    for i in range(n):
        customer = {"customer_at": utc(2026, 4, 3)} if i < converted else {}
        contact = await seed.contact(**{field: IN_MARCH}, remote_created_at=BEFORE, **customer)
        if i < converted:
            await seed.deal(
                status="WON",
                closed_at=utc(2026, 4, 3),
                contact_remote_id=contact.remote_id,
                remote_created_at=BEFORE,
            )


async def test_sql_to_customer_rate(seed: Seed) -> None:
    await _customers(seed, 50, "sql_at", 10)
    result = await seed.one(req("sqlToCustomerRate"), now=NOW)
    assert (result.value, result.numerator, result.denominator) == (0.2, 10, 50)


async def test_mql_to_customer_rate_follows_the_cohort_to_as_of(seed: Seed) -> None:
    await _customers(seed, 200, "mql_at", 20)
    result = await seed.one(req("mqlToCustomerRate"), now=NOW)
    assert (result.value, result.numerator, result.denominator) == (0.1, 20, 200)
    # As of 2 April the wins of 3 April had not happened yet.
    early = await seed.one(req("mqlToCustomerRate", as_of=utc(2026, 4, 2)), now=NOW)
    assert early.value == 0.0


async def test_conversion_within_days(seed: Seed) -> None:
    deal_fast = await seed.deal(status="WON", closed_at=utc(2026, 3, 20), remote_created_at=BEFORE)
    deal_slow = await seed.deal(status="WON", closed_at=utc(2026, 4, 30), remote_created_at=BEFORE)
    await seed.lead(remote_created_at=IN_MARCH, converted_deal_remote_id=deal_fast.remote_id)
    await seed.lead(remote_created_at=IN_MARCH, converted_deal_remote_id=deal_slow.remote_id)
    await seed.lead(remote_created_at=IN_MARCH)
    all_time, within = await seed.run(
        req("leadConversionRate"), req("leadConversionRate", within_days=30), now=NOW
    )
    assert all_time.numerator == 2 and all_time.denominator == 3
    assert within.numerator == 1


async def test_follow_up_rate_and_response_time(seed: Seed) -> None:
    for i in range(100):
        lead = await seed.lead(remote_created_at=IN_MARCH)
        if i < 80:
            await seed.activity(lead_remote_id=lead.remote_id, done_at=utc(2026, 3, 10, 14))
    rate, hours = await seed.run(req("leadFollowUpRate"), req("averageResponseTimeHours"), now=NOW)
    assert (rate.value, rate.numerator, rate.denominator) == (0.8, 80, 100)
    assert hours.value == pytest.approx(2.0)


async def test_meeting_acceptance_and_positive_responses(seed: Seed) -> None:
    for i in range(50):
        status = ["ACCEPTED", "HELD"][i % 2] if i < 25 else ["PROPOSED", "DECLINED"][i % 2]
        await seed.activity(type="MEETING", remote_created_at=IN_MARCH, meeting_status=status)
    for i in range(50):
        await seed.activity(
            type="EMAIL", done_at=IN_MARCH, response="POSITIVE" if i < 30 else "NEGATIVE"
        )
    await seed.activity(type="EMAIL", done_at=IN_MARCH)  # not classified
    meetings, responses, done = await seed.run(
        req("meetingAcceptanceRate"), req("positiveResponseRate"), req("activities"), now=NOW
    )
    assert (meetings.value, meetings.numerator, meetings.denominator) == (0.5, 25, 50)
    assert (responses.value, responses.numerator, responses.denominator) == (0.6, 30, 50)
    assert done.value == 51


async def test_sales_growth_rate(seed: Seed) -> None:
    await seed.deal(
        status="WON", amount=50000, closed_at=utc(2026, 2, 14), remote_created_at=BEFORE
    )
    await seed.deal(status="WON", amount=55000, closed_at=IN_MARCH, remote_created_at=BEFORE)
    growth, revenue = await seed.run(req("salesGrowthRate"), req("salesRevenue"), now=NOW)
    assert growth.value == pytest.approx(0.10)
    assert (growth.numerator, growth.denominator) == (55000, 50000)
    assert revenue.value == 55000 and revenue.currency == "USD"


async def test_average_profit_margin_and_deal_size(seed: Seed) -> None:
    await seed.deal(
        status="WON", amount=1000, cost=700, closed_at=IN_MARCH, remote_created_at=BEFORE
    )
    await seed.deal(status="WON", amount=3000, closed_at=IN_MARCH, remote_created_at=BEFORE)
    margin, size = await seed.run(req("averageProfitMargin"), req("averageDealSize"), now=NOW)
    assert margin.value == pytest.approx(0.30)
    assert size.value == 2000 and size.denominator == 2


async def test_opportunities_proposals_and_cycle(seed: Seed) -> None:
    pipeline = await seed.pipeline("Sales")
    qualified = await seed.stage(pipeline, "Qualified", kind="QUALIFIED", display_order=1)
    proposal = await seed.stage(pipeline, "Proposal", kind="PROPOSAL", display_order=2)
    for i in range(50):
        deal = await seed.deal(remote_created_at=utc(2026, 3, 1 + i % 28))
        if i < 30:
            await seed.stay(deal, qualified, utc(2026, 3, 1), utc(2026, 3, 2 + i % 10))
            await seed.stay(deal, proposal, utc(2026, 3, 2 + i % 10), None)
    # A second entry into a proposal stage in March does not count again.
    old = await seed.deal(remote_created_at=BEFORE)
    await seed.stay(old, proposal, utc(2026, 2, 1), utc(2026, 2, 5))
    await seed.stay(old, proposal, utc(2026, 3, 5), None)
    for days in (10, 20, 30, 60):
        await seed.deal(
            status="WON",
            closed_at=utc(2026, 3, 31),
            remote_created_at=utc(2026, 3, 31 - days) if days < 31 else utc(2026, 1, 30),
        )
    created, proposals, cycle = await seed.run(
        req("opportunitiesCreated"), req("proposalsSent"), req("averageSalesCycleDays"), now=NOW
    )
    assert created.value == 50 + 3
    assert proposals.value == 30
    assert cycle.value == pytest.approx((10 + 20 + 30 + 60) / 4)


async def test_stage_conversion_and_duration_per_stage(seed: Seed) -> None:
    pipeline = await seed.pipeline("Sales")
    lead_in = await seed.stage(pipeline, "Lead", kind="LEAD_IN", display_order=1)
    proposal = await seed.stage(pipeline, "Proposal", kind="PROPOSAL", display_order=2)
    won = await seed.stage(pipeline, "Won", kind="WON", display_order=3)
    await seed.stage(pipeline, "Lost", kind="LOST", display_order=4)
    on = {"pipeline_remote_id": pipeline.remote_id, "remote_created_at": IN_MARCH}
    # 4 deals: all reached Lead; 3 reached Proposal (one skipped Lead); 1 reached Won.
    d1 = await seed.deal(stage_remote_id=lead_in.remote_id, **on)
    await seed.stay(d1, lead_in, IN_MARCH, None)
    d2 = await seed.deal(stage_remote_id=proposal.remote_id, **on)
    await seed.stay(d2, lead_in, utc(2026, 3, 11), utc(2026, 3, 13))
    await seed.stay(d2, proposal, utc(2026, 3, 13), None)
    await seed.deal(stage_remote_id=proposal.remote_id, **on)  # no history: current stage
    d4 = await seed.deal(
        stage_remote_id=won.remote_id, status="WON", closed_at=utc(2026, 3, 20), **on
    )
    await seed.stay(d4, lead_in, utc(2026, 3, 11), utc(2026, 3, 12))
    await seed.stay(d4, proposal, utc(2026, 3, 12), utc(2026, 3, 20))
    await seed.stay(d4, won, utc(2026, 3, 20), None)
    conversion, duration = await seed.run(req("stageConversion"), req("stageDuration"), now=NOW)
    shares = {p.label: (p.numerator, p.denominator) for p in conversion.breakdown or ()}
    assert shares == {"Lead": (3, 4), "Proposal": (1, 3), "Won": (0, 1)}
    assert (conversion.numerator, conversion.denominator) == (4, 8)
    days = {p.label: p.value for p in duration.breakdown or ()}
    assert days == {"Lead": pytest.approx(1.5), "Proposal": pytest.approx(8)}
    assert duration.value == pytest.approx((2 + 1 + 8) / 3)

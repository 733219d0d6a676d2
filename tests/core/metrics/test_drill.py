"""The records behind a KPI: as many as the numerator / denominator counts (both databases)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import ValidationError
from core.metrics import (
    Breakdown,
    Dimension,
    DimensionRef,
    Granularity,
    KpiRequest,
    KpiResult,
    PeriodSpec,
    Segment,
)
from core.metrics.drill import Side, record_parts
from tests.core.metrics.factory import REGISTRY, Seed, utc

JUNE = PeriodSpec(start=date(2025, 6, 1), end=date(2025, 7, 1))
NOW = utc(2025, 8, 1)


async def _seed(session: AsyncSession) -> Seed:
    """June 2025: 3 deals won (one without amount), 2 lost; open deals around the month's
    end; leads and a lead contact, one converted; activities; stage exits; customers."""
    seed = await Seed.create(session)
    ana, bo = await seed.user("Ana"), await seed.user("Bo")
    acme, initech = await seed.account("Acme"), await seed.account("Initech")
    pipeline = await seed.pipeline("Sales")
    s1 = await seed.stage(pipeline, "Qualified", display_order=1, probability=0.3)
    s2 = await seed.stage(pipeline, "Proposal", display_order=2, probability=0.6, kind="PROPOSAL")
    before = utc(2025, 1, 5)
    won = []
    for day, amount, owner, account in [
        (3, 100, ana, acme),
        (10, 200, bo, initech),
        (20, None, ana, acme),
    ]:
        won.append(
            await seed.deal(
                name=f"won {day}",
                status="WON",
                amount=amount,
                closed_at=utc(2025, 6, day),
                remote_created_at=before,
                owner_remote_id=owner.remote_id,
                account_remote_id=account.remote_id,
                pipeline_remote_id=pipeline.remote_id,
                stage_remote_id=s2.remote_id,
            )
        )
    for day in (4, 25):
        await seed.deal(
            name=f"lost {day}", status="LOST", closed_at=utc(2025, 6, day), remote_created_at=before
        )
    await seed.deal(
        name="won in May",
        status="WON",
        amount=50,
        closed_at=utc(2025, 5, 2),
        remote_created_at=before,
    )
    open_deal = await seed.deal(
        name="open",
        amount=1000,
        remote_created_at=before,
        pipeline_remote_id=pipeline.remote_id,
        stage_remote_id=s1.remote_id,
    )
    await seed.deal(
        name="won in July",
        status="WON",
        amount=70,
        closed_at=utc(2025, 7, 3),
        remote_created_at=before,
    )
    await seed.deal(name="created in July", amount=5, remote_created_at=utc(2025, 7, 2))
    # Stage exits in June: the open deal once, the first won deal twice (one deal).
    await seed.stay(open_deal, s2, utc(2025, 5, 1), utc(2025, 6, 2))
    await seed.stay(won[0], s1, utc(2025, 5, 1), utc(2025, 6, 1, 12))
    await seed.stay(won[0], s2, utc(2025, 6, 1, 12), utc(2025, 6, 3))
    for day in (2, 9, 16):
        await seed.lead(
            name=f"lead {day}",
            remote_created_at=utc(2025, 6, day),
            converted_deal_remote_id=won[1].remote_id if day == 2 else None,
        )
    await seed.lead(name="May lead", remote_created_at=utc(2025, 5, 9))
    await seed.contact(name="lead contact", is_lead=True, lead_at=utc(2025, 6, 11))
    await seed.contact(name="plain contact", remote_created_at=utc(2025, 6, 11))
    for day in (5, 6):
        await seed.activity(
            subject=f"call {day}", done_at=utc(2025, 6, day), due_at=utc(2025, 6, day)
        )
    await seed.activity(subject="May call", done_at=utc(2025, 5, 5), due_at=utc(2025, 5, 5))
    await seed.activity(subject="overdue", due_at=utc(2025, 6, 28), remote_created_at=before)
    await session.commit()
    return seed


async def _listed(seed: Seed, result: KpiResult, side: Side = Side.NUMERATOR) -> list[str]:
    """Type and name of every record behind one side of ``result``."""
    assert result.frame is not None and result.segment is not None
    return await _listed_in(seed, result.name, side, result)


async def _listed_in(
    seed: Seed, kpi: str, side: Side, result: KpiResult, segment: Segment | None = None
) -> list[str]:
    assert result.frame is not None
    parts = await record_parts(
        seed.session,
        REGISTRY,
        kpi,
        side,
        result.frame,
        segment=segment if segment is not None else result.segment or Segment(),
        workspace_ids=(seed.workspace.id,),
        currency=result.currency or "USD",
    )
    names: list[str] = []
    for part in parts:
        rows = await seed.session.scalars(select(part.model).where(part.condition))
        names += [f"{part.model.__name__}:{getattr(r, 'name', None) or r.subject}" for r in rows]
    return names


async def _one(seed: Seed, kpi: str, **extra: object) -> KpiResult:
    return await seed.one(KpiRequest(kpi, period=JUNE, **extra), now=NOW)  # type: ignore[arg-type]


async def test_counts_list_their_records(session: AsyncSession) -> None:
    seed = await _seed(session)
    won = await _one(seed, "dealsWon")
    assert sorted(await _listed(seed, won)) == ["Deal:won 10", "Deal:won 20", "Deal:won 3"]
    assert won.value == 3

    activities = await _one(seed, "activities")
    assert sorted(await _listed(seed, activities)) == ["Activity:call 5", "Activity:call 6"]
    assert activities.value == 2


@pytest.mark.parametrize(
    "kpi",
    [
        "winRate",
        "leadConversionRate",
        "closeRate",
        "meetingAcceptanceRate",
        "customerChurnRate",
        "averageDealSize",
        "leadFollowUpRate",
    ],
)
async def test_ratio_sides_have_as_many_records_as_they_count(
    session: AsyncSession, kpi: str
) -> None:
    seed = await _seed(session)
    result = await _one(seed, kpi)
    numerator = await _listed(seed, result, Side.NUMERATOR)
    denominator = await _listed(seed, result, Side.DENOMINATOR)
    if kpi != "averageDealSize":  # a sum of amounts: the won deals are listed, not counted
        assert len(numerator) == (result.numerator or 0)
    assert len(denominator) == (result.denominator or 0)
    assert len(set(numerator)) == len(numerator) and len(set(denominator)) == len(denominator)


async def test_specific_sides(session: AsyncSession) -> None:
    seed = await _seed(session)
    win = await _one(seed, "winRate")
    assert len(await _listed(seed, win, Side.DENOMINATOR)) == 5
    conversion = await _one(seed, "leadConversionRate")
    assert await _listed(seed, conversion) == ["Lead:lead 2"]
    assert sorted(await _listed(seed, conversion, Side.DENOMINATOR)) == [
        "Contact:lead contact",
        "Lead:lead 16",
        "Lead:lead 2",
        "Lead:lead 9",
    ]
    # averageDealSize's denominator: won deals converted, i.e. with an amount and a rate.
    size = await _one(seed, "averageDealSize")
    assert sorted(await _listed(seed, size, Side.DENOMINATOR)) == ["Deal:won 10", "Deal:won 3"]
    assert size.denominator == 2


async def test_stocks_list_what_was_open_at_the_instant(session: AsyncSession) -> None:
    seed = await _seed(session)
    open_deals = await _one(seed, "openDeals")
    pipeline = await _one(seed, "pipelineValue")
    listed = sorted(await _listed(seed, pipeline))
    assert listed == sorted(await _listed(seed, open_deals)) == ["Deal:open", "Deal:won in July"]
    assert open_deals.value == 2
    pending = await _one(seed, "pendingFollowUps")
    listed = await _listed(seed, pending)
    assert len(listed) == pending.value
    assert "Activity:overdue" in listed and "Deal:open" in listed


async def test_derived_rows_list_their_deal_once(session: AsyncSession) -> None:
    seed = await _seed(session)
    duration = await _one(seed, "stageDuration")
    assert duration.denominator == 3  # three stage exits...
    listed = await _listed(seed, duration, Side.DENOMINATOR)
    assert sorted(listed) == ["Deal:open", "Deal:won 3"]  # ...of two deals


async def test_customer_kpis_list_accounts(session: AsyncSession) -> None:
    seed = await _seed(session)
    new = await _one(seed, "newCustomers")
    listed = await _listed(seed, new)
    assert sorted(listed) == ["Account:Acme", "Account:Initech"]
    assert new.value == 2
    active = await _one(seed, "activeCustomers")
    assert len(await _listed(seed, active)) == active.value


async def test_series_points_and_breakdown_groups(session: AsyncSession) -> None:
    seed = await _seed(session)
    quarter = PeriodSpec(start=date(2025, 5, 1), end=date(2025, 8, 1))
    won = await seed.one(
        KpiRequest("dealsWon", period=quarter, granularity=Granularity.MONTH), now=NOW
    )
    assert won.series is not None
    for point in won.series:
        assert point.frame is not None
        moved = replace(won, frame=point.frame)
        assert len(await _listed(seed, moved)) == point.value
    by_owner = await _one(seed, "winRate", breakdown=Breakdown(DimensionRef(Dimension.OWNER)))
    assert by_owner.breakdown
    for group in by_owner.breakdown:
        if group.segment is None:  # the "(none)" group: lost deals without an owner
            assert group.key == ""
            continue
        listed = await _listed_in(seed, "winRate", Side.NUMERATOR, by_owner, group.segment)
        assert len(listed) == group.numerator


async def test_sides_that_are_not_records_are_refused(session: AsyncSession) -> None:
    seed = await _seed(session)
    won = await _one(seed, "dealsWon")
    with pytest.raises(ValidationError, match="no denominator"):
        await _listed(seed, won, Side.DENOMINATOR)
    cost = await _one(seed, "costPerLead")
    with pytest.raises(ValidationError, match="imported figures"):
        await _listed(seed, cost, Side.NUMERATOR)
    assert len(await _listed(seed, cost, Side.DENOMINATOR)) == cost.denominator
    churn = await _one(seed, "netCustomerChurnRate")
    with pytest.raises(ValidationError, match="not a list of records"):
        await _listed(seed, churn)

"""The rulings of KPIS.md "Precise conventions" (issue #24), each on small hand-made facts,
with the drill-down records behind each number (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.metrics import KpiRequest, KpiResult, PeriodSpec, Segment
from core.metrics.drill import Side, record_parts
from tests.core.metrics.factory import REGISTRY, Seed, utc

MARCH = PeriodSpec(start=date(2026, 3, 1), end=date(2026, 4, 1))
NOW = utc(2026, 6, 1)


async def _records(seed: Seed, result: KpiResult, side: Side = Side.NUMERATOR) -> list[str]:
    """``Model:remote_id`` of the records behind one side of ``result``, sorted."""
    parts = await record_parts(
        seed.session,
        REGISTRY,
        result.name,
        side,
        result.frame,
        segment=Segment(),
        workspace_ids=(seed.workspace.id,),
        currency="USD",
    )
    out: list[str] = []
    for part in parts:
        rows = await seed.session.scalars(select(part.model).where(part.condition))
        out += [f"{part.model.__name__}:{r.remote_id}" for r in rows]
    return sorted(out)


async def _won(seed: Seed, rid: str, account: str | None, closed: datetime, **fields: object):
    return await seed.deal(
        remote_id=rid,
        status="WON",
        closed_at=closed,
        amount=fields.pop("amount", 100),
        account_remote_id=account,
        remote_created_at=utc(2025, 1, 1),
        **fields,
    )


async def test_expansion_counts_only_existing_customers(session: AsyncSession) -> None:
    seed = await Seed.create(session, timezone="Europe/Madrid", inactivity_days=30)
    # "old" won in February: active on 14 March, so its upsell of 15 March is expansion.
    await _won(seed, "old-first", "old", utc(2026, 2, 20))
    await _won(seed, "old-up", "old", utc(2026, 3, 15), deal_type="UPSELL", amount=40)
    # "new"'s first win is an upsell: it makes "new" a customer, it is not expansion.
    await _won(seed, "new-up", "new", utc(2026, 3, 10), deal_type="CROSS_SELL", amount=500)
    # Same local day as the first win (23:30 UTC on 9 March is 10 March in Madrid): the
    # account was not a customer on the day before.
    await _won(seed, "same-first", "same", utc(2026, 3, 9, 23, 30))
    await _won(seed, "same-up", "same", utc(2026, 3, 10, 8), deal_type="UPGRADE", amount=700)
    # "back" won in January, was lost (30 days), and its upsell wins it back.
    await _won(seed, "back-first", "back", utc(2026, 1, 5))
    await _won(seed, "back-up", "back", utc(2026, 3, 20), deal_type="UPSELL", amount=900)
    # A contact customer (no account) with a prior win expands too.
    await _won(seed, "c-first", None, utc(2026, 3, 1), contact_remote_id="p1")
    await _won(seed, "c-up", None, utc(2026, 3, 5), contact_remote_id="p1", deal_type="UPSELL")
    result = await seed.one(KpiRequest("expansionRevenue", MARCH), now=NOW)
    assert result.value == pytest.approx(140)
    assert await _records(seed, result) == ["Deal:c-up", "Deal:old-up"]


async def test_arpa_divides_by_distinct_accounts(session: AsyncSession) -> None:
    seed = await Seed.create(session, inactivity_days=5)
    for rid in ("twice", "once"):
        await _account(seed, rid)
    # "twice" is won on 2 March, lost on 7 March and won back on 20 March: two stretches in
    # the period, one account.
    await _won(seed, "t1", "twice", utc(2026, 3, 2), amount=100)
    await _won(seed, "t2", "twice", utc(2026, 3, 20), amount=100)
    await _won(seed, "o1", "once", utc(2026, 3, 12), amount=100)
    arpa, clv = await seed.run(
        KpiRequest("arpa", MARCH), KpiRequest("customerLifetimeValue", MARCH), now=NOW
    )
    assert (arpa.value, arpa.numerator, arpa.denominator) == (150, 300, 2)
    assert await _records(seed, arpa, Side.DENOMINATOR) == ["Account:once", "Account:twice"]
    assert clv.value is not None  # same denominator: 300 / 2 a period


async def _account(seed: Seed, rid: str) -> None:
    await seed.account(rid, remote_id=rid)


async def test_retention_is_active_at_start_and_at_end(session: AsyncSession) -> None:
    seed = await Seed.create(session, inactivity_days=20)
    for rid in ("steady", "back", "gone"):
        await _account(seed, rid)
    # Active on 28 February and 31 March, one stretch.
    await _won(seed, "s1", "steady", utc(2026, 2, 20))
    await _won(seed, "s2", "steady", utc(2026, 3, 12))
    await _won(seed, "s3", "steady", utc(2026, 3, 30))
    # Active on 28 February, lost on 12 March, won back on 25 March: retained.
    await _won(seed, "b1", "back", utc(2026, 2, 20))
    await _won(seed, "b2", "back", utc(2026, 3, 25))
    # Active on 28 February, lost in March for good.
    await _won(seed, "g1", "gone", utc(2026, 2, 20))
    result = await seed.one(KpiRequest("customerRetentionRate", MARCH), now=NOW)
    assert (result.numerator, result.denominator) == (2, 3)
    assert await _records(seed, result) == ["Account:back", "Account:steady"]


async def test_a_converted_leads_activities_follow_it_to_its_contact(
    session: AsyncSession,
) -> None:
    seed = await Seed.create(session)
    created = utc(2026, 3, 10, 12)
    deal = await _won(seed, "d1", "acc", utc(2026, 4, 1), contact_remote_id="p-sf")
    lost = await seed.deal(remote_id="d2", status="LOST", closed_at=utc(2026, 4, 1))
    # Salesforce: converted into contact p-sf, its call moved there (WhoId = the contact).
    await seed.lead(
        remote_id="sf",
        remote_created_at=created,
        contact_remote_id="p-sf",
        converted_at=utc(2026, 3, 12),
        converted_deal_remote_id=deal.remote_id,
    )
    await seed.activity(remote_id="a1", contact_remote_id="p-sf", done_at=utc(2026, 3, 10, 14))
    # An older activity of that contact, before the lead existed, is not a response.
    await seed.activity(remote_id="a0", contact_remote_id="p-sf", done_at=utc(2026, 1, 1))
    # Pipedrive: the lead has no person of its own; its converted deal's person has the call.
    await seed.deal(remote_id="d3", status="OPEN", contact_remote_id="p-pd")
    await seed.lead(remote_id="pd", remote_created_at=created, converted_deal_remote_id="d3")
    await seed.activity(remote_id="a2", contact_remote_id="p-pd", done_at=utc(2026, 3, 10, 16))
    # Converted with a lost deal: its contact's activities count too (it became that contact).
    await seed.lead(
        remote_id="lost",
        remote_created_at=created,
        contact_remote_id="p-lost",
        converted_at=utc(2026, 3, 11),
        converted_deal_remote_id=lost.remote_id,
    )
    await seed.activity(remote_id="a3", contact_remote_id="p-lost", done_at=utc(2026, 3, 11, 12))
    # Not converted: its person's activity is not its follow-up.
    await seed.lead(remote_id="open", remote_created_at=created, contact_remote_id="p-open")
    await seed.activity(remote_id="a4", contact_remote_id="p-open", done_at=utc(2026, 3, 11))
    # HubSpot: the lead is the contact itself.
    await seed.contact(remote_id="hs", is_lead=True, lead_at=created, remote_created_at=created)
    await seed.activity(remote_id="a5", contact_remote_id="hs", done_at=utc(2026, 3, 10, 13))
    rate, hours = await seed.run(
        KpiRequest("leadFollowUpRate", MARCH),
        KpiRequest("averageResponseTimeHours", MARCH),
        now=NOW,
    )
    assert (rate.numerator, rate.denominator) == (4, 5)
    assert await _records(seed, rate) == ["Contact:hs", "Lead:lost", "Lead:pd", "Lead:sf"]
    # 2 h, 4 h, 24 h and 1 h.
    assert hours.value == pytest.approx((2 + 4 + 24 + 1) / 4)


async def test_a_converted_leads_scheduled_activity_is_on_its_contact(
    session: AsyncSession,
) -> None:
    """pendingFollowUps' open leads: a lead converted into a deal not won yet is still open,
    and the activity scheduled on the contact it became is its own (KPIS.md "A lead's
    activities")."""
    seed = await Seed.create(session)
    created, later = utc(2026, 3, 2), utc(2026, 4, 10)
    # Salesforce: converted into contact p-sf (ConvertedContactId), its call moved there.
    await seed.deal(remote_id="d-sf", contact_remote_id="p-sf", remote_created_at=created)
    await seed.lead(
        remote_id="sf",
        remote_created_at=created,
        contact_remote_id="p-sf",
        converted_at=utc(2026, 3, 5),
        converted_deal_remote_id="d-sf",
    )
    await seed.activity(remote_id="call-sf", contact_remote_id="p-sf", due_at=later)
    await seed.activity(remote_id="deal-sf", deal_remote_id="d-sf", due_at=later)
    # Pipedrive: no person of its own, its converted deal's person has the call.
    await seed.deal(remote_id="d-pd", contact_remote_id="p-pd", remote_created_at=created)
    await seed.lead(remote_id="pd", remote_created_at=created, converted_deal_remote_id="d-pd")
    await seed.activity(remote_id="call-pd", contact_remote_id="p-pd", due_at=later)
    await seed.activity(remote_id="deal-pd", deal_remote_id="d-pd", due_at=later)
    # Converted, but its contact's only call was done in March: nothing scheduled.
    await seed.deal(remote_id="d-idle", contact_remote_id="p-idle", remote_created_at=created)
    await seed.lead(
        remote_id="idle",
        remote_created_at=created,
        contact_remote_id="p-idle",
        converted_at=utc(2026, 3, 5),
        converted_deal_remote_id="d-idle",
    )
    await seed.activity(
        remote_id="done-idle", contact_remote_id="p-idle", due_at=later, done_at=utc(2026, 3, 9)
    )
    await seed.activity(remote_id="deal-idle", deal_remote_id="d-idle", due_at=later)
    # Not converted: a call on its person is not the lead's.
    await seed.lead(remote_id="open", remote_created_at=created, contact_remote_id="p-open")
    await seed.activity(remote_id="call-open", contact_remote_id="p-open", due_at=later)
    result = await seed.one(KpiRequest("pendingFollowUps", MARCH), now=NOW)
    assert result.value == 2
    assert await _records(seed, result) == ["Lead:idle", "Lead:open"]


async def test_a_held_meeting_happens_at_its_start(session: AsyncSession) -> None:
    seed = await Seed.create(session, timezone="Europe/Madrid")
    # Starts 31 March 23:30 Madrid (21:30 UTC), ends 1 April: a March meeting (Salesforce
    # stores the end as its done time).
    await seed.activity(
        remote_id="m1",
        type="MEETING",
        due_at=utc(2026, 3, 31, 21, 30),
        done_at=utc(2026, 3, 31, 22, 30),
    )
    # Starts 28 February 23:30 Madrid, ends in March: a February meeting.
    await seed.activity(
        remote_id="m2",
        type="MEETING",
        due_at=utc(2026, 2, 28, 22, 30),
        done_at=utc(2026, 2, 28, 23, 30),
    )
    # Scheduled for 1 April but marked done on 30 March (held early): done when marked.
    await seed.activity(
        remote_id="m3",
        type="MEETING",
        due_at=utc(2026, 4, 1, 9),
        done_at=utc(2026, 3, 30, 9),
    )
    # A call is done when it was marked done.
    await seed.activity(
        remote_id="c1", type="CALL", due_at=utc(2026, 2, 27), done_at=utc(2026, 3, 2)
    )
    result = await seed.one(KpiRequest("activities", MARCH), now=NOW)
    assert result.value == 3
    assert await _records(seed, result) == ["Activity:c1", "Activity:m1", "Activity:m3"]


async def test_conversion_is_the_own_deal_won_or_the_customer_lifecycle(
    session: AsyncSession,
) -> None:
    seed = await Seed.create(session)
    created = utc(2026, 1, 1)
    won = await _won(seed, "w", "a", utc(2026, 3, 11), contact_remote_id="hs-deal")
    lost = await seed.deal(remote_id="l", status="LOST", closed_at=utc(2026, 3, 5))
    # A lead whose own deal was won on 11 March: 69 days.
    await seed.lead(remote_id="won", remote_created_at=created, converted_deal_remote_id="w")
    # A lead whose own deal was lost is not converted, even if its contact won another deal.
    await seed.lead(
        remote_id="lost",
        remote_created_at=created,
        converted_deal_remote_id=lost.remote_id,
        contact_remote_id="hs-deal",
    )
    # HubSpot contacts: converted when the lifecycle reaches customer (59 days), not when a
    # deal naming them is won.
    await seed.contact(
        remote_id="hs-life", is_lead=True, lead_at=created, customer_at=utc(2026, 3, 1)
    )
    await seed.contact(remote_id="hs-deal", is_lead=True, lead_at=created)
    assert won.contact_remote_id == "hs-deal"
    result = await seed.one(KpiRequest("averageTimeToConvertDays", MARCH), now=NOW)
    assert (result.numerator, result.denominator) == (69 + 59, 2)
    assert await _records(seed, result, Side.DENOMINATOR) == ["Contact:hs-life", "Lead:won"]

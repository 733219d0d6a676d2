"""Record lists and metrics narrow rows by the same segment (one catalogue, one Segment):
the deals a list shows for a segment are the deals a KPI counts for it (both databases)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.metrics import Dimension, DimensionRef, KpiRequest, PeriodSpec, Segment
from core.models import Account, Deal, Lead, SyncedMixin
from core.records import live, segment_conditions
from tests.core.metrics.factory import Seed, utc

JUNE = PeriodSpec(start=date(2025, 6, 1), end=date(2025, 7, 1))


async def _names(seed: Seed, model: type[SyncedMixin], segment: Segment) -> list[str]:
    rows = await seed.session.scalars(
        select(model.name)  # type: ignore[attr-defined]
        .where(model.workspace_id == seed.workspace.id, live(model))
        .where(*segment_conditions(model, segment))
    )
    return sorted(rows)


async def test_lists_and_kpis_select_the_same_records(session: AsyncSession) -> None:
    seed = await Seed.create(session)
    ana, bo = await seed.user("Ana"), await seed.user("Bo")
    acme = await seed.account("Acme", country="ES")
    # A deleted account's country places no deal in a segment, in lists as in metrics.
    gone = await seed.account("Gone", country="ES", deleted_at=utc(2025, 5, 1))
    await seed.account("Initech", country="FR")
    for name, account, owner in [
        ("acme", acme, ana),
        ("gone", gone, ana),
        ("none", None, bo),
    ]:
        await seed.deal(
            name=name,
            status="WON",
            amount=100,
            closed_at=utc(2025, 6, 10),
            owner_remote_id=owner.remote_id,
            account_remote_id=account.remote_id if account else None,
        )
    await seed.lead(name="new lead", status="NEW", owner_remote_id=bo.remote_id)
    await seed.lead(name="old lead", status="LOST", owner_remote_id=bo.remote_id)

    spain = Segment.of([(DimensionRef(Dimension.COUNTRY), ["ES"])])
    assert await _names(seed, Deal, spain) == ["acme"]
    assert await _names(seed, Account, spain) == ["Acme"]
    bo_only = Segment.of([(DimensionRef(Dimension.OWNER), [str(bo.id)])])
    assert await _names(seed, Deal, bo_only) == ["none"]
    assert await _names(seed, Lead, bo_only) == ["new lead", "old lead"]
    status = Segment.of([(DimensionRef(Dimension.STATUS), ["NEW"])])
    assert await _names(seed, Lead, status) == ["new lead"]

    now = utc(2025, 8, 1)
    for segment, listed in [(spain, 1), (bo_only, 1), (Segment(), 3)]:
        won = await seed.one(KpiRequest("dealsWon", period=JUNE, segment=segment), now=now)
        assert won.value == listed

"""Deals open at an instant, aggregated by plain columns first (core.metrics.open_sql): the
same numbers as the per-row statement, with the stage history read only for the deals that
have some and its change added to the weighted pipeline."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from core.metrics.compiler import Compiled, compile_by_path, compile_cells
from core.metrics.dimensions import Dimension, DimensionRef
from core.metrics.fx import load_fx
from core.metrics.jobs import TotalsJob, Values, read_rows
from core.metrics.measures import MEASURES
from core.metrics.segments import Segment
from core.metrics.types import Entity, Frame
from tests.core.metrics.factory import Seed, utc

BY_NAME = {m.name: m for m in MEASURES}
NAMES = ("deals_open", "deals_open_any", "pipeline_amount", "weighted_pipeline_amount")


def _frame(month: int) -> Frame:
    start, end = utc(2026, month, 1), utc(2026, month + 1, 1)
    return Frame(date(2026, month, 1), date(2026, month + 1, 1), "UTC", start, end, end)


FEB, MAR = _frame(2), _frame(3)
CELLS = [(BY_NAME[name], frame) for name in NAMES for frame in (FEB, MAR)]


async def _fill(session: AsyncSession) -> Seed:
    seed = await Seed.create(session)
    pipeline = await seed.pipeline("Sales")
    early = await seed.stage(pipeline, "Early", probability=0.2)
    late = await seed.stage(pipeline, "Late", probability=0.8)
    unknown = await seed.stage(pipeline, "Unrated")  # no probability
    jan = utc(2026, 1, 5)
    # Open now in "Late", in "Early" until 15 March: weighted 0.2 at the end of February.
    moved = await seed.deal(
        amount=1000, remote_created_at=jan, stage_remote_id=late.remote_id, source="web"
    )
    await seed.stay(moved, early, jan, utc(2026, 3, 15))
    await seed.stay(moved, late, utc(2026, 3, 15), None)
    # History only in a stage without probability: weighted by its current stage.
    unrated = await seed.deal(amount=300, remote_created_at=jan, stage_remote_id=early.remote_id)
    await seed.stay(unrated, unknown, jan, None)
    # History starting after the end of February: its current stage there.
    later = await seed.deal(amount=50, remote_created_at=jan, stage_remote_id=early.remote_id)
    await seed.stay(later, late, utc(2026, 3, 20), None)
    # No history: its stage, else its own probability, else 0.
    await seed.deal(amount=70, remote_created_at=jan, stage_remote_id=late.remote_id)
    await seed.deal(amount=9, remote_created_at=jan, probability=0.5, source="web")
    await seed.deal(amount=4, remote_created_at=jan)
    await seed.deal(amount=None, remote_created_at=jan, stage_remote_id=late.remote_id)
    # Other currencies: EUR has a rate, GBP none (missing).
    for day in (date(2026, 2, 28), date(2026, 3, 31)):  # the frames' last days
        await seed.rate(day, "EUR", "2")
    await seed.deal(
        amount=100, currency="EUR", remote_created_at=jan, stage_remote_id=late.remote_id
    )
    await seed.deal(
        amount=100, currency="GBP", remote_created_at=jan, stage_remote_id=late.remote_id
    )
    # Closed in March (open at the end of February and during March), and long closed.
    won = await seed.deal(
        status="WON", amount=2000, remote_created_at=jan, closed_at=utc(2026, 3, 10),
        stage_remote_id=late.remote_id,
    )  # fmt: skip
    await seed.stay(won, early, jan, utc(2026, 3, 10))
    await seed.deal(status="LOST", amount=5, remote_created_at=jan, closed_at=utc(2026, 1, 20))
    await seed.deal(amount=80000, remote_created_at=jan, deleted_at=utc(2026, 1, 6))
    await session.commit()
    return seed


async def _values(
    session: AsyncSession, statements: list[Compiled], segment: Segment | None = None
) -> Values:
    """The cell values of ``statements`` as the executor reads them (jobs.read_rows)."""
    job = TotalsJob((segment or Segment(), "UTC"), Entity.DEALS, CELLS)
    rows = [list((await session.execute(c.statement)).all()) for c in statements]
    values, _ = read_rows([(job, c) for c in statements], rows)
    return values[job.key]


async def _as_per_row(
    session: AsyncSession, grouped: list[Compiled], ws: list[str], fx: Any
) -> Values:
    """The values of ``grouped``, checked cell by cell against the per-row statement's
    (floating sums in another order: equal to 12 significant digits)."""
    per_row = compile_cells(
        Entity.DEALS, CELLS, workspace_ids=ws, segment=Segment(), fx=fx, closed_since=FEB.start
    )
    got = await _values(session, grouped)
    want = await _values(session, [per_row])
    assert got.keys() == want.keys()
    for cell, value in want.items():
        assert got[cell] == pytest.approx(value, rel=1e-12), cell
    return got


async def test_grouped_statements_give_the_per_row_numbers(session: AsyncSession) -> None:
    seed = await _fill(session)
    ws = [seed.workspace.id]
    fx = await load_fx(session, ws, "USD", "UTC", date(2026, 2, 1), date(2026, 3, 31))
    grouped = compile_by_path(Entity.DEALS, CELLS, workspace_ids=ws, segment=Segment(), fx=fx)
    # The deals grouped by plain columns, then what the history changes, added to it.
    assert [c.adds for c in grouped] == [False, True]
    assert "open_groups" in str(grouped[0].statement)
    assert "deal_stage_history" not in str(grouped[0].statement)
    assert "history_deals" in str(grouped[1].statement)
    got = await _as_per_row(session, grouped, ws, fx)
    # The numbers themselves. At the end of February ten deals are open (the one without
    # an amount and the won one included); the GBP deal has no rate.
    assert got[("deals_open", FEB)] == 10
    assert got[("weighted_pipeline_amount.missing", FEB)] == 1
    pipeline: Any = got[("pipeline_amount", FEB)]
    eur = pipeline - (1000 + 300 + 50 + 70 + 9 + 4 + 2000)  # the EUR deal, converted
    assert eur > 0
    assert got[("weighted_pipeline_amount", FEB)] == pytest.approx(
        1000 * 0.2 + 300 * 0.2 + 50 * 0.2 + 70 * 0.8 + 9 * 0.5 + 4 * 0 + eur * 0.8 + 2000 * 0.2
    )
    # At the end of March two deals have moved on by their history, the won one is closed.
    assert got[("weighted_pipeline_amount", MAR)] == pytest.approx(
        1000 * 0.8 + 300 * 0.2 + 50 * 0.8 + 70 * 0.8 + 9 * 0.5 + eur * 0.8
    )


async def test_a_segment_applies_to_both_statements(session: AsyncSession) -> None:
    seed = await _fill(session)
    ws = [seed.workspace.id]
    fx = await load_fx(session, ws, "USD", "UTC", date(2026, 2, 1), date(2026, 3, 31))
    web = Segment.of([(DimensionRef(Dimension.SOURCE), ["web"])])
    grouped = compile_by_path(Entity.DEALS, CELLS, workspace_ids=ws, segment=web, fx=fx)
    per_row = compile_cells(
        Entity.DEALS, CELLS, workspace_ids=ws, segment=web, fx=fx, closed_since=FEB.start
    )
    got = await _values(session, grouped, web)
    assert got == await _values(session, [per_row], web)
    assert got[("deals_open", FEB)] == 2
    assert got[("weighted_pipeline_amount", FEB)] == pytest.approx(1000 * 0.2 + 9 * 0.5)
    assert got[("weighted_pipeline_amount", MAR)] == pytest.approx(1000 * 0.8 + 9 * 0.5)


async def test_each_row_set_folds_only_what_its_rows_decide(session: AsyncSession) -> None:
    """Deals closed between the instants, exactly at one, and after the last are read from
    three row sets whose conditions are folded by their bounds (core.metrics.known_values):
    still the per-row numbers, at every boundary."""
    seed = await _fill(session)
    jan = utc(2026, 1, 5)
    for closed in (FEB.start, FEB.end, utc(2026, 3, 31, 23), MAR.end, utc(2026, 6, 1)):
        for status in ("WON", "LOST"):
            await seed.deal(status=status, amount=7, remote_created_at=jan, closed_at=closed)
    # Created after the first instant, closed after the last: open at the second only.
    await seed.deal(status="WON", amount=11, remote_created_at=utc(2026, 3, 5), closed_at=MAR.end)
    await session.commit()
    ws = [seed.workspace.id]
    fx = await load_fx(session, ws, "USD", "UTC", date(2026, 2, 1), date(2026, 3, 31))
    grouped = compile_by_path(Entity.DEALS, CELLS, workspace_ids=ws, segment=Segment(), fx=fx)
    sql = str(grouped[0].statement)
    assert all(f"deals_src{i}" in sql for i in range(3))
    got = await _as_per_row(session, grouped, ws, fx)
    # Ten open at the end of February as before, plus the eight closed at or after it.
    assert got[("deals_open", FEB)] == 10 + 8
    assert got[("deals_open", MAR)] > 0  # and equal to the per-row count (_as_per_row)

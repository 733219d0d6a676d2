"""SQL shapes by access path (issue #19): the numbers of each shape, at its edges, and that
the shape is the one taken.

- "open at t": still-open deals plus deals closed at or after t (sources.open_deals);
- a series' buckets as a range aggregate each, an activity done in the bucket of its done
  time even when that is a held meeting's start (measures.RANGE_PARTS);
- a period's figure read from another request's series when it is one of its buckets.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from core.metrics import Comparison, Granularity, KpiRequest, PeriodSpec, rollups
from core.metrics.compiler import access_paths
from core.metrics.measures import MEASURES, Measure
from core.metrics.types import Agg, Entity, Frame
from tests.core.metrics.factory import Seed, utc
from tests.core.metrics.test_sql_snapshots import _statements

MARCH = PeriodSpec(start=date(2026, 3, 1), end=date(2026, 4, 1))
SPRING = PeriodSpec(start=date(2026, 2, 1), end=date(2026, 5, 1))
NOW = utc(2026, 6, 1)
BY_NAME = {m.name: m for m in MEASURES}


def _frame(month: int) -> Frame:
    return Frame(
        date(2026, month, 1), date(2026, month + 1, 1), "UTC", utc(2026, month, 1),
        utc(2026, month + 1, 1), NOW,
    )  # fmt: skip


def test_deal_cells_split_by_access_path_unless_one_needs_every_deal() -> None:
    cells = [
        (BY_NAME[name], _frame(month))
        for name in ("deals_won", "deals_created", "deals_open", "weighted_pipeline_amount")
        for month in (2, 3)
    ]
    paths = dict(access_paths(Entity.DEALS, cells))
    assert sorted(paths) == ["closed_at", "open", "remote_created_at"]
    assert {m.name for m, _ in paths["open"]} == {"deals_open", "weighted_pipeline_amount"}
    # A cell without a range (say, a user-defined count of priced deals) needs a pass over
    # every deal, a statement of its own: the others keep their paths.
    priced = Measure("priced_deals", Entity.DEALS, Agg.COUNT, lambda c, f: c.amount > 0)
    scan = dict(access_paths(Entity.DEALS, [*cells, (priced, _frame(3))]))
    assert sorted(scan) == ["closed_at", "open", "remote_created_at", "scan"]
    assert scan["scan"] == [(priced, _frame(3))]
    other = [(BY_NAME["cycle_days"], _frame(3)), (BY_NAME["deals_open_any"], _frame(3))]
    assert [p for p, _ in access_paths(Entity.DEALS, other)] == ["closed_at", "open"]
    activities = [(BY_NAME["activities_done"], _frame(3))]
    assert [p for p, _ in access_paths(Entity.ACTIVITIES, activities)] == ["scan"]


async def test_open_at_t_counts_still_open_and_closed_at_or_after_t(
    engine: AsyncEngine, session: AsyncSession
) -> None:
    seed = await Seed.create(session)
    end = utc(2026, 4, 1)
    await seed.deal(remote_id="open", status="OPEN", amount=100, remote_created_at=utc(2026, 1, 5))
    await seed.deal(
        remote_id="at-t", status="WON", amount=20, remote_created_at=utc(2026, 1, 5), closed_at=end
    )
    await seed.deal(
        remote_id="after", status="LOST", amount=3, remote_created_at=utc(2026, 2, 5),
        closed_at=utc(2026, 5, 2),
    )  # fmt: skip
    # Closed just before t, and long before: not open at t; open at some instant of March.
    await seed.deal(
        remote_id="before", status="WON", amount=4000, remote_created_at=utc(2026, 1, 5),
        closed_at=utc(2026, 3, 31, 23, 59),
    )  # fmt: skip
    await seed.deal(
        remote_id="old", status="LOST", amount=50000, remote_created_at=utc(2025, 1, 5),
        closed_at=utc(2025, 6, 1),
    )  # fmt: skip
    # Created after t: not open at t.
    await seed.deal(remote_id="new", status="OPEN", amount=600000, remote_created_at=end)
    with _statements(engine) as statements:
        open_deals, pipeline, close_rate = await seed.run(
            KpiRequest("openDeals", MARCH, compare_to=Comparison.PREVIOUS_PERIOD),
            KpiRequest("pipelineValue", MARCH),
            KpiRequest("closeRate", MARCH),
            now=NOW,
        )
    assert open_deals.value == 3
    assert pipeline.value == pytest.approx(123)
    # Open at some instant of March: the three open at its end and the one closed in it.
    assert close_rate.denominator == 4
    # At the end of February the same three were open, and so was "before".
    assert open_deals.comparison is not None and open_deals.comparison.value == 4
    # The open cells read the still-open deals and a range of closed ones, not every deal.
    (open_sql,) = [s for s, _ in statements if "UNION ALL" in s]
    assert "deals.closed_at >=" in open_sql


async def test_a_series_counts_a_held_meeting_in_the_bucket_of_its_start(
    engine: AsyncEngine, session: AsyncSession
) -> None:
    seed = await Seed.create(session)
    # Held 31 March (its start), marked done 2 April: a March activity.
    await seed.activity(
        remote_id="m1", type="MEETING", due_at=utc(2026, 3, 31, 22), done_at=utc(2026, 4, 2)
    )
    # Held 28 February, marked done in March: February.
    await seed.activity(
        remote_id="m2", type="MEETING", due_at=utc(2026, 2, 28, 9), done_at=utc(2026, 3, 1, 9)
    )
    # Scheduled for April, marked done in March (held early): March.
    await seed.activity(
        remote_id="m3", type="MEETING", due_at=utc(2026, 4, 20), done_at=utc(2026, 3, 30)
    )
    await seed.activity(
        remote_id="c1", type="CALL", due_at=utc(2026, 2, 1), done_at=utc(2026, 3, 2)
    )
    await seed.activity(remote_id="c2", type="CALL", done_at=utc(2026, 4, 30, 23, 59))
    await seed.activity(
        remote_id="t1", type="TASK", due_at=utc(2026, 3, 1), done_at=utc(2026, 4, 1)
    )
    requests = (
        KpiRequest("activities", SPRING, granularity=Granularity.MONTH),
        KpiRequest("activities", MARCH),
    )
    with _statements(engine) as statements, rollups.from_base_tables():
        series, march = await seed.run(*requests, now=NOW)
    assert series.series is not None
    assert [p.value for p in series.series] == [1, 3, 2]
    assert series.value == 6
    # March's figure is the series' March bucket: no statement of its own.
    assert march.value == 3
    activity_statements = [s for s, _ in statements if "activities" in s and "count(" in s]
    assert len(activity_statements) == 1
    # The daily rollup gives the same buckets, in one statement of its own.
    with _statements(engine) as rolled_statements:
        rolled, rolled_march = await seed.run(*requests, now=NOW)
    assert rolled.series is not None
    assert [p.value for p in rolled.series] == [1, 3, 2]
    assert (rolled.value, rolled_march.value) == (6, 3)
    read = [s for s, _ in rolled_statements if "FROM activity_days" in s]
    assert len(read) == 1 and not [s for s, _ in rolled_statements if "activities_src" in s]
    # Each bucket's rows joined by a range of the stored done time, and the held meetings'
    # by a range of their start: no grouping by a computed bucket index.
    (sql,) = activity_statements
    assert "activities_src.marked_done_at >= buckets.s" in sql
    assert "activities_src.due_at >= buckets.s" in sql
    assert "GROUP BY buckets.i" in sql and "CASE" not in sql.split("FROM", 1)[0]

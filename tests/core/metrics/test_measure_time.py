"""A measure declares its time column once (``time=``): the frame's range on it is added to
every frame's condition, and the declared condition never reads that range."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from core.imports import IMPORT_KINDS, import_csv
from core.metrics import Granularity, KpiRequest, KpiResult, PeriodSpec
from core.metrics.compiler import compile_cells
from core.metrics.customers import CUSTOMER_MEASURES
from core.metrics.marketing import MARKETING_MEASURES
from core.metrics.measures import INDEX_RANGES, MEASURES, Measure
from core.metrics.segments import Segment
from core.metrics.sources import source
from core.metrics.types import Agg, Entity, Frame
from tests.core.metrics.factory import Seed, utc

ALL = MEASURES + CUSTOMER_MEASURES + MARKETING_MEASURES
TIMED = [m for m in ALL if m.time is not None]
AS_OF = datetime(2026, 1, 1, tzinfo=UTC)


def _frame(month: int) -> Frame:
    start = datetime(2025, month, 1, tzinfo=UTC)
    end = datetime(2025, month + 1, 1, tzinfo=UTC)
    return Frame(date(2025, month, 1), date(2025, month + 1, 1), "UTC", start, end, AS_OF)


def _sql(expression: object) -> str:
    compiled = expression.compile(  # type: ignore[attr-defined]
        dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
    )
    return " ".join(str(compiled).split())


def test_flow_measures_declare_their_time() -> None:
    times = {m.name: m.time for m in TIMED}
    assert times["deals_won"] == times["won_amount"] == times["cycle_days"] == "closed_at"
    assert times["deals_created"] == times["meetings_accepted"] == "remote_created_at"
    assert times["mqls_converted"] == "mql_at" and times["activities_done"] == "done_at"
    assert times["expansion_amount"] == "closed_at" and times["nps_points"] == "responded_at"
    # The others are stocks (open at an instant), local-day measures (customers, spend,
    # visitors) or placed by a computed time (responses: done, else created).
    untimed = {m.name for m in ALL if m.time is None}
    assert {"deals_open", "mrr_amount", "spend", "customers_new", "responses"} <= untimed
    assert len(TIMED) == 36


@pytest.mark.parametrize("measure", TIMED, ids=lambda m: m.name)
def test_the_range_is_added_on_the_time_column_and_nowhere_else(measure: Measure) -> None:
    c = source(measure.entity, ["ws"]).c
    september, october = _frame(9), _frame(10)
    where = _sql(measure.where(c, september))
    assert f".{measure.time} >= '2025-09-01 00:00:00+00:00'" in where
    assert f".{measure.time} < '2025-10-01 00:00:00+00:00'" in where
    # Two frames of one as-of differ only by the range: the declared condition is the same
    # (save a bound the range implies on another stored column, see INDEX_RANGES).
    condition = measure.condition
    if measure.name in INDEX_RANGES:
        column = INDEX_RANGES[measure.name][0]
        assert f"{column} >= '2025-09-01" in _sql(condition(c, september))
        return
    assert _sql(condition(c, september)) == _sql(condition(c, october))
    assert "2025-09" not in _sql(condition(c, september))


def test_measures_of_one_condition_and_time_share_one_row_flag() -> None:
    by_name = {m.name: m for m in MEASURES}
    frame = _frame(9)
    cells = [(by_name["cycle_days"], frame), (by_name["cycle_deals"], frame)]
    compiled = compile_cells(Entity.DEALS, cells, workspace_ids=["ws"], segment=Segment())
    sql = str(compiled.statement.compile(dialect=postgresql.dialect()))
    assert " AS w0" in sql and " AS w1" not in sql
    # The same declared condition on another time column is another flag.
    closed = Measure("closed", Entity.DEALS, Agg.COUNT, _status_won, time="closed_at")
    created = Measure("created", Entity.DEALS, Agg.COUNT, _status_won, time="remote_created_at")
    cells = [(closed, frame), (created, frame), (by_name["deals_won"], frame)]
    compiled = compile_cells(Entity.DEALS, cells, workspace_ids=["ws"], segment=Segment())
    sql = str(compiled.statement.compile(dialect=postgresql.dialect()))
    assert " AS w1" in sql and " AS w2" in sql and " AS w3" not in sql


def _status_won(c: Any, f: Frame) -> Any:
    return c.status == "WON"


async def test_series_of_newly_timed_measures_equal_their_months_asked_alone(
    session: AsyncSession,
) -> None:
    """Survey and customer-value measures declare their time too, so their series read bucket
    ranges of it: each month equals the KPI asked for that month alone, and the whole
    series' value (a distinct count is not added up from buckets) equals the period's."""
    seed = await Seed.create(session)
    lines = [f"n{i},NPS,2026-0{2 + i % 3}-{1 + i % 27:02d},{i % 11}" for i in range(30)]
    lines += [f"c{i},CSAT,2026-0{2 + i % 3}-{1 + i % 27:02d},{1 + i % 5}" for i in range(20)]
    csv = "id,kind,responded_at,score\n" + "\n".join(lines) + "\n"
    await import_csv(session, IMPORT_KINDS["surveys"], seed.workspace.id, csv)
    for i in range(9):
        await seed.deal(
            status="WON",
            amount=100 + i,
            closed_at=utc(2026, 2 + i % 3, 3 + i),
            account_remote_id=f"a{i % 4}",
        )
    now = utc(2026, 6, 1)
    kpis = ("nps", "csat", "averageCustomerValue")
    months = [PeriodSpec(start=date(2026, m, 1), end=date(2026, m + 1, 1)) for m in (2, 3, 4)]
    whole = PeriodSpec(start=date(2026, 2, 1), end=date(2026, 5, 1))
    series = await seed.run(
        *(KpiRequest(k, period=whole, granularity=Granularity.MONTH) for k in kpis), now=now
    )
    alone = await seed.run(
        *(KpiRequest(k, period=p) for k in kpis for p in [whole, *months]), now=now
    )
    for i, result in enumerate(series):
        assert isinstance(result, KpiResult)
        expected = alone[i * 4 : i * 4 + 4]
        assert result.value == pytest.approx(expected[0].value), result.name
        values = [p.value for p in result.series]
        assert None not in values, result.name
        assert values == pytest.approx([e.value for e in expected[1:]]), result.name

"""The compiler's hull range: one range for cells that bound the same column, else none."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.dialects import postgresql

from core.metrics.compiler import compile_cells, hull
from core.metrics.customers import CUSTOMER_MEASURES, stretch_range
from core.metrics.measures import MEASURES
from core.metrics.segments import Segment
from core.metrics.sources import source
from core.metrics.types import Entity, Frame

BY_NAME = {m.name: m for m in (*MEASURES, *CUSTOMER_MEASURES)}


def _frame(month: int) -> Frame:
    start = datetime(2025, month, 1, tzinfo=UTC)
    end = datetime(2025, month + 1, 1, tzinfo=UTC)
    return Frame(date(2025, month, 1), date(2025, month + 1, 1), "UTC", start, end, end)


def test_activities_of_two_periods_share_one_lower_bound() -> None:
    c = source(Entity.ACTIVITIES, ["ws"]).c
    cells = [(BY_NAME["activities_done"], _frame(9)), (BY_NAME["activities_done"], _frame(10))]
    span = hull(c, cells)
    assert span is not None
    sql = str(span.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    # The stored done time from the earlier frame's start, no upper bound (a held meeting is
    # done at its start, before its stored done time).
    assert sql == "activities_src.marked_done_at >= '2025-09-01 00:00:00+00:00'"


def test_closed_deals_get_both_bounds_and_mixed_cells_none() -> None:
    c = source(Entity.DEALS, ["ws"]).c
    won = [(BY_NAME["deals_won"], _frame(9)), (BY_NAME["deals_lost"], _frame(10))]
    span = hull(c, won)
    assert span is not None
    sql = str(span.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    assert "deals_src.closed_at >= '2025-09-01" in sql
    assert "deals_src.closed_at < '2025-11-01" in sql
    # An "open at t" cell has no range: the statement keeps its ORed conditions alone.
    assert hull(c, [*won, (BY_NAME["deals_open"], _frame(10))]) is None
    # Cells on another column (creation) neither.
    assert hull(c, [*won, (BY_NAME["deals_created"], _frame(10))]) is None
    # One frame: nothing to merge.
    assert hull(c, [(BY_NAME["deals_won"], _frame(9))]) is None


def test_the_hull_is_in_the_compiled_where() -> None:
    cells = [(BY_NAME["activities_done"], _frame(9)), (BY_NAME["activities_done"], _frame(10))]
    compiled = compile_cells(Entity.ACTIVITIES, cells, workspace_ids=["ws"], segment=Segment())
    # The rows' WHERE (the last one: the cells' conditions are also computed as columns).
    where = str(compiled.statement).rsplit("WHERE", 1)[-1]
    assert where.count("marked_done_at >=") == 3  # the hull and each cell's own bound


def test_row_sets_are_built_once_per_entity_and_workspaces() -> None:
    # A dashboard's statements select from the same row sets; building one proxies every
    # column of its table, so they are kept (sources.source, deal_sources.open_deals).
    from core.metrics.deal_sources import open_deals

    deals = source(Entity.DEALS, ["ws1", "ws2"])
    assert source(Entity.DEALS, ("ws1", "ws2")) is deals
    assert source(Entity.DEALS, ["ws1"]) is not deals
    assert source(Entity.ACTIVITIES, ["ws1", "ws2"]) is not deals
    since = datetime(2025, 9, 1, tzinfo=UTC)
    assert open_deals(["ws1"], since) is open_deals(("ws1",), since)
    assert open_deals(["ws1"], since) is not open_deals(["ws1"], datetime(2025, 10, 1, tzinfo=UTC))


def _where(compiled: Any) -> str:
    sql = str(
        compiled.statement.compile(
            dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
        )
    )
    return sql.rsplit("WHERE", 1)[-1]


def test_churn_and_retention_read_one_range_of_stretch_ends() -> None:
    churn = ("customers_lost", "customers_active_start", "customers_retained")
    cells = [(BY_NAME[n], _frame(m)) for n in churn for m in (9, 10)]
    compiled = compile_cells(Entity.CUSTOMERS, cells, workspace_ids=["ws"], segment=Segment())
    where = _where(compiled)
    # Every such stretch ends after the day before the earlier frame (2025-08-31, day
    # 20331): that range alone, not the cells' conditions ORed (each is a per-row flag).
    assert "customers_src.end_day > 20331" in where
    assert " OR " not in where
    # A cell without a bound on the end (new customers) keeps the ORed conditions.
    new = [*cells, (BY_NAME["customers_new"], _frame(10))]
    assert stretch_range(source(Entity.CUSTOMERS, ["ws"]).c, new) is None
    assert "end_day > 20331" not in _where(
        compile_cells(Entity.CUSTOMERS, new, workspace_ids=["ws"], segment=Segment())
    )


def test_customer_stretches_from_base_tables_are_a_row_set_of_their_own() -> None:
    # Kept apart from the maintained table's row set: else a comparison of the two
    # (stretches.from_base_tables) read the maintained table twice.
    from core.metrics.stretches import from_base_tables

    maintained = source(Entity.CUSTOMERS, ["ws"])
    with from_base_tables():
        computed = source(Entity.CUSTOMERS, ["ws"])
    assert computed is not maintained
    assert "won_deals" in str(computed.compile(dialect=postgresql.dialect()))
    assert source(Entity.CUSTOMERS, ["ws"]) is maintained

"""The metric SQL of totals and breakdowns: (measure, frame) cells -> statements per entity.

Every cell becomes a conditional aggregate (``COUNT(*) FILTER (WHERE ...)``,
``SUM(x) FILTER (WHERE ...)``), so the KPIs of a request and its comparison period share a
statement. Cells are split by how the database best reaches their rows
(:func:`access_paths`): deals open at an instant read still-open deals plus a range of
closed ones, aggregated by plain columns first when their cells allow (core.metrics.open_sql);
flows read one hull range of their time column. Frame bounds are bound parameters holding
UTC instants computed in Python. A breakdown is the same statement grouped by the
dimension's key and label; a series' buckets are core.metrics.series_sql's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import CompoundSelect, Select, and_, func, or_, select
from sqlalchemy.sql import ColumnElement, FromClause

from core.metrics.currency_sql import compile_per_currency, per_currency
from core.metrics.customers import stretch_range
from core.metrics.dimensions import DimensionRef, grouping
from core.metrics.fx import FxTable
from core.metrics.measures import Measure, index_range, open_since
from core.metrics.open_sql import compile_history_change, compile_open_grouped, groupable
from core.metrics.segments import Segment
from core.metrics.sources import open_deals, source, with_stage_probability
from core.metrics.types import Agg, Entity, Frame, FxDate

#: Cell name and frame each result column stands for, in column order.
Labels = list[tuple[str, Frame]]

_FX_COLUMN = "fx_close"


@dataclass(frozen=True)
class Compiled:
    statement: Select[Any] | CompoundSelect[Any]
    labels: Labels
    #: Number of leading group columns (key, label) before the aggregates.
    group_columns: int
    #: Its values are added to those of the statement before it in the batch, not set:
    #: what the stage history changes in the weighted pipeline (core.metrics.open_sql).
    adds: bool = False
    #: Rows per currency, converted in Python (core.metrics.currency_sql.convert_rows).
    per_currency: bool = False
    #: Reads the daily rollups (core.metrics.rollup_sql): a few rows per day, however many
    #: records they sum.
    rolled: bool = False


def _with_fx(src: FromClause, fx: FxTable) -> FromClause:
    """``src`` plus the factor of each deal at its close date, computed once per row."""
    return select(src, fx.at_instant(src.c.currency, src.c.closed_at).label(_FX_COLUMN)).subquery(
        "deals_fx"
    )


def measure_source(
    entity: Entity,
    measures: Sequence[Measure],
    workspace_ids: Sequence[str],
    fx: FxTable | None,
    closed_since: datetime | None = None,
    instants: Sequence[datetime] = (),
) -> FromClause:
    """``entity``'s rows, plus what ``measures`` need joined: stage probabilities (now, and
    at each of ``instants``: the ends of their frames), the close-date FX factor. With
    ``closed_since`` (deals only), just the deals that may be open at or after that instant
    (sources.open_deals)."""
    src = (
        source(entity, workspace_ids)
        if closed_since is None
        else open_deals(workspace_ids, closed_since)
    )
    if any(m.stage_probability for m in measures):
        src = with_stage_probability(src, workspace_ids, instants)
    if any(m.fx is FxDate.CLOSE for m in measures):
        if fx is None:
            raise ValueError("money measures need an FX table")
        src = _with_fx(src, fx)
    return src


def money_factor(measure: Measure, frame: Frame, c: Any, fx: FxTable | None) -> ColumnElement[Any]:
    """The factor converting a row of a MONEY measure to the reporting currency (NULL: no
    rate); ``c`` are the columns of :func:`measure_source`."""
    if fx is None:
        raise ValueError(f"money measure {measure.name} needs an FX table")
    if measure.fx is FxDate.CLOSE:
        factor: ColumnElement[Any] = c[_FX_COLUMN]
        return factor
    if measure.fx is FxDate.DAY:
        return fx.by_day(c.currency, c.day)
    return fx.on_day(c.currency, frame.last_day)


def aggregates(
    measure: Measure,
    frame: Frame,
    c: Any,
    fx: FxTable | None,
    where: ColumnElement[bool] | None = None,
    *,
    filtered: bool = True,
) -> list[tuple[str, ColumnElement[Any]]]:
    """The aggregates of one cell; ``where``, when given, is its condition already computed
    (a column of :func:`_flagged`). ``filtered=False``: the statement's WHERE already is the
    cell's condition (:func:`one_condition`), so the aggregates need no FILTER evaluating
    it again on every row."""
    if where is None and filtered:
        where = measure.where(c, frame)

    def only(aggregate: Any, *more: ColumnElement[bool]) -> ColumnElement[Any]:
        conditions = [w for w in (where, *more) if w is not None]
        if not conditions:
            result: ColumnElement[Any] = aggregate
            return result
        filtered_aggregate: ColumnElement[Any] = aggregate.filter(and_(*conditions))
        return filtered_aggregate

    if measure.agg is Agg.COUNT:
        return [(measure.name, only(func.count()))]
    assert measure.value is not None
    value = measure.value(c, frame)
    if measure.agg is Agg.SUM:
        return [(measure.name, only(func.sum(value)))]
    if measure.agg is Agg.COUNT_DISTINCT:
        return [(measure.name, only(func.count(value.distinct())))]
    factor = money_factor(measure, frame, c, fx)
    # Money values are amounts of the row's currency: a row is convertible when its amount
    # is set and its currency has a rate (checked on the amount, not the value, so costly
    # values such as the weighted amount are computed once per row).
    present = c.amount.is_not(None)
    return [
        (measure.name, only(func.sum(value * factor))),
        (f"{measure.name}.missing", only(func.count(), present, factor.is_(None))),
        (f"{measure.name}.converted", only(func.count(), present, factor.is_not(None))),
    ]


def one_condition(measures: Sequence[Measure]) -> bool:
    """Whether the measures share one row condition (the same function, over the same
    frame): a statement whose WHERE is that condition needs no FILTER on its aggregates."""
    return len({id(m.where) for m in measures}) == 1


def hull(c: Any, cells: Sequence[tuple[Measure, Frame]]) -> ColumnElement[bool] | None:
    """One range covering every cell's, when all cells bound the same column (see
    measures.index_range) over more than one frame, else None.

    Implied by the cells' ORed conditions, so adding it changes no row set; it lets the
    database read one index range instead of a bitmap of ORed ranges (activities of two
    periods at 100k deals: a BitmapOr and heap scan of both ranges -> one index-only range).
    """
    ranges = {index_range(m) for m, _ in cells}
    if len(ranges) != 1 or None in ranges or len({f for _, f in cells}) < 2:
        return None
    ((column, upper),) = ranges  # type: ignore[misc]
    if column not in c:
        return None
    low = c[column] >= min(f.start for _, f in cells)
    return and_(low, c[column] < max(f.end for _, f in cells)) if upper else low


Cells = Sequence[tuple[Measure, Frame]]


def access_paths(entity: Entity, cells: Cells) -> list[tuple[str, list[tuple[Measure, Frame]]]]:
    """The cells split by how the database best reaches their rows, in order of first cell.

    Deals only (their table is the large one, and its indexes serve each path): cells of
    deals open at an instant (measures.OPEN_SINCE) read the still-open deals plus a range of
    closed ones; flows read a range of their time column (one hull range per column). A
    statement per path, run at once (core.metrics.fetch), reads far fewer rows than one
    pass over every deal of the workspace, which is what the cells together would need.
    Cells with no such path (user-defined measures) share one such pass of their own
    ("scan"), which the others are spared; money at the frame's last day read by such a pass
    (recurring revenue) is summed per currency ("currency", core.metrics.currency_sql).
    """
    if entity is not Entity.DEALS:
        return [("scan", list(cells))]
    paths: dict[str, list[tuple[Measure, Frame]]] = {}
    for measure, frame in cells:
        bound = index_range(measure)
        if open_since(measure) is not None:
            path = "open"
        elif per_currency(measure):
            path = "currency"
        elif bound is not None:
            path = bound[0]
        else:
            path = "scan"
        paths.setdefault(path, []).append((measure, frame))
    return list(paths.items())


def compile_by_path(
    entity: Entity,
    cells: Cells,
    *,
    workspace_ids: Sequence[str],
    segment: Segment,
    fx: FxTable | None = None,
    breakdown: DimensionRef | None = None,
) -> list[Compiled]:
    """:func:`compile_cells` once per access path of the cells (see :func:`access_paths`)."""
    out = []
    for path, part in access_paths(entity, cells):
        since = None
        if path == "open":
            since = min(bound(f) for m, f in part if (bound := open_since(m)) is not None)
            if breakdown is None and groupable(part):
                out += _open_grouped(part, workspace_ids, segment, fx, since)
                continue
        if path == "currency" and breakdown is None:
            statement, labels = compile_per_currency(
                part, workspace_ids=workspace_ids, segment=segment
            )
            out.append(Compiled(statement, labels, 1, per_currency=True))
            continue
        out.append(
            compile_cells(
                entity,
                part,
                workspace_ids=workspace_ids,
                segment=segment,
                fx=fx,
                breakdown=breakdown,
                closed_since=since,
            )
        )
    return out


def _open_grouped(
    cells: Cells,
    workspace_ids: Sequence[str],
    segment: Segment,
    fx: FxTable | None,
    since: datetime,
) -> list[Compiled]:
    """Deals open at an instant aggregated by plain columns, then (added to it) what the
    stage history changes (core.metrics.open_sql)."""
    statement, labels = compile_open_grouped(
        cells,
        workspace_ids=workspace_ids,
        segment=segment,
        fx=fx,
        closed_since=since,
        factor=money_factor,
    )
    out = [Compiled(statement, labels, 0)]
    change = compile_history_change(
        cells, workspace_ids=workspace_ids, segment=segment, fx=fx, factor=money_factor
    )
    if change is not None:
        out.append(Compiled(change[0], change[1], 0, adds=True))
    return out


def compile_cells(
    entity: Entity,
    cells: Cells,
    *,
    workspace_ids: Sequence[str],
    segment: Segment,
    fx: FxTable | None = None,
    breakdown: DimensionRef | None = None,
    closed_since: datetime | None = None,
) -> Compiled:
    """One statement computing every cell of ``entity``, optionally grouped by a dimension
    (``breakdown``); a series' buckets are core.metrics.series_sql's."""
    instants = [f.end for m, f in cells if m.stage_probability]
    src = measure_source(entity, [m for m, _ in cells], workspace_ids, fx, closed_since, instants)
    c = src.c
    columns: list[ColumnElement[Any]] = []
    labels: Labels = []
    conditions = [measure.where(c, frame) for measure, frame in cells]
    where = or_(*conditions)
    span = hull(c, cells)
    if span is not None:
        where = and_(span, where)
    if breakdown is None:
        # Rows outside every cell add nothing to any aggregate (each has its FILTER): the
        # WHERE only lets the database skip them, by index where the cells' ranges allow.
        # Customer stretches: one range holding every cell's rows instead (customers.py).
        bounded = stretch_range(c, cells) if entity is Entity.CUSTOMERS else None
        if bounded is not None:
            where = bounded
        rows, flags = _flagged(src, cells, conditions, [segment.clause(src), where])
        for (measure, frame), flag in zip(cells, flags, strict=True):
            for name, expression in aggregates(measure, frame, rows.c, fx, flag):
                columns.append(expression.label(f"c{len(labels)}"))
                labels.append((name, frame))
        return Compiled(select(*columns).select_from(rows), labels, 0)
    # One condition (one frame; cells of one measure or of measures sharing it) is the WHERE.
    filtered = not (len({f for _, f in cells}) == 1 and one_condition([m for m, _ in cells]))
    for measure, frame in cells:
        for name, expression in aggregates(measure, frame, c, fx, filtered=filtered):
            columns.append(expression.label(f"c{len(labels)}"))
            labels.append((name, frame))
    group = grouping(src, breakdown)
    key, label = group.key.label("group_key"), group.label.label("group_label")
    # Only groups with at least one row in some cell: an owner with no deal in the period is
    # not a group of this period's breakdown.
    statement = (
        select(key, label, *columns)
        .select_from(group.from_clause)
        .where(segment.clause(src), where)
        .group_by(group.key, group.label)
    )
    return Compiled(statement, labels, 2)


def _flagged(
    src: FromClause,
    cells: Cells,
    conditions: Sequence[ColumnElement[bool]],
    filters: Sequence[ColumnElement[bool]],
) -> tuple[FromClause, list[ColumnElement[bool]]]:
    """``src``'s rows passing ``filters``, each distinct cell condition computed once per row
    as a column (``w0``, ``w1``, ...), and the column of each cell's condition.

    Cells of one condition are many: a money cell's sum and its two row counts, and the
    pipeline, weighted pipeline and open deals at the same instant. Evaluated in every
    aggregate's FILTER, the deals open at t statement spent most of its time re-evaluating
    the same conditions (16 aggregates, 4 distinct conditions). ``OFFSET 0`` keeps the
    subquery from being merged into the aggregate (PostgreSQL and SQLite alike), so each
    condition is computed once per row.
    """
    index: dict[tuple[int, str | None, Frame], int] = {}
    distinct: list[ColumnElement[bool]] = []
    of_cell = []
    for (measure, frame), condition in zip(cells, conditions, strict=True):
        # Measures share a condition when they share the declared one and its time column
        # (won count and won amount: the won deals closed in the frame).
        key = (id(measure.condition), measure.time, frame)
        if key not in index:
            index[key] = len(distinct)
            distinct.append(condition)
        of_cell.append(index[key])
    flags = [condition.label(f"w{i}") for i, condition in enumerate(distinct)]
    rows = select(*src.c, *flags).where(*filters).offset(0).subquery("cell_rows")
    return rows, [rows.c[f"w{i}"] for i in of_cell]


def compile_order_statistic(
    measure: Measure,
    frame: Frame,
    offset: int,
    *,
    workspace_ids: Sequence[str],
    segment: Segment,
) -> Select[Any]:
    """The ``offset``-th and next smallest per-row values of a SUM measure in a frame.

    MEDIAN and P90 interpolate between these two values; only two values leave the database.
    """
    assert measure.value is not None
    src = measure_source(measure.entity, [measure], workspace_ids, None, instants=[frame.end])
    value = measure.value(src.c, frame).label("v")
    return (
        select(value)
        .select_from(src)
        .where(segment.clause(src), measure.where(src.c, frame))
        .order_by(value)
        .limit(2)
        .offset(offset)
    )

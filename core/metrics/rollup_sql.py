"""The statements answering flow KPIs from the daily rollups (``deal_days``,
``activity_days``): which rollup kind and columns each rolled measure reads
(:data:`ROLLED`), and its cells, breakdowns and series over rollup rows.

The statements are those of the base tables with rollup rows for records: a count is the sum
of the rows' counts, a sum the sum of their sums, a money sum each row's sum converted at
the rate of its day and currency (a deal's local close day: the rollup's day). Breakdown
groups and series buckets come out as from the base tables (core.metrics.jobs reads them
alike). A request without a segment or breakdown on owner, pipeline, stage or deal type
reads the coarse kinds (``<kind>/all``), a few rows per day. Which cells these statements
answer is core.metrics.rollups' choice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.sql import ColumnElement, FromClause

from core.metrics.compiler import Compiled, Labels
from core.metrics.dimensions import REQUIRED_COLUMN, Dimension, DimensionRef, grouping
from core.metrics.fx import FxTable
from core.metrics.jobs import Cells
from core.metrics.measures import DAY, MEASURES, Measure
from core.metrics.rollup_rules import day_number
from core.metrics.segments import Segment
from core.metrics.series_totals import whole_span
from core.metrics.types import Agg, Entity, Frame
from core.models import ActivityDay, DealDay
from core.models.enums import ActivityType, DealStatus

Cols = Any


@dataclass(frozen=True)
class Rolled:
    """How a measure reads a rollup: the ``kind`` (time column) its frame ranges over, a
    condition on the rollup's dimensions, ``rows`` (the count column of the rows meeting the
    measure's condition: its COUNT, and a row is in the measure only when it is positive),
    ``value`` (SUM and MONEY: the row's sum of the values) and ``present`` (MONEY: the count
    of rows with an amount, which the missing-rate counts add up)."""

    kind: str
    rows: str
    where: Callable[[Cols], ColumnElement[bool]] | None = None
    value: Callable[[Cols], ColumnElement[Any]] | None = None
    present: str | None = None


def _won(c: Cols) -> ColumnElement[bool]:
    return c.status == DealStatus.WON  # type: ignore[no-any-return]


def _meeting(c: Cols) -> ColumnElement[bool]:
    return c.type == ActivityType.MEETING  # type: ignore[no-any-return]


#: The measures each rollup answers, by name (their conditions as in core.metrics.measures).
DEALS_ROLLED: dict[str, Rolled] = {
    "deals_created": Rolled("created", "deals"),
    "deals_won": Rolled("closed", "deals", _won),
    "deals_lost": Rolled("closed", "deals", lambda c: c.status == DealStatus.LOST),
    "deals_closed": Rolled(
        "closed", "deals", lambda c: c.status.in_([DealStatus.WON, DealStatus.LOST])
    ),
    "won_amount": Rolled("closed", "deals", _won, lambda c: c.amount, "amount_n"),
    "cycle_days": Rolled("closed", "cycle_n", _won, lambda c: c.cycle_seconds / DAY),
    "cycle_deals": Rolled("closed", "cycle_n", _won),
    "margin_amount": Rolled("closed", "margin_n", _won, lambda c: c.margin, "margin_n"),
    "margin_revenue": Rolled("closed", "margin_n", _won, lambda c: c.margin_revenue, "margin_n"),
}
ACTIVITIES_ROLLED: dict[str, Rolled] = {
    "activities_done": Rolled("done", "activities"),
    "meetings": Rolled("created", "activities", _meeting),
    "meetings_accepted": Rolled("created", "accepted", _meeting),
    "responses": Rolled("response", "activities"),
    "responses_positive": Rolled("response", "positive"),
}
ROLLED: dict[Entity, tuple[Any, dict[str, Rolled]]] = {
    Entity.DEALS: (DealDay, DEALS_ROLLED),
    Entity.ACTIVITIES: (ActivityDay, ACTIVITIES_ROLLED),
}
#: Every count column: a row is in the rollup only when it sums at least one record.
_ALWAYS = ("deals", "activities")
_BUILTIN = {m.name: m for m in MEASURES}


def rolled(measure: Measure) -> Rolled | None:
    """How a rollup answers ``measure`` (None: it does not). Only the built-in measure of
    the name: a user-defined measure may read anything."""
    entry = ROLLED.get(measure.entity)
    if entry is None or _BUILTIN.get(measure.name) is not measure:
        return None
    return entry[1].get(measure.name)


#: Dimensions a coarse kind's rows still tell apart (core.metrics.rollup_rules: besides
#: those the measures' conditions read, which every kind keeps).
COARSE_COLUMNS = frozenset({"workspace_id", "connection_id"})


def _kind(spec: Rolled, coarse: bool) -> str:
    return f"{spec.kind}/all" if coarse else spec.kind


def _condition(
    spec: Rolled, c: Cols, start: Any, end: Any, coarse: bool = False
) -> ColumnElement[bool]:
    parts = [c.kind == _kind(spec, coarse), c.day >= start, c.day < end]
    if spec.where is not None:
        parts.append(spec.where(c))
    if spec.rows not in _ALWAYS:
        parts.append(c[spec.rows] > 0)
    return and_(*parts)


def _aggregates(
    measure: Measure, spec: Rolled, c: Cols, where: ColumnElement[bool]
) -> list[tuple[str, ColumnElement[Any]]]:
    """The aggregates of one cell over rollup rows, labelled as core.metrics.compiler's."""
    if measure.agg is Agg.COUNT:
        return [(measure.name, func.coalesce(func.sum(c[spec.rows]).filter(where), 0))]
    assert spec.value is not None
    value = spec.value(c)
    if measure.agg is Agg.SUM:
        return [(measure.name, func.sum(value).filter(where))]
    assert measure.agg is Agg.MONEY and spec.present is not None
    factor, present = c.fx_day, c[spec.present]
    return [
        (measure.name, func.sum(value * factor).filter(where)),
        (
            f"{measure.name}.missing",
            func.coalesce(func.sum(present).filter(and_(where, factor.is_(None))), 0),
        ),
        (
            f"{measure.name}.converted",
            func.coalesce(func.sum(present).filter(and_(where, factor.is_not(None))), 0),
        ),
    ]


def _source(
    entity: Entity,
    specs: Sequence[Rolled],
    money: bool,
    days: tuple[int, int],
    workspace_ids: Sequence[str],
    fx: FxTable | None,
    coarse: bool,
) -> FromClause:
    """The rollup rows of the workspaces, kinds and day range read, with each row's FX
    factor when money is summed (computed once per row)."""
    table = ROLLED[entity][0].__table__
    columns: list[Any] = [table]
    if money:
        if fx is None:
            raise ValueError("money measures need an FX table")
        columns.append(fx.by_day_number(table.c.currency, table.c.day).label("fx_day"))
    return (
        select(*columns)
        .where(
            table.c.workspace_id.in_(workspace_ids),
            table.c.kind.in_(sorted({_kind(s, coarse) for s in specs})),
            table.c.day >= days[0],
            table.c.day < days[1],
        )
        .subquery("rollup_src")
    )


def _coarse(segment: Segment, breakdown: DimensionRef | None) -> bool:
    """Whether the coarse kinds answer: no filter or grouping on a dimension they drop."""
    refs = [ref for ref, _ in segment.filters] + ([breakdown] if breakdown else [])
    return all(
        ref.dimension is not Dimension.CUSTOM and REQUIRED_COLUMN[ref.dimension] in COARSE_COLUMNS
        for ref in refs
    )


def _bounds(frame: Frame) -> tuple[int, int]:
    return day_number(frame.start_date), day_number(frame.end_date)


def compile_cells(
    entity: Entity,
    cells: Cells,
    *,
    workspace_ids: Sequence[str],
    segment: Segment,
    fx: FxTable | None = None,
    breakdown: DimensionRef | None = None,
) -> Compiled:
    """The statement of these cells over the rollup (grouped by ``breakdown`` when given);
    every cell must be answerable (:func:`take` checks)."""
    specs = [_spec(m) for m, _ in cells]
    bounds = [_bounds(f) for _, f in cells]
    money = any(m.agg is Agg.MONEY for m, _ in cells)
    days = (min(s for s, _ in bounds), max(e for _, e in bounds))
    coarse = _coarse(segment, breakdown)
    src = _source(entity, specs, money, days, workspace_ids, fx, coarse)
    columns: list[ColumnElement[Any]] = []
    labels: Labels = []
    conditions = []
    for (measure, frame), spec, (start, end) in zip(cells, specs, bounds, strict=True):
        where = _condition(spec, src.c, start, end, coarse)
        conditions.append(where)
        for name, expression in _aggregates(measure, spec, src.c, where):
            columns.append(expression.label(f"c{len(labels)}"))
            labels.append((name, frame))
    filters = (segment.clause(src), or_(*conditions))
    if breakdown is None:
        return Compiled(select(*columns).select_from(src).where(*filters), labels, 0, rolled=True)
    group = grouping(src, breakdown)
    key, label = group.key.label("group_key"), group.label.label("group_label")
    statement = (
        select(key, label, *columns)
        .select_from(group.from_clause)
        .where(*filters)
        .group_by(group.key, group.label)
    )
    return Compiled(statement, labels, 2, rolled=True)


def compile_series(
    entity: Entity,
    measures: Sequence[Measure],
    series: Sequence[Frame],
    *,
    workspace_ids: Sequence[str],
    segment: Segment,
    fx: FxTable | None = None,
) -> Compiled:
    """``measures`` over every bucket of a series of contiguous whole-day frames, as
    core.metrics.series_sql's statement gives them: rows (bucket index, aggregates), labels
    carrying the whole span. Rows are per day (a plain column), several per bucket, which
    the reader adds up."""
    whole = whole_span(series)
    assert whole is not None, "a series has at least one bucket"
    specs = [_spec(m) for m in measures]
    start, end = _bounds(whole)
    money = any(m.agg is Agg.MONEY for m in measures)
    coarse = _coarse(segment, None)
    src = _source(entity, specs, money, (start, end), workspace_ids, fx, coarse)
    c = src.c
    columns: list[ColumnElement[Any]] = []
    labels: Labels = []
    conditions = []
    for measure, spec in zip(measures, specs, strict=True):
        where = _condition(spec, c, start, end, coarse)
        conditions.append(where)
        for name, expression in _aggregates(measure, spec, c, where):
            columns.append(expression.label(f"c{len(labels)}"))
            labels.append((name, whole))
    bucket: ColumnElement[Any] = literal(0)
    if len(series) > 1:
        bucket = case(
            *[(c.day < day_number(f.start_date), i) for i, f in enumerate(series[1:])],
            else_=len(series) - 1,
        )
    statement = (
        select(bucket.label("bucket"), *columns)
        .select_from(src)
        .where(segment.clause(src), or_(*conditions))
        .group_by(c.day)
    )
    return Compiled(statement, labels, 1, rolled=True)


def _spec(measure: Measure) -> Rolled:
    spec = rolled(measure)
    if spec is None:
        raise ValueError(f"measure {measure.name} is not answered by a rollup")
    return spec


__all__ = ["ROLLED", "Rolled", "compile_cells", "compile_series", "rolled"]

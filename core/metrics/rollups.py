"""Flow KPIs answered from the daily rollups (``deal_days``, ``activity_days``) instead of
the base tables, when the answer is the same.

A rollup row sums the live rows of one local day (in the workspace's timezone), time column
(``kind``) and combination of dimensions (core.metrics.rollup_rules). A cell (measure,
frame) is answered from it when:

- the measure is one of :data:`ROLLED` (a flow measure whose condition, besides its time
  column, reads only rollup dimensions, and whose value is a sum the rollup keeps);
- the frame is whole local days of the timezone of every workspace read (its bounds are
  local midnights: a rollup day is in a frame entirely or not at all);
- the segment's filters and the breakdown's dimension read only the rollup's columns
  (owner, team, pipeline, stage, deal type, activity type, connection, workspace).

A request without a segment or breakdown on the dimensions (the dashboard's totals and
series) reads the coarse kinds (``<kind>/all``: by day, status and currency, or activity
type), a few rows per day instead of one per combination of owner, pipeline and stage.

The statements are those of the base tables with rollup rows for records: a count is the sum
of the rows' counts, a sum the sum of their sums, a money sum each row's sum converted at
the rate of its day and currency (a deal's local close day: the rollup's day). Breakdown
groups and series buckets come out as from the base tables (core.metrics.jobs reads them
alike). :func:`take` moves the cells it can answer out of a batch's jobs; the rest are
compiled from the base tables as before. Inside :func:`from_base_tables` nothing is taken
(the reference the property tests compare with).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.sql import ColumnElement, FromClause

from core.metrics.compiler import Compiled, Labels, access_paths
from core.metrics.dimensions import REQUIRED_COLUMN, Dimension, DimensionRef, grouping
from core.metrics.fx import FxTable
from core.metrics.jobs import Cells, Job, Jobs
from core.metrics.measures import DAY, MEASURES, Measure
from core.metrics.periods import to_utc
from core.metrics.rollup_rules import day_number
from core.metrics.segments import Segment
from core.metrics.series_totals import whole_span
from core.metrics.types import Agg, Entity, Frame
from core.models import ActivityDay, DealDay
from core.models.enums import ActivityType, DealStatus

_BASE_TABLES: ContextVar[bool] = ContextVar("rollups_from_base_tables", default=False)


@contextmanager
def from_base_tables() -> Iterator[None]:
    """Within the block, every cell is computed from the base tables."""
    token = _BASE_TABLES.set(True)
    try:
        yield
    finally:
        _BASE_TABLES.reset(token)


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
#: The columns segment filters and breakdowns may read on each rollup.
DIMENSION_COLUMNS: dict[Entity, frozenset[str]] = {
    Entity.DEALS: frozenset(
        {"workspace_id", "connection_id", "owner_remote_id", "pipeline_remote_id"}
        | {"stage_remote_id", "deal_type"}
    ),
    Entity.ACTIVITIES: frozenset({"workspace_id", "connection_id", "owner_remote_id", "type"}),
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


def whole_days(frame: Frame, timezone: str) -> bool:
    """The frame's bounds are local midnights of ``timezone``."""
    return (
        frame.timezone == timezone
        and frame.start == to_utc(frame.start_date, timezone)
        and frame.end == to_utc(frame.end_date, timezone)
    )


def on_dimensions(entity: Entity, refs: Sequence[DimensionRef]) -> bool:
    """Filters or groups by these dimensions read only the rollup's columns."""
    columns = DIMENSION_COLUMNS.get(entity, frozenset())
    return all(
        ref.dimension is not Dimension.CUSTOM and REQUIRED_COLUMN[ref.dimension] in columns
        for ref in refs
    )


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
        return Compiled(select(*columns).select_from(src).where(*filters), labels, 0)
    group = grouping(src, breakdown)
    key, label = group.key.label("group_key"), group.label.label("group_label")
    statement = (
        select(key, label, *columns)
        .select_from(group.from_clause)
        .where(*filters)
        .group_by(group.key, group.label)
    )
    return Compiled(statement, labels, 2)


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
    return Compiled(statement, labels, 1)


def _spec(measure: Measure) -> Rolled:
    spec = rolled(measure)
    if spec is None:
        raise ValueError(f"measure {measure.name} is not answered by a rollup")
    return spec


def _split(cells: Cells, timezone: str) -> tuple[Cells, Cells]:
    """The cells a rollup answers, and the others."""
    mine: Cells = []
    rest: Cells = []
    for measure, frame in cells:
        ok = rolled(measure) is not None and whole_days(frame, timezone)
        (mine if ok else rest).append((measure, frame))
    return mine, rest


def _answers_segment(entity: Entity, segment: Segment, *extra: DimensionRef) -> bool:
    return entity in ROLLED and on_dimensions(entity, [*(r for r, _ in segment.filters), *extra])


def converts_money(jobs: Jobs, timezone: str | None) -> bool:
    """Whether :func:`take` may answer a money cell of ``jobs`` (its statement converts in
    SQL, so the FX tables must be read before compiling). Errs towards yes: a rolled money
    measure anywhere in the batch."""
    if timezone is None or _BASE_TABLES.get():
        return False
    measures = [m for job in jobs.totals for m, _ in job.cells]
    measures += [m for job in jobs.breakdowns for m, _ in job.cells]
    measures += [m for job in jobs.series for m in job.measures]
    return any(m.agg is Agg.MONEY and rolled(m) is not None for m in measures)


def take(
    jobs: Jobs,
    *,
    workspace_ids: Sequence[str],
    fx_tables: dict[str, FxTable],
    timezone: str | None,
) -> tuple[list[tuple[Job, Compiled]], Jobs]:
    """The statements answering from the rollups every cell of ``jobs`` they can, each with
    the job it answers, and the jobs left for the base tables. ``timezone``: that of every
    workspace read (None when they differ: nothing is taken)."""
    if timezone is None or _BASE_TABLES.get():
        return [], jobs
    out: list[tuple[Job, Compiled]] = []
    totals = []
    for total in jobs.totals:
        segment = total.key[0]
        mine, rest = (
            _split(total.cells, timezone)
            if _answers_segment(total.entity, segment)
            else ([], list(total.cells))
        )
        if mine:
            fx = fx_tables.get(total.key[1])
            out.append(
                (
                    total,
                    compile_cells(
                        total.entity, mine, workspace_ids=workspace_ids, segment=segment, fx=fx
                    ),
                )
            )
        if rest:
            totals.append(replace(total, cells=rest))
    breakdowns = []
    for group in jobs.breakdowns:
        segment = group.key[0]
        grouped = _answers_segment(group.entity, segment, group.breakdown.by)
        rest = []
        # A breakdown's groups are those with rows in some cell of its statement: the cells
        # of a base-table statement (an access path) are taken together or not at all, so
        # the groups are the same either way.
        for _, path_cells in access_paths(group.entity, group.cells):
            mine, other = _split(path_cells, timezone) if grouped else ([], path_cells)
            if other:
                rest += path_cells
                continue
            statement = compile_cells(
                group.entity,
                mine,
                workspace_ids=workspace_ids,
                segment=segment,
                fx=fx_tables.get(group.key[1]),
                breakdown=group.breakdown.by,
            )
            out.append((group, statement))
        if rest:
            breakdowns.append(replace(group, cells=rest))
    series = []
    for job in jobs.series:
        frames = job.series
        whole = _answers_segment(job.entity, job.key[0]) and all(
            whole_days(f, timezone) for f in frames
        )
        contiguous = all(a.end_date == b.start_date for a, b in itertools.pairwise(frames))
        mine_m = [m for m in job.measures if rolled(m) is not None] if whole and contiguous else []
        rest_m = [m for m in job.measures if m not in mine_m]
        if mine_m:
            part = replace(job, measures=mine_m)
            statement = compile_series(
                job.entity,
                mine_m,
                frames,
                workspace_ids=workspace_ids,
                segment=job.key[0],
                fx=fx_tables.get(job.key[1]),
            )
            out.append((part, statement))
        if rest_m:
            series.append(replace(job, measures=rest_m))
    return out, replace(jobs, totals=totals, breakdowns=breakdowns, series=series)


__all__ = [
    "ROLLED",
    "Rolled",
    "compile_cells",
    "compile_series",
    "converts_money",
    "from_base_tables",
    "rolled",
    "take",
    "whole_days",
]

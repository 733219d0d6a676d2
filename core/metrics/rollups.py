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

The statements over rollup rows are core.metrics.rollup_sql's. :func:`take` moves the cells
they can answer out of a batch's jobs; the rest are compiled from the base tables as
before. Inside :func:`from_base_tables` nothing is taken (the reference the property tests
compare with).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import replace
from functools import partial

from core.metrics.compiler import access_paths
from core.metrics.dimensions import REQUIRED_COLUMN, Dimension, DimensionRef
from core.metrics.fx import FxTable
from core.metrics.jobs import Cells, Deferred, Job, Jobs
from core.metrics.periods import to_utc
from core.metrics.rollup_sql import ROLLED, Rolled, compile_cells, compile_series, rolled
from core.metrics.segments import Segment
from core.metrics.types import Agg, Entity, Frame

_BASE_TABLES: ContextVar[bool] = ContextVar("rollups_from_base_tables", default=False)


@contextmanager
def from_base_tables() -> Iterator[None]:
    """Within the block, every cell is computed from the base tables."""
    token = _BASE_TABLES.set(True)
    try:
        yield
    finally:
        _BASE_TABLES.reset(token)


#: The columns segment filters and breakdowns may read on each rollup.
DIMENSION_COLUMNS: dict[Entity, frozenset[str]] = {
    Entity.DEALS: frozenset(
        {"workspace_id", "connection_id", "owner_remote_id", "pipeline_remote_id"}
        | {"stage_remote_id", "deal_type"}
    ),
    Entity.ACTIVITIES: frozenset({"workspace_id", "connection_id", "owner_remote_id", "type"}),
}


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
) -> tuple[list[tuple[Job, Deferred]], Jobs]:
    """The statements answering from the rollups every cell of ``jobs`` they can, each with
    the job it answers (built when first needed: jobs.Deferred), and the jobs left for the
    base tables. ``timezone``: that of every
    workspace read (None when they differ: nothing is taken)."""
    if timezone is None or _BASE_TABLES.get():
        return [], jobs
    out: list[tuple[Job, Deferred]] = []
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
            build = partial(compile_cells, total.entity, mine, workspace_ids=workspace_ids)
            build = partial(build, segment=segment, fx=fx)
            out.append((total, Deferred(build)))
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
            build = partial(
                compile_cells,
                group.entity,
                mine,
                workspace_ids=workspace_ids,
                segment=segment,
                fx=fx_tables.get(group.key[1]),
                breakdown=group.breakdown.by,
            )
            out.append((group, Deferred(build)))
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
            build = partial(
                compile_series,
                job.entity,
                mine_m,
                frames,
                workspace_ids=workspace_ids,
                segment=job.key[0],
                fx=fx_tables.get(job.key[1]),
            )
            out.append((part, Deferred(build)))
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

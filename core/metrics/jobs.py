"""A batch's statements as typed jobs: planned from the requests' cells, compiled, and their
rows read back into cell values (core.metrics.executor runs them: plan, compile, fetch,
read, assemble).

Requests that share a segment (and timezone) are answered together:

- **totals**: every cell of an entity not read from a series, one job per entity (compiled
  into a statement per access path, core.metrics.compiler.compile_by_path);
- **series**: the cells of a flow measure whose frame is a bucket of a series of the batch
  (or its whole span), one job per series, entity and time column, read as a range
  aggregate per bucket (core.metrics.series_sql); a period's figure falls on any request's
  series, so the dashboard's month figures come from its yearly series;
- **breakdowns**: a request's cells grouped by a dimension, one job per entity.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Executable, Row

from core.metrics.compiler import Compiled, compile_by_path
from core.metrics.currency_sql import convert_rows, per_currency
from core.metrics.definitions import KpiDefinition
from core.metrics.fetch import Statement
from core.metrics.formulas import Cell
from core.metrics.fx import FxTable
from core.metrics.measures import Measure
from core.metrics.periods import LocalPeriod
from core.metrics.query import KpiRequest
from core.metrics.segments import Breakdown, Segment
from core.metrics.series_sql import compile_series
from core.metrics.series_totals import add_span_totals, from_buckets, whole_span
from core.metrics.types import Agg, Entity, Frame

#: Requests answered together: same segment and timezone.
GroupKey = tuple[Segment, str]
Values = dict[Cell, float | None]
Cells = list[tuple[Measure, Frame]]


@dataclass
class Plan:
    """One request's KPI and frames (period, comparison, series buckets)."""

    request: KpiRequest
    kpi: KpiDefinition
    period: LocalPeriod
    main: Frame
    comparison: tuple[LocalPeriod, Frame, bool] | None
    series: list[tuple[LocalPeriod, str, Frame]]
    breakdown: Breakdown | None
    unsupported: str | None

    @property
    def key(self) -> GroupKey:
        return (self.request.segment, self.main.timezone)

    def frames(self) -> list[Frame]:
        out = [self.main] + [f for _, _, f in self.series]
        if self.comparison is not None:
            out.append(self.comparison[1])
        return out


@dataclass(frozen=True)
class TotalsJob:
    key: GroupKey
    entity: Entity
    cells: Cells


@dataclass(frozen=True)
class SeriesJob:
    key: GroupKey
    series: tuple[Frame, ...]
    entity: Entity
    column: str
    measures: list[Measure]


@dataclass(frozen=True)
class BreakdownJob:
    key: GroupKey
    breakdown: Breakdown
    entity: Entity
    cells: Cells


Job = TotalsJob | SeriesJob | BreakdownJob


@dataclass
class Jobs:
    totals: list[TotalsJob] = field(default_factory=list)
    series: list[SeriesJob] = field(default_factory=list)
    breakdowns: list[BreakdownJob] = field(default_factory=list)
    #: Frames of money cells by timezone (the FX tables to load).
    money_frames: dict[str, list[Frame]] = field(default_factory=dict)


class _SeriesIndex:
    """Every distinct series of the batch, numbered once (a DAY series is hundreds of
    frames: hashing or comparing it per cell would cost more than the cells, #20)."""

    def __init__(self, plans: Sequence[Plan]) -> None:
        index: dict[tuple[Frame, ...], int] = {}
        self.own: list[int | None] = []
        for plan in plans:
            series = tuple(f for _, _, f in plan.series)
            self.own.append(index.setdefault(series, len(index)) if series else None)
        self.all = list(index)
        self.sets = [frozenset(s) for s in self.all]
        self.by_key: dict[GroupKey, list[int]] = defaultdict(list)
        for plan, own in zip(plans, self.own, strict=True):
            if own is not None and own not in self.by_key[plan.key]:
                self.by_key[plan.key].append(own)

    def find(self, key: GroupKey, own: int | None, measure: Measure, f: Frame) -> int | None:
        """The series whose buckets give ``measure`` over ``f`` (a bucket of it or its
        whole span): the request's own first, else any series of the batch with the same
        segment, so a period's figure falls on another request's series instead of a pass
        of its own."""
        if measure.time is None:
            return None
        candidates = self.by_key.get(key, [])
        if own is not None:
            candidates = [own, *(i for i in candidates if i != own)]
        for i in candidates:
            if f in self.sets[i] or from_buckets(measure, f, self.all[i]):
                return i
        return None


def plan_jobs(plans: Sequence[Plan], cells: Callable[[Plan, Frame], Cells]) -> Jobs:
    """The jobs answering every cell of ``plans`` (``cells``: a plan's cells over a frame)."""
    totals: dict[GroupKey, dict[Entity, set[tuple[Measure, Frame]]]] = defaultdict(
        lambda: defaultdict(set)
    )
    grouped: dict[tuple[GroupKey, Breakdown], dict[Entity, set[tuple[Measure, Frame]]]] = (
        defaultdict(lambda: defaultdict(set))
    )
    bucketed: dict[tuple[GroupKey, int], dict[tuple[Entity, str], set[Measure]]] = defaultdict(
        lambda: defaultdict(set)
    )
    money: dict[str, list[Frame]] = defaultdict(list)
    series = _SeriesIndex(plans)
    for plan, own in zip(plans, series.own, strict=True):
        key = plan.key
        for frame in plan.frames():
            for measure, f in cells(plan, frame):
                if measure.agg is Agg.MONEY:
                    money[f.timezone].append(f)
                index = series.find(key, own, measure, f)
                if index is not None:
                    bucketed[(key, index)][(measure.entity, measure.time or "")].add(measure)
                else:
                    totals[key][measure.entity].add((measure, f))
        if plan.breakdown is not None:
            for measure, f in cells(plan, plan.main):
                grouped[(key, plan.breakdown)][measure.entity].add((measure, f))
    return Jobs(
        totals=[
            TotalsJob(key, entity, _ordered(c))
            for key, by_entity in totals.items()
            for entity, c in by_entity.items()
        ],
        series=[
            SeriesJob(key, series.all[index], entity, column, sorted(ms, key=lambda m: m.name))
            for (key, index), by_column in bucketed.items()
            for (entity, column), ms in by_column.items()
        ],
        breakdowns=[
            BreakdownJob(key, breakdown, entity, _ordered(c))
            for (key, breakdown), by_entity in grouped.items()
            for entity, c in by_entity.items()
        ],
        money_frames=dict(money),
    )


def fx_in_sql(jobs: Jobs) -> bool:
    """Whether a statement of the batch converts money in SQL (so needs the FX tables to be
    compiled); money summed per currency (core.metrics.currency_sql) is converted after."""
    if any(m.agg is Agg.MONEY for job in jobs.series for m in job.measures):
        return True
    if any(m.agg is Agg.MONEY for job in jobs.breakdowns for m, _ in job.cells):
        return True
    return any(
        m.agg is Agg.MONEY and not per_currency(m) for job in jobs.totals for m, _ in job.cells
    )


def compile_jobs(
    jobs: Jobs, *, workspace_ids: Sequence[str], fx_tables: dict[str, FxTable]
) -> list[tuple[Job, Compiled]]:
    """Every statement of the batch, each with the job it answers (a totals or breakdown job
    may need one statement per access path)."""
    out: list[tuple[Job, Compiled]] = []
    for total in jobs.totals:
        fx = fx_tables.get(total.key[1])
        for compiled in compile_by_path(
            total.entity, total.cells, workspace_ids=workspace_ids, segment=total.key[0], fx=fx
        ):
            out.append((total, compiled))
    for job in jobs.series:
        compiled = compile_series(
            job.entity,
            job.measures,
            job.column,
            job.series,
            workspace_ids=workspace_ids,
            segment=job.key[0],
            fx=fx_tables.get(job.key[1]),
        )
        out.append((job, compiled))
    for group in jobs.breakdowns:
        for compiled in compile_by_path(
            group.entity,
            group.cells,
            workspace_ids=workspace_ids,
            segment=group.key[0],
            fx=fx_tables.get(group.key[1]),
            breakdown=group.breakdown.by,
        ):
            out.append((group, compiled))
    return out


class Deferred:
    """A statement of the daily rollups, built when first needed (core.metrics.rollups.take):
    when a session of the fetch takes it, after the statements over the large tables have
    started (:func:`start_order`), instead of before any of them."""

    rolled = True

    def __init__(self, build: Callable[[], Compiled]) -> None:
        self._build = build
        self._compiled: Compiled | None = None

    @property
    def compiled(self) -> Compiled:
        if self._compiled is None:
            self._compiled = self._build()
        return self._compiled

    def statement(self) -> Executable:
        """Built now (a function, where core.metrics.fetch takes one to build later)."""
        return self.compiled.statement


def statements(units: Sequence[Unit]) -> list[Statement]:
    """What core.metrics.fetch runs: each statement, or what builds it."""
    return [c.statement for _, c in units]


#: A statement of a batch, built or to build, and the job it answers.
Unit = tuple[Job, Compiled | Deferred]


def built(units: Sequence[Unit]) -> list[tuple[Job, Compiled]]:
    """Every unit's statement, those deferred built now if no session has yet."""
    return [(job, c if isinstance(c, Compiled) else c.compiled) for job, c in units]


#: The entities with the large tables (a statement over them reads the most rows).
_LARGE = frozenset({Entity.DEALS, Entity.ACTIVITIES})


def start_order(compiled: Sequence[Unit]) -> list[int]:
    """The statements' indexes, the likely longest first: those reading the large tables'
    rows (series, a range per bucket; then totals, deals open at t among them; then
    breakdowns), then the rest, those over the daily rollups among them (a few rows per
    day), money per currency last. Started in this order, no long statement waits for a
    slot, or for the others' compiling, behind short ones (core.metrics.fetch.fetch_beside)."""

    def rank(index: int) -> tuple[int, int]:
        job, statement = compiled[index]
        if isinstance(statement, Compiled) and statement.per_currency:
            # Money per currency (MRR) reads only the partial index of recurring contracts:
            # last (at 50k accounts, started first, it held back the customer statement,
            # four times longer, by its whole compile and send).
            return (4, index)
        large = job.entity in _LARGE and not statement.rolled
        if isinstance(job, SeriesJob):
            return (0 if large else 2, index)
        if isinstance(job, TotalsJob):
            return (1 if large else 3, index)
        return (2 if large else 3, index)

    return sorted(range(len(compiled)), key=rank)


Groups = dict[tuple[GroupKey, Breakdown], dict[str, tuple[str, Values]]]


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def read_rows(
    compiled: Iterable[tuple[Job, Compiled]],
    rows: Iterable[list[Row[Any]]],
    fx_tables: Mapping[str, FxTable] | None = None,
) -> tuple[dict[GroupKey, Values], Groups]:
    """Cell values by request group, and breakdown groups, from each statement's rows
    (``fx_tables``: by timezone, for the statements of money per currency)."""
    values: dict[GroupKey, Values] = {}
    groups: Groups = {}
    for (job, statement), result in zip(compiled, rows, strict=True):
        if isinstance(job, TotalsJob):
            if statement.per_currency:
                fx = (fx_tables or {}).get(job.key[1])
                row: Sequence[Any] = convert_rows(statement.labels, result, fx)
            else:
                (row,) = result
            found = values.setdefault(job.key, {})
            for (name, frame), value in zip(statement.labels, row, strict=True):
                number = _number(value)
                if statement.adds:  # to the value of the statement before it
                    before = found.get((name, frame))
                    if number is None:
                        number = before
                    elif before is not None:
                        number += before
                found[(name, frame)] = number
        elif isinstance(job, SeriesJob):
            _read_series(job, statement, result, values.setdefault(job.key, {}))
        else:
            out = groups.setdefault((job.key, job.breakdown), {})
            for row in result:
                group_key = "" if row[0] is None else str(row[0])
                label = "(none)" if row[1] is None else str(row[1])
                slot = out.setdefault(group_key, (label, {}))
                for (name, frame), value in zip(statement.labels, row[2:], strict=True):
                    slot[1][(name, frame)] = _number(value)
    return values, groups


def _read_series(job: SeriesJob, statement: Compiled, rows: list[Row[Any]], found: Values) -> None:
    """A series statement's buckets, and their whole span's totals, into ``found``."""
    # A bucket may come as several rows, one per range part (series_sql): added up here,
    # then set (another series may compute the same cells).
    sums: Values = {}
    for row in rows:
        frame = job.series[int(row[0])]
        for (name, _), value in zip(statement.labels, row[1:], strict=True):
            if value is not None:
                sums[(name, frame)] = (sums.get((name, frame)) or 0.0) + float(value)
            else:
                sums.setdefault((name, frame), None)
    found.update(sums)
    span = whole_span(job.series)
    assert span is not None
    names = dict.fromkeys(name for name, _ in statement.labels)
    counts = {m.name for m in job.measures if m.agg is Agg.COUNT}
    add_span_totals(found, [(n, span) for n in names], job.series, counts)


def _ordered(cells: Iterable[tuple[Measure, Frame]]) -> Cells:
    """Cells in a stable order, so equal requests compile to equal SQL."""
    return sorted(cells, key=lambda c: (c[0].name, c[1].start, c[1].end, c[1].as_of))

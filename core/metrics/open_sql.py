"""The statements of deals open at an instant: aggregated by plain columns first, and the
stage history read only for the deals that have some.

Pipeline, weighted pipeline, open deals and deals open during a frame read the same rows
(still-open deals plus those closed since the earliest instant, sources.open_deals), and
their values are a deal's amount times a factor of a few plain columns: the currency (the
frame-end FX rate) and the weight (the deal's stage's probability, else its own). So the
rows are aggregated once by those stored columns (count, amount and priced amounts per
distinct cell condition) and the stage probability is joined to the few dozen groups
afterwards, as a DBA would write it (bench/metrics_onepass.py), instead of joining every
deal to its stage and to its history at each instant and evaluating every cell's
aggregate, FX factor and weight on each (1M deals: ~190 ms for the dashboard's deals open
at t, against ~70 ms for the one-pass SQL).

Those rows are read as three sets, each aggregated apart and their groups added up: the
still-open deals, the deals closed between the earliest and the latest instant, and those
closed after the latest (deal_sources.open_branches). What a set's WHERE bounds, its
cells' conditions need not test (core.metrics.known_values): for still-open deals and for
deals closed after every instant, "open at t" is "created before t". Evaluated in every
FILTER of every row, the whole condition was most of the statement's time (1M deals,
alone, interleaved: 0.69x the single set's).

A deal whose history reaches back before an instant is weighted by the stage it was in
then (measures._probability_at): a second statement reads those deals only, from the
history's side, and gives what that changes in each weighted cell (its rows' value with the
history's probability less their value without), which core.metrics.jobs adds to the
grouped statement's (:attr:`compiler.Compiled.adds`).

Only cells of :data:`GROUPABLE` measures take this shape; any other cell keeps the whole
path on the per-row statement (core.metrics.compiler.compile_cells).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Float, and_, func, null, select, union_all
from sqlalchemy.sql import Select

from core.metrics.deal_sources import deals_with_history, open_branches, with_stage_probability
from core.metrics.fx import FxTable
from core.metrics.known_values import Known
from core.metrics.measures import Measure, probability_column
from core.metrics.segments import Segment
from core.metrics.types import Agg, Frame, FxDate
from core.models import Stage

#: Measures of deals open at an instant whose per-row value is the deal's amount times a
#: function of :data:`GROUP_COLUMNS`, its stage's probability and its history's (or that
#: count rows): summing the amounts per group first gives the same total.
GROUPABLE = frozenset(
    {"deals_open", "deals_open_any", "pipeline_amount", "weighted_pipeline_amount"}
)
#: The stored deal columns the groups are made of: what FX (the currency) and the weight
#: (the stage's probability, else the deal's own) read.
GROUP_COLUMNS = ("connection_id", "stage_remote_id", "probability", "currency")

Cells = Sequence[tuple[Measure, Frame]]
Labels = list[tuple[str, Frame]]
#: compiler.money_factor: the FX factor of a money cell over some columns.
Factor = Callable[[Measure, Frame, Any, FxTable | None], ColumnElement[Any]]


def groupable(cells: Cells) -> bool:
    """Whether every cell can be read from the grouped rows (see module docstring)."""
    return all(
        m.name in GROUPABLE
        and (m.agg is Agg.COUNT or (m.agg is Agg.MONEY and m.fx is FxDate.FRAME_END))
        for m, _ in cells
    )


class _Columns:
    """Columns by name (``c.amount``, ``c["amount"]``) as a measure reads them, some
    replaced (``overrides``), the others those of ``base``."""

    def __init__(self, base: Any, overrides: Mapping[str, Any]) -> None:
        self._base = base
        self._overrides = overrides

    def __getitem__(self, name: str) -> ColumnElement[Any]:
        if name in self._overrides:
            override: ColumnElement[Any] = self._overrides[name]
            return override
        column: ColumnElement[Any] = self._base[name]
        return column

    def __getattr__(self, name: str) -> ColumnElement[Any]:
        if name.startswith("_"):
            raise AttributeError(name)
        return self[name]


def _without_history(frames: Sequence[Frame]) -> dict[str, ColumnElement[Any]]:
    """No history probability at any of the frames' ends (the grouped rows' weight)."""
    return {probability_column(f.end): null().cast(Float) for f in frames}


def _distinct(cells: Cells, c: Any) -> tuple[list[ColumnElement[bool]], list[int]]:
    """Each distinct cell condition over ``c``, and the index of each cell's."""
    index: dict[tuple[int, Frame], int] = {}
    conditions: list[ColumnElement[bool]] = []
    of_cell: list[int] = []
    for measure, frame in cells:
        key = (id(measure.where), frame)
        if key not in index:
            index[key] = len(conditions)
            conditions.append(measure.where(c, frame))
        of_cell.append(index[key])
    return conditions, of_cell


def compile_open_grouped(
    cells: Cells,
    *,
    workspace_ids: Sequence[str],
    segment: Segment,
    fx: FxTable | None,
    closed_since: datetime,
    factor: Factor,
) -> tuple[Select[Any], Labels]:
    """One statement of every cell (all :func:`groupable`), one row, each deal weighted by
    its current stage (:func:`compile_history_change` adds what its history changes)."""
    # Each row set's aggregates with its conditions folded to what its rows leave undecided
    # (still-open deals: created before t; deals closed after every instant: the same),
    # then the sets' groups added up: the same groups and exact sums as one pass.
    late = max(f.end for _, f in cells)
    branches = []
    of_cell: list[int] = []
    money: set[int] = set()
    for branch in open_branches(workspace_ids, closed_since, late):
        deals = branch.rows
        known = _Columns(
            deals.c,
            {
                "status": Known(deals.c.status, among=branch.statuses),
                "closed_at": Known(
                    deals.c.closed_at, at_least=branch.closed_from, below=branch.closed_below
                ),
            },
        )
        conditions, of_cell = _distinct(cells, known)
        money = {i for (m, _), i in zip(cells, of_cell, strict=True) if m.agg is Agg.MONEY}
        # The conditions in each aggregate's FILTER, as the one-pass SQL: computed once per
        # row in a subquery kept from merging (OFFSET 0, compiler._flagged), they would not
        # be parallel-safe.
        sums: list[Any] = []
        for i, condition in enumerate(conditions):
            sums.append(func.count().filter(condition).label(f"n{i}"))
            if i in money:
                sums.append(func.sum(deals.c.amount).filter(condition).label(f"a{i}"))
                sums.append(func.count(deals.c.amount).filter(condition).label(f"p{i}"))
        keys = [deals.c[name] for name in GROUP_COLUMNS]
        # Grouped by the stored columns themselves, never a computed expression.
        branches.append(select(*keys, *sums).where(segment.clause(deals)).group_by(*keys))
    parts = union_all(*branches).subquery("open_parts")
    part_keys = [parts.c[name] for name in GROUP_COLUMNS]
    totals = [
        func.sum(column).label(column.name)
        for column in parts.c
        if column.name not in GROUP_COLUMNS
    ]
    groups = select(*part_keys, *totals).group_by(*part_keys).subquery("open_groups")
    stage = Stage.__table__.alias("deal_stage")
    source = groups.outerjoin(
        stage,
        and_(
            stage.c.connection_id == groups.c.connection_id,
            stage.c.remote_id == groups.c.stage_remote_id,
        ),
    )
    no_history = _without_history([f for _, f in cells])
    columns: list[ColumnElement[Any]] = []
    labels: Labels = []

    def add(name: str, frame: Frame, expression: ColumnElement[Any]) -> None:
        columns.append(expression.label(f"c{len(labels)}"))
        labels.append((name, frame))

    for (measure, frame), i in zip(cells, of_cell, strict=True):
        if measure.agg is Agg.COUNT:
            add(measure.name, frame, func.coalesce(func.sum(groups.c[f"n{i}"]), 0))
            continue
        assert measure.value is not None
        c = _Columns(
            groups.c,
            {**no_history, "amount": groups.c[f"a{i}"], "stage_probability": stage.c.probability},
        )
        rate = factor(measure, frame, c, fx)
        priced = groups.c[f"p{i}"]
        add(measure.name, frame, func.sum(measure.value(c, frame) * rate))
        for suffix, has_rate in (("missing", rate.is_(None)), ("converted", rate.is_not(None))):
            count = func.coalesce(func.sum(priced).filter(has_rate), 0)
            add(f"{measure.name}.{suffix}", frame, count)
    return select(*columns).select_from(source), labels


def compile_history_change(
    cells: Cells,
    *,
    workspace_ids: Sequence[str],
    segment: Segment,
    fx: FxTable | None,
    factor: Factor,
) -> tuple[Select[Any], Labels] | None:
    """What the stage history changes in each cell reading it (Measure.stage_probability):
    over the deals with history before the cell's instant, the sum of their value with the
    history's probability less their value without (FX-converted); None without such cells.
    """
    weighted = [(m, f) for m, f in cells if m.stage_probability]
    if not weighted:
        return None
    instants = sorted({f.end for _, f in weighted})
    deals = with_stage_probability(
        deals_with_history(workspace_ids, instants[-1]), workspace_ids, instants
    )
    c = deals.c
    without = _Columns(c, _without_history([f for _, f in weighted]))
    columns: list[ColumnElement[Any]] = []
    labels: Labels = []
    for measure, frame in weighted:
        assert measure.value is not None
        rate = factor(measure, frame, c, fx)
        change = (measure.value(c, frame) - measure.value(without, frame)) * rate
        where = and_(measure.where(c, frame), c[probability_column(frame.end)].is_not(None))
        columns.append(func.sum(change).filter(where).label(f"c{len(labels)}"))
        labels.append((measure.name, frame))
    return select(*columns).select_from(deals).where(segment.clause(deals)), labels

"""A series' statement: the cells of every bucket of a series, each bucket's rows read by
their own index range instead of a year of rows grouped by a computed bucket index.

Grouping by a ``CASE`` over the bucket bounds is a GROUP BY on a computed expression: the
database misestimates its groups, sorts instead of hashing and, at the default work_mem,
spills the sort to disk (activities of a year at 100k deals: an external merge of 48k rows,
65-85 ms). Instead, a **range aggregate per bucket**: the buckets are rows (index, start,
end) joined to the entity by a range of a stored column (measures.range_parts) and grouped
by the bucket index, a plain column; both databases read it as a nested loop of one index
range per bucket (SQLite has no LATERAL; this needs none). The measures' conditions are
built once, over a frame whose bounds are the joined bucket's (one bucket's conditions per
bucket cost ~100 ms of Python per yearly series). An activity's done time is a held
meeting's start, not a stored column: its rows are two disjoint parts, each a range (the
stored done time; the due time of the few meetings held before it, a partial index), so a
bucket has a row per part to add up. Many buckets (a DAY series of a year) keep the grouped
statement: :data:`MAX_BUCKETS`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, cast

from sqlalchemy import and_, case, literal, or_, select, union_all
from sqlalchemy.sql import ColumnElement, FromClause
from sqlalchemy.types import TypeEngine

from core.metrics.compiler import Compiled, Labels, aggregates, measure_source, one_condition
from core.metrics.fx import FxTable
from core.metrics.measures import Measure, RangePart, range_parts
from core.metrics.segments import Segment
from core.metrics.series_totals import ADDITIVE, whole_span
from core.metrics.types import Entity, Frame

#: Most buckets read as a range each (their bounds are a UNION ALL of one-row selects, and
#: SQLite allows 500 compound terms; a weekly series of a year is 53 buckets).
MAX_BUCKETS = 120


def _columns(
    measures: Sequence[Measure], frame: Frame, c: Any, fx: FxTable | None, labels: Labels
) -> list[ColumnElement[Any]]:
    """Every aggregate of ``measures`` over ``frame``, labelled in order, appended to
    ``labels``; with no FILTER when the measures share their condition, the statement's
    WHERE (a yearly activities series at 1M deals: the done time's CASE evaluated twice per
    row, not three times)."""
    out: list[ColumnElement[Any]] = []
    filtered = not one_condition(measures)
    for measure in measures:
        for name, expression in aggregates(measure, frame, c, fx, filtered=filtered):
            out.append(expression.label(f"c{len(labels)}"))
            labels.append((name, frame))
    return out


def _parts(measures: Sequence[Measure]) -> tuple[RangePart, ...] | None:
    """The range parts all ``measures`` share (measures.range_parts), or None. Several parts
    give several rows per bucket, added up: only for additive measures."""
    found = {range_parts(m) for m in measures}
    if len(found) != 1:
        return None
    (parts,) = found
    if parts is None or (len(parts) > 1 and any(m.agg not in ADDITIVE for m in measures)):
        return None
    return parts


def _bounds(series: Sequence[Frame], kind: TypeEngine[Any]) -> FromClause:
    """The buckets as rows (index ``i``, UTC bounds ``s`` and ``e``): one-row selects joined
    by UNION ALL, which both databases read (SQLite has no column aliases on VALUES)."""
    rows = [
        select(
            literal(i).label("i"),
            literal(f.start, kind).label("s"),
            literal(f.end, kind).label("e"),
        )
        for i, f in enumerate(series)
    ]
    return (rows[0] if len(rows) == 1 else union_all(*rows)).subquery("buckets")


def compile_series(
    entity: Entity,
    measures: Sequence[Measure],
    column: str,
    series: Sequence[Frame],
    *,
    workspace_ids: Sequence[str],
    segment: Segment,
    fx: FxTable | None = None,
) -> Compiled:
    """One statement giving ``measures`` over every bucket of ``series`` (contiguous frames
    differing only by the range of ``column``, each measure's time column).

    Rows are (bucket index, the aggregates of ``labels``), labels carrying the whole span;
    a bucket may have several rows (one per range part of its measures), to be added up.
    """
    whole = whole_span(series)
    assert whole is not None, "a series has at least one bucket"
    src = measure_source(entity, measures, workspace_ids, fx)
    c = src.c
    where = segment.clause(src)
    labels: Labels = []
    parts = _parts(measures)
    if parts is not None and len(series) <= MAX_BUCKETS:
        bounds = _bounds(series, c[column].type)
        # The measures' conditions over "the bucket of this row": a frame whose bounds are the
        # joined bucket's (conditions only compare them in SQL). Built once for all buckets.
        bucket = replace(whole, start=cast(datetime, bounds.c.s), end=cast(datetime, bounds.c.e))
        columns = _columns(measures, bucket, c, fx, labels)
        rows = or_(*[m.where(c, bucket) for m in measures])
        branches = []
        for part, part_column in parts:
            # Each bucket's rows of the part: a range of a stored column, bounded by the
            # bucket's row (an index range per bucket, the join's inner side).
            on = [c[part_column] >= bounds.c.s, c[part_column] < bounds.c.e]
            if part is not None:
                on.append(part(c))
            branch = select(bounds.c.i.label("bucket"), *columns).select_from(
                bounds.join(src, and_(*on))
            )
            branches.append(branch.where(where, rows).group_by(bounds.c.i))
        statement = branches[0] if len(branches) == 1 else union_all(*branches)
        return Compiled(statement, [(name, whole) for name, _ in labels], 1)
    columns = _columns(measures, whole, c, fx, labels)
    rows = or_(*[m.where(c, whole) for m in measures])
    index = case(
        *[(c[column] < f.start, i) for i, f in enumerate(series[1:])], else_=len(series) - 1
    ).label("bucket")
    statement = select(literal(0).label("bucket"), *columns).select_from(src).where(where, rows)
    if len(series) > 1:  # a single bucket needs no grouping (and CASE needs a WHEN)
        statement = statement.with_only_columns(index, *columns).group_by(index)
    return Compiled(statement, labels, 1)

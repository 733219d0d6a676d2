"""A series' whole-period value from its buckets, instead of another pass over the rows.

A series request also asks for the KPI over its whole period (``value`` beside ``series``).
For a flow measure (``Measure.time``) the condition of two frames with the same as-of
differs only by the range of its time column, and the buckets split the period's range
without overlap; so a COUNT or SUM over the period is the sum of the buckets' (a
COUNT DISTINCT is not). The grouped statement computing the buckets already reads those
rows; adding them up in Python spares the totals statement a year of rows (at 1M deals,
the revenue, won and created series' years were most of the rows it read).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import replace

from core.metrics.formulas import Cell
from core.metrics.measures import Measure
from core.metrics.types import Agg, Frame

ADDITIVE = (Agg.COUNT, Agg.SUM, Agg.MONEY)
#: Labels of a MONEY measure's row counts (core.metrics.compiler.aggregates).
COUNT_SUFFIXES = (".missing", ".converted")


def whole_span(series: Sequence[Frame]) -> Frame | None:
    """The frame covering every bucket, as the grouped statement evaluates it."""
    if not series:
        return None
    return replace(series[0], end=series[-1].end, end_date=series[-1].end_date)


def from_buckets(measure: Measure, frame: Frame, series: Sequence[Frame]) -> bool:
    """True when ``measure`` over ``frame`` is the sum of its buckets over ``series``."""
    contiguous = all(a.end == b.start for a, b in itertools.pairwise(series))
    return (
        measure.time is not None
        and measure.agg in ADDITIVE
        and contiguous
        and whole_span(series) == frame
    )


def add_span_totals(
    found: dict[Cell, float | None],
    labels: Sequence[tuple[str, Frame]],
    series: Sequence[Frame],
    counts: set[str],
) -> None:
    """Set each label's whole-span value (unless already computed) from its buckets:
    a count is 0 over no rows, a sum is NULL."""
    for name, span in labels:
        parts = [v for f in series if (v := found.get((name, f))) is not None]
        count = name in counts or name.endswith(COUNT_SUFFIXES)
        total = sum(parts) if parts or count else None
        found.setdefault((name, span), None if total is None else float(total))

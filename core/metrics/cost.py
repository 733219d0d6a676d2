"""The work a batch of KPI requests asks for, bounded before any SQL is built (issue #20).

The GraphQL cost limit (api.limits) counts fields; it does not see that one KPI field with
``granularity: DAY`` over two years is 731 series points, each a set of conditional
aggregates in one statement, nor that a breakdown multiplies its KPI by its groups. Twenty
such fields made one viewer's query run for minutes. Here a request's *points* are

    (1 + series buckets + 1 if compared) x breakdown groups (top + "other" + "(none)"),

with a KPI's default breakdown counted like an explicit one, and baseline periods counted
as comparisons; a batch costs the sum over its requests, which is the issue's "series points
x KPIs x breakdown groups". Above the limit the whole batch is refused with
:class:`QueryTooExpensive`, naming the points and what to change. Bad arguments are not
judged here (the executor reports them per field): such a request costs one point.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from core.errors import CrmkpiError, ValidationError
from core.metrics.periods import Calendar, buckets, resolve
from core.metrics.query import KpiRequest
from core.metrics.registry import MetricRegistry

#: Default: the standard dashboard costs ~120; a DAY series over a year, 367 per KPI.
DEFAULT_MAX_POINTS = 3_000
#: The top a KPI's own breakdown uses when the request names none (core.metrics.executor).
DEFAULT_BREAKDOWN_TOP = 50


class QueryTooExpensive(ValidationError):
    """The metrics asked for would take more work than one request may."""


def request_points(request: KpiRequest, registry: MetricRegistry, now: datetime) -> int:
    """The points one KPI field asks for (see the module docstring)."""
    kpi = registry.get(request.kpi)
    try:
        calendar = Calendar(
            request.timezone or "UTC",
            request.fiscal_year_start_month or 1,
            request.week_start or 1,
        )
        period = resolve(request.period, calendar, now)
        series = len(buckets(period, request.granularity)) if request.granularity else 0
    except (CrmkpiError, ValueError, OverflowError):
        return 1
    frames = 1 + series + (1 if request.compare_to is not None else 0)
    frames += request.baseline_periods or 0
    top = (
        request.breakdown.top
        if request.breakdown is not None
        else (DEFAULT_BREAKDOWN_TOP if kpi is not None and kpi.breakdown else 0)
    )
    return frames * (top + 2 if top else 1)


def batch_points(requests: Sequence[KpiRequest], registry: MetricRegistry, now: datetime) -> int:
    return sum(request_points(r, registry, now) for r in requests)


def check_points(points: int, limit: int) -> None:
    if points > limit:
        raise QueryTooExpensive(
            f"this metrics query asks for {points:,} points (series buckets x KPIs x "
            f"breakdown groups), over the limit of {limit:,}: use a shorter period, a "
            "coarser granularity, fewer KPI fields or a smaller breakdown top"
        )

"""KPIs that cannot be computed because no connection in scope offers what they need.

A connector lists, per capability, the KPIs that depend on it (``Capability.kpis``). When
every connection a metrics query reads has such a capability UNAVAILABLE, the KPI's
numbers would be a silent zero (no lead history synced, so no conversions): the KPI
answers null instead, with a ``nullReason`` naming the capability and the connections,
e.g. "Lead status history is not available on connection conn_1 (salesforce): field
history is not enabled (HTTP 400)". If one connection in scope has it, the KPI is computed
(from what there is).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from core.metrics.freshness import ConnectionRow, in_scope
from core.metrics.query import KpiResult, Point
from core.metrics.segments import Segment


def gate_reason(kpi: str, connections: Sequence[ConnectionRow], segment: Segment) -> str | None:
    """Why ``kpi`` answers null in this scope, or None when it can be computed."""
    read = in_scope(connections, segment)
    if not read:
        return None
    parts = []
    for connection in read:
        missing = [c for c in connection.capabilities.unavailable() if kpi in c.kpis]
        if not missing:
            return None
        capability = missing[0]
        detail = f": {capability.reason}" if capability.reason else ""
        parts.append(
            f"{capability.title} is not available on connection {connection.id} "
            f"({connection.connector}){detail}"
        )
    return "; ".join(parts)


def _null_point(point: Point, reason: str) -> Point:
    return dataclasses.replace(
        point, value=None, numerator=None, denominator=None, null_reason=reason
    )


def gate(result: KpiResult, connections: Sequence[ConnectionRow], segment: Segment) -> KpiResult:
    """``result``, or the same answer with every number null and the reason, when gated."""
    reason = gate_reason(result.name, connections, segment)
    if reason is None:
        return result
    comparison = result.comparison
    if comparison is not None:
        comparison = dataclasses.replace(
            comparison,
            value=None,
            numerator=None,
            denominator=None,
            null_reason=reason,
            change=None,
            change_ratio=None,
        )
    return dataclasses.replace(
        result,
        value=None,
        numerator=None,
        denominator=None,
        null_reason=reason,
        comparison=comparison,
        series=None
        if result.series is None
        else tuple(_null_point(p, reason) for p in result.series),
        breakdown=None
        if result.breakdown is None
        else tuple(_null_point(p, reason) for p in result.breakdown),
        attainment=None,
        projection=None,
        extra={},
    )

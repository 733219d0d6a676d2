"""Targets: a value to reach for one KPI, period and (optional) segment; and what a result
says about it (attainment, and the run-rate projection of a period in progress).

A target's period is local dates ``[start, end)`` like a KPI's period, and it is matched
exactly: a monthly target answers a monthly query, not a quarterly one. The segment is
stored with a canonical key so that equal segments written differently collide. Reading
targets back and comparing results with them is core.metrics.target_match's (re-exported
here).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import upsert
from core.errors import NotFoundError, ValidationError
from core.imports.kind import bump_data_version
from core.metrics.registry import MetricRegistry
from core.metrics.target_match import (
    DIMENSIONS,
    SegmentSpec,
    TargetKey,
    attainment,
    canonical_segment,
    find_targets,
    projection,
    segment_key,
    segment_of,
)
from core.models import Target, Workspace, utcnow
from core.user_kpis import scope_kpis

#: Targets are Numeric(24, 6): keep clear of the 18 integer digits.
_MAX_VALUE = Decimal("1e17")


def _value(value: Decimal | float | int | str) -> Decimal:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ValidationError(f"target value {value!r} is not a number") from None
    if not number.is_finite() or abs(number) >= _MAX_VALUE:
        raise ValidationError(f"target value {value!r} must be a finite number below 1e17")
    return number


async def set_target(
    session: AsyncSession,
    *,
    workspace_id: str,
    kpi: str,
    start: date,
    end: date,
    value: Decimal | float | int | str,
    segment: SegmentSpec | None = None,
    known_kpis: Collection[str] | None = None,
    registry: MetricRegistry | None = None,
) -> Target:
    """Create or replace the target of ``kpi`` for ``[start, end)`` and ``segment``.

    The one use case behind ``crmkpi target set`` and ``setTarget``. ``registry`` (with the
    workspace's user-defined KPIs) or ``known_kpis`` rejects typos; the caller commits.
    """
    if registry is not None:
        own = await scope_kpis(session, registry, [workspace_id])
        known_kpis = set(registry.kpis) | {k.definition.name for k in own}
    if known_kpis is not None and kpi not in known_kpis:
        raise ValidationError(f"unknown KPI {kpi!r}")
    if not kpi.isidentifier():
        raise ValidationError(f"KPI name {kpi!r} must be a GraphQL field name such as dealsWon")
    if start >= end:
        raise ValidationError(f"the target period must end after it starts ({start} >= {end})")
    if await session.get(Workspace, workspace_id) is None:
        raise NotFoundError(f"workspace {workspace_id!r} not found")
    canonical = canonical_segment(segment)
    key = segment_key(canonical)
    row = {
        "workspace_id": workspace_id,
        "kpi": kpi,
        "period_start": start,
        "period_end": end,
        "segment_key": key,
        "segment": canonical or None,
        "value": _value(value),
        "created_at": utcnow(),
    }
    unique = ("workspace_id", "kpi", "period_start", "period_end", "segment_key")
    await upsert(session, Target.__table__, [row], conflict_columns=unique)  # type: ignore[arg-type]
    await bump_data_version(session, workspace_id)  # results carry targets: cached ones too
    target = await session.scalar(
        select(Target)
        .where(*(getattr(Target, c) == row[c] for c in unique))
        .execution_options(populate_existing=True)
    )
    assert target is not None
    return target


__all__ = [
    "DIMENSIONS",
    "SegmentSpec",
    "TargetKey",
    "attainment",
    "canonical_segment",
    "find_targets",
    "projection",
    "segment_key",
    "segment_of",
    "set_target",
]

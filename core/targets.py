"""Targets: a value to reach for one KPI, period and (optional) segment; and what a result
says about it (attainment, and the run-rate projection of a period in progress).

A target's period is local dates ``[start, end)`` like a KPI's period, and it is matched
exactly: a monthly target answers a monthly query, not a quarterly one. The segment is
stored with a canonical key so that equal segments written differently collide.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import upsert
from core.errors import NotFoundError, ValidationError
from core.imports.kind import bump_data_version
from core.metrics.dimensions import Dimension
from core.metrics.registry import MetricRegistry
from core.metrics.segments import Segment
from core.models import Target, Workspace, utcnow
from core.user_kpis import scope_kpis

#: Targets are Numeric(24, 6): keep clear of the 18 integer digits.
_MAX_VALUE = Decimal("1e17")
#: A segment as the API spells it: ``{"owners": ["usr_1"], "custom": {"tier": ["gold"]}}``
#: or by dimension name: ``{"OWNER": ["usr_1"], "CUSTOM:tier": ["gold"]}``.
SegmentSpec = Mapping[str, Any]

#: GraphQL SegmentInput field names -> dimension names (core.metrics.dimensions).
_ALIASES = {
    "owners": "OWNER",
    "teams": "TEAM",
    "pipelines": "PIPELINE",
    "stages": "STAGE",
    "sources": "SOURCE",
    "countries": "COUNTRY",
    "regions": "REGION",
    "industries": "INDUSTRY",
    "dealTypes": "DEAL_TYPE",
    "deal_types": "DEAL_TYPE",
    "activityTypes": "ACTIVITY_TYPE",
    "activity_types": "ACTIVITY_TYPE",
    "connections": "CONNECTION",
    "workspaces": "WORKSPACE",
}
DIMENSIONS = frozenset(d.value for d in Dimension if d is not Dimension.CUSTOM)


def canonical_segment(segment: SegmentSpec | None) -> dict[str, list[str]]:
    """``{DIMENSION or CUSTOM:field: sorted distinct values}``, empty filters dropped."""
    result: dict[str, set[str]] = {}
    for name, values in (segment or {}).items():
        if name == "custom":
            if not isinstance(values, Mapping):
                raise ValidationError('segment "custom" must map field names to value lists')
            for field, custom_values in values.items():
                _add(result, f"CUSTOM:{field}", custom_values)
            continue
        dimension = _ALIASES.get(name, name)
        if dimension not in DIMENSIONS and not dimension.startswith("CUSTOM:"):
            known = ", ".join(sorted(k for k in _ALIASES if "_" not in k))
            raise ValidationError(f"unknown segment filter {name!r}: use {known} or custom")
        _add(result, dimension, values)
    return {k: sorted(v) for k, v in sorted(result.items()) if v}


def _add(result: dict[str, set[str]], key: str, values: Any) -> None:
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise ValidationError(f"segment filter {key!r} needs a list of values")
    result.setdefault(key, set()).update(str(v) for v in values)


def segment_of(segment: Segment) -> dict[str, list[str]]:
    """The canonical form of a metrics request's segment (the same as ``canonical_segment``)."""
    spec: dict[str, list[str]] = {}
    for ref, values in segment.filters:
        key = f"CUSTOM:{ref.field}" if ref.field else ref.dimension.value
        spec[key] = list(values)
    return canonical_segment(spec)


def segment_key(segment: Mapping[str, list[str]] | None) -> str:
    """The stored key of a canonical segment: "" for none, else compact sorted JSON."""
    return json.dumps(segment, sort_keys=True, separators=(",", ":")) if segment else ""


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


@dataclass(frozen=True, slots=True)
class TargetKey:
    """What a KPI result is matched on: exact KPI, local period and segment."""

    kpi: str
    start: date
    end: date
    segment_key: str = ""


async def find_targets(
    session: Any, workspace_id: str, keys: Iterable[TargetKey]
) -> dict[TargetKey, Decimal]:
    """The targets of ``keys`` in one query (``session`` is any object with ``scalars``)."""
    wanted = set(keys)
    if not wanted:
        return {}
    rows = await session.scalars(
        select(Target).where(
            Target.workspace_id == workspace_id,
            Target.kpi.in_(sorted({k.kpi for k in wanted})),  # stable SQL and parameters
        )
    )
    found: dict[TargetKey, Decimal] = {}
    for row in rows:
        key = TargetKey(row.kpi, row.period_start, row.period_end, row.segment_key)
        if key in wanted:
            found[key] = Decimal(row.value)
    return found


def attainment(value: float | None, target: Decimal | float | None) -> float | None:
    """value ÷ target; null when either is unknown or the target is 0."""
    if value is None or target is None or target == 0:
        return None
    return value / float(target)


def projection(
    value: float | None, start: datetime, end: datetime, now: datetime, *, additive: bool
) -> float | None:
    """The run-rate forecast of a period in progress at ``now`` (UTC bounds, end exclusive).

    An additive KPI (a count or a sum of a flow) is scaled by period length ÷ time elapsed;
    any other (a ratio, a mean, a stock) is forecast to stay where it is. Null for a period
    that has not started or is over (its value is final), and when the value is null.
    """
    if value is None or not start < now < end:
        return None
    if not additive:
        return value
    return value * (end - start).total_seconds() / (now - start).total_seconds()

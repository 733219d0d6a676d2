"""The target a KPI result is compared with, and what the result says about it: matching a
request to its stored target (exact KPI, local period and canonical segment), attainment,
and the run-rate projection of a period in progress.

The metrics read targets (core.metrics.executor) and core.targets writes them; this is the
reading half, so core.targets imports core.metrics and never the other way round.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from core.errors import ValidationError
from core.metrics.dimensions import CATALOGUE, Dimension
from core.metrics.kept import KeptByVersions
from core.metrics.segments import Segment
from core.models import Target

#: A segment as the API spells it: ``{"owners": ["usr_1"], "custom": {"tier": ["gold"]}}``
#: or by dimension name: ``{"OWNER": ["usr_1"], "CUSTOM:tier": ["gold"]}``.
SegmentSpec = Mapping[str, Any]

#: GraphQL SegmentInput field names (and their snake_case spelling) -> dimension names, from
#: the catalogue (core.metrics.dimensions).
_ALIASES = {
    alias: dim.value
    for dim, spec in CATALOGUE.items()
    if spec.metrics and dim is not Dimension.CUSTOM
    for alias in (spec.key, spec.attr)
}
DIMENSIONS = frozenset(_ALIASES.values())


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


@dataclass(frozen=True, slots=True)
class TargetKey:
    """What a KPI result is matched on: exact KPI, local period and segment."""

    kpi: str
    start: date
    end: date
    segment_key: str = ""


#: A workspace's targets of some KPIs, kept by its data version (core.metrics.kept): every
#: target set bumps it (core.targets.set_target).
_KEPT: KeptByVersions[dict[TargetKey, Decimal]] = KeptByVersions(1024)


async def find_targets(
    session: Any, workspace_id: str, keys: Iterable[TargetKey]
) -> dict[TargetKey, Decimal]:
    """The targets of ``keys`` in one query (``session`` is any object with ``execute``),
    none at the data version of an earlier request for the same KPIs."""
    wanted = set(keys)
    if not wanted:
        return {}
    kpis = tuple(sorted({k.kpi for k in wanted}))  # stable SQL and parameters

    async def read() -> dict[TargetKey, Decimal]:
        rows = await session.execute(
            select(
                Target.kpi, Target.period_start, Target.period_end, Target.segment_key, Target.value
            ).where(Target.workspace_id == workspace_id, Target.kpi.in_(kpis))
        )
        return {TargetKey(*row[:4]): Decimal(row[4]) for row in rows}

    every = await _KEPT.get(session, [workspace_id], ("targets", kpis), read)
    return {key: value for key, value in every.items() if key in wanted}


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

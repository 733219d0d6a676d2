"""Targets: the value a KPI should reach in a period, optionally for one segment.

A target is identified by (workspace, KPI, period, segment), so setting it again replaces
its value. Segments are stored with a canonical key (sorted JSON of the non-empty
dimensions, values sorted), so the same segment written in another order is the same target.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import upsert
from core.errors import ValidationError
from core.models import Target, utcnow

_KPI_NAME = re.compile(r"^[a-z][A-Za-z0-9]{0,99}$")
#: Targets beyond this are typos (a trillion-fold revenue target helps nobody).
_MAX_VALUE = Decimal("1e15")


def canonical_segment(segment: Mapping[str, Sequence[Any]] | None) -> dict[str, list[Any]]:
    """Only the dimensions given, each with its values sorted and de-duplicated."""
    return {
        key: sorted(set(values), key=str)
        for key, values in sorted((segment or {}).items())
        if values
    }


async def set_target(
    session: AsyncSession,
    *,
    workspace_id: str,
    kpi: str,
    period_start: date,
    period_end: date,
    value: Decimal,
    segment: Mapping[str, Sequence[Any]] | None = None,
) -> Target:
    """Create or replace a target; the caller has checked the workspace is writable."""
    if not _KPI_NAME.match(kpi):
        raise ValidationError(
            f"invalid KPI name {kpi[:100]!r}: use a field name such as 'dealsWon'"
        )
    if period_end <= period_start:
        raise ValidationError(
            f"period end {period_end.isoformat()} must be after its start "
            f"{period_start.isoformat()} (the end is exclusive)"
        )
    try:
        if not value.is_finite() or abs(value) >= _MAX_VALUE:
            raise InvalidOperation
    except InvalidOperation:
        raise ValidationError(f"target value {value} is out of range") from None
    canonical = canonical_segment(segment)
    key = json.dumps(canonical, sort_keys=True, separators=(",", ":")) if canonical else ""
    row = {
        "workspace_id": workspace_id,
        "kpi": kpi,
        "period_start": period_start,
        "period_end": period_end,
        "segment_key": key,
        "segment": canonical or None,
        "value": value,
        "created_at": utcnow(),
    }
    await upsert(
        session,
        Target.__table__,  # type: ignore[arg-type]
        [row],
        conflict_columns=["workspace_id", "kpi", "period_start", "period_end", "segment_key"],
        update_columns=["value", "segment", "created_at"],
    )
    target = await session.scalar(
        select(Target)
        .where(
            Target.workspace_id == workspace_id,
            Target.kpi == kpi,
            Target.period_start == period_start,
            Target.period_end == period_end,
            Target.segment_key == key,
        )
        .execution_options(populate_existing=True)
    )
    assert target is not None  # just written in this transaction
    return target

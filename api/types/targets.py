"""Targets: what a KPI should reach in a period."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import cast

import strawberry
from strawberry.scalars import JSON

from core.models import Target as TargetRow


@strawberry.type(description="A KPI's target for a period and, optionally, a segment.")
class Target:
    id: strawberry.ID
    workspace_id: strawberry.ID
    kpi: str = strawberry.field(description="The KPI's field name, such as salesRevenue.")
    period_start: date = strawberry.field(description="First day of the period.")
    period_end: date = strawberry.field(description="Day after its last day.")
    segment: JSON | None = strawberry.field(description="The segment, null for the whole.")
    value: Decimal = strawberry.field(description="The value to reach.")

    @classmethod
    def from_row(cls, row: TargetRow) -> Target:
        return cls(
            id=strawberry.ID(str(row.id)),
            workspace_id=strawberry.ID(row.workspace_id),
            kpi=row.kpi,
            period_start=row.period_start,
            period_end=row.period_end,
            segment=cast(JSON, row.segment),
            value=row.value,
        )

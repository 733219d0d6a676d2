"""``setTarget``: create or replace the target of a KPI for a period (editor)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from api.context import Context
from api.mutations._support import MutationError, apply
from api.permissions import CanWrite
from api.types.metrics import SegmentInput
from api.types.targets import Target
from core.errors import CrmkpiError
from core.metrics import build_registry
from core.models import Target as TargetRow
from core.targets import segment_of, set_target


@strawberry.input(description="A target: setting the same KPI, period and segment replaces it.")
class SetTargetInput:
    workspace_id: strawberry.ID
    kpi: str = strawberry.field(description="The KPI's field name, such as salesRevenue.")
    period_start: date = strawberry.field(description="First day of the period.")
    period_end: date = strawberry.field(description="Day after its last day (exclusive).")
    value: Decimal = strawberry.field(description="The value to reach.")
    segment: SegmentInput | None = strawberry.field(
        default=None, description="Only for this segment (default: the whole workspace)."
    )


@strawberry.type(description="The target is stored.")
class SetTargetSuccess:
    target: Target


@strawberry.type(description="No target was stored.")
class SetTargetError(MutationError):
    pass


SetTargetResult = Annotated[SetTargetSuccess | SetTargetError, strawberry.union("SetTargetResult")]


@strawberry.type
class SetTargetMutation:
    @strawberry.mutation(
        description="Create or replace a KPI target; KPI results of that exact period and "
        "segment then carry target { value attainment }.",
        permission_classes=[CanWrite],
    )
    async def set_target(self, info: Info[Context, Any], input: SetTargetInput) -> SetTargetResult:
        viewer = info.context.require_viewer()

        async def change(session: AsyncSession) -> TargetRow:
            segment = segment_of(input.segment.to_core()) if input.segment else None
            workspace_id = viewer.require_workspace(str(input.workspace_id))
            return await set_target(
                session,
                workspace_id=workspace_id,
                kpi=input.kpi,
                start=input.period_start,
                end=input.period_end,
                value=input.value,
                segment=segment,
                registry=build_registry(info.context.plugins),
            )

        result = await apply(info.context, change)
        if isinstance(result, CrmkpiError):
            return SetTargetError.from_error(result)
        return SetTargetSuccess(target=Target.from_row(result))

"""``defineKpi``: store a user-defined KPI of a workspace or of the organization (editor)."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.scalars import JSON
from strawberry.types import Info

from api.context import Context
from api.mutations._support import MutationError, apply, require_unrestricted
from api.permissions import CanWrite
from api.types.metrics import KpiDefinition
from core import metrics as m
from core.errors import CrmkpiError, NotFoundError
from core.models import UserKpi
from core.user_kpis import define_kpi, kpi_owner


@strawberry.input(
    description="Where a KPI is defined (exactly one of the two) and its declaration."
)
class DefineKpiInput:
    definition: JSON = strawberry.field(
        description="The declaration (docs/metrics.md, 'User-defined KPIs'): name, description, "
        "unit, and a measure or a numerator and a denominator."
    )
    workspace_id: strawberry.ID | None = strawberry.field(
        default=None, description="A KPI of this workspace only."
    )
    organization_id: strawberry.ID | None = strawberry.field(
        default=None, description="A KPI of every workspace of the organization."
    )


@strawberry.type(description="The KPI is stored and answers kpi(name:) at once.")
class DefineKpiSuccess:
    kpi: KpiDefinition


@strawberry.type(description="No KPI was stored.")
class DefineKpiError(MutationError):
    pass


DefineKpiResult = Annotated[DefineKpiSuccess | DefineKpiError, strawberry.union("DefineKpiResult")]


@strawberry.type
class DefineKpiMutation:
    @strawberry.mutation(
        description="Create or replace a user-defined KPI; it is a Metrics field after the "
        "next restart, and kpi(name:) answers it now.",
        permission_classes=[CanWrite],
    )
    async def define_kpi(self, info: Info[Context, Any], input: DefineKpiInput) -> DefineKpiResult:
        viewer = info.context.require_viewer()
        workspace_id = None if input.workspace_id is None else str(input.workspace_id)
        organization_id = None if input.organization_id is None else str(input.organization_id)
        try:  # the viewer's role; the scope itself is checked by core.user_kpis.kpi_owner
            if workspace_id is not None:
                viewer.require_workspace(workspace_id)
            if organization_id is not None:
                if organization_id != viewer.organization_id:
                    raise NotFoundError(f"organization {organization_id!r} not found")
                require_unrestricted(info.context, "define organization KPIs")
        except CrmkpiError as exc:
            return DefineKpiError.from_error(exc)
        registry = m.build_registry(info.context.plugins)

        async def change(session: AsyncSession) -> UserKpi:
            owner = await kpi_owner(
                session, workspace_id=workspace_id, organization_id=organization_id
            )
            return await define_kpi(
                session,
                registry,
                organization_id=owner,
                workspace_id=workspace_id,
                definition=input.definition,
            )

        result = await apply(info.context, change)
        if isinstance(result, CrmkpiError):
            return DefineKpiError.from_error(result)
        return DefineKpiSuccess(kpi=KpiDefinition.of_user(result))

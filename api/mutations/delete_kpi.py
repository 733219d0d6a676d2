"""``deleteKpi``: remove a user-defined KPI (editor)."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from api.context import Context
from api.mutations._support import MutationError, apply, require_unrestricted
from api.permissions import CanWrite
from core.errors import CrmkpiError
from core.models import UserKpi
from core.user_kpis import delete_kpi


@strawberry.type(description="The KPI is gone; kpi(name:) no longer answers it.")
class DeleteKpiSuccess:
    name: str


@strawberry.type(description="Nothing was deleted.")
class DeleteKpiError(MutationError):
    pass


DeleteKpiResult = Annotated[DeleteKpiSuccess | DeleteKpiError, strawberry.union("DeleteKpiResult")]


@strawberry.type
class DeleteKpiMutation:
    @strawberry.mutation(
        description="Delete a user-defined KPI of the organization or of a readable workspace "
        "(organization KPIs need a key not limited to some workspaces).",
        permission_classes=[CanWrite],
    )
    async def delete_kpi(self, info: Info[Context, Any], name: str) -> DeleteKpiResult:
        viewer = info.context.require_viewer()

        async def change(session: AsyncSession) -> UserKpi:
            row = await delete_kpi(
                session,
                organization_id=viewer.organization_id,
                name=name,
                workspace_ids=viewer.workspace_ids,
            )
            if row.workspace_id is None:
                require_unrestricted(info.context, "delete organization KPIs")
            return row

        result = await apply(info.context, change)
        if isinstance(result, CrmkpiError):
            return DeleteKpiError.from_error(result)
        return DeleteKpiSuccess(name=result.name)

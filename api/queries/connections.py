"""Queries on CRM connections and targets of the caller's workspaces."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from api.context import Context
from api.permissions import IsAuthenticated
from api.types.connections import CrmConnection
from api.types.targets import Target
from core.models import Connection as ConnectionRow
from core.models import Target as TargetRow

WorkspaceIdsArg = Annotated[
    list[strawberry.ID] | None,
    strawberry.argument(description="Only these workspaces (default: all readable ones)."),
]


@strawberry.type
class ConnectionsQuery:
    @strawberry.field(
        description="CRM connections with their status, by workspace and name.",
        permission_classes=[IsAuthenticated],
    )
    async def connections(
        self, info: Info[Context, Any], workspace_ids: WorkspaceIdsArg = None
    ) -> list[CrmConnection]:
        viewer = info.context.require_viewer()
        stmt = select(ConnectionRow).order_by(
            ConnectionRow.workspace_id, ConnectionRow.name, ConnectionRow.id
        )
        if workspace_ids is not None:
            wanted = [viewer.require_workspace(str(w)) for w in workspace_ids]
            stmt = stmt.where(ConnectionRow.workspace_id.in_(wanted))
        rows = await info.context.session.scalars(stmt)
        return [CrmConnection.from_row(r) for r in rows]

    @strawberry.field(
        description="One connection by id; null when unknown or not readable.",
        permission_classes=[IsAuthenticated],
    )
    async def connection(self, info: Info[Context, Any], id: strawberry.ID) -> CrmConnection | None:
        row = await info.context.session.scalar(
            select(ConnectionRow).where(ConnectionRow.id == str(id))
        )
        return CrmConnection.from_row(row) if row else None

    @strawberry.field(
        description="KPI targets, by KPI and period.", permission_classes=[IsAuthenticated]
    )
    async def targets(
        self,
        info: Info[Context, Any],
        workspace_ids: WorkspaceIdsArg = None,
        kpi: Annotated[str | None, strawberry.argument(description="Only this KPI.")] = None,
    ) -> list[Target]:
        viewer = info.context.require_viewer()
        stmt = select(TargetRow).order_by(TargetRow.kpi, TargetRow.period_start, TargetRow.id)
        if workspace_ids is not None:
            wanted = [viewer.require_workspace(str(w)) for w in workspace_ids]
            stmt = stmt.where(TargetRow.workspace_id.in_(wanted))
        if kpi is not None:
            stmt = stmt.where(TargetRow.kpi == kpi)
        rows = await info.context.session.scalars(stmt.limit(1000))
        return [Target.from_row(r) for r in rows]

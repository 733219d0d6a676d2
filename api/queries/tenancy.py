"""Queries on the caller and its workspaces."""

from __future__ import annotations

from typing import Any

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from api.context import Context
from api.permissions import IsAdmin, IsAuthenticated
from api.types.tenancy import ApiKey, Organization, Viewer, Workspace
from core.models import ApiKey as ApiKeyRow
from core.models import Organization as OrganizationRow
from core.models import Workspace as WorkspaceRow
from core.tenancy import manages_key


@strawberry.type
class TenancyQuery:
    @strawberry.field(
        description="The caller's organization, role and workspaces.",
        permission_classes=[IsAuthenticated],
    )
    def viewer(self, info: Info[Context, Any]) -> Viewer:
        return Viewer.from_viewer(info.context.require_viewer())

    @strawberry.field(
        description="The workspaces the caller may read, by name.",
        permission_classes=[IsAuthenticated],
    )
    async def workspaces(self, info: Info[Context, Any]) -> list[Workspace]:
        rows = await info.context.session.scalars(select(WorkspaceRow).order_by(WorkspaceRow.name))
        return [Workspace.from_row(r) for r in rows]

    @strawberry.field(
        description="One workspace by id; null when unknown or not readable.",
        permission_classes=[IsAuthenticated],
    )
    async def workspace(self, info: Info[Context, Any], id: strawberry.ID) -> Workspace | None:
        row = await info.context.session.scalar(
            select(WorkspaceRow).where(WorkspaceRow.id == str(id))
        )
        return Workspace.from_row(row) if row else None

    @strawberry.field(
        description="The caller's organization.", permission_classes=[IsAuthenticated]
    )
    async def organization(self, info: Info[Context, Any]) -> Organization | None:
        row = await info.context.session.scalar(select(OrganizationRow))
        return Organization.from_row(row) if row else None

    @strawberry.field(
        description="The organization's API keys (admin), newest first; never the keys.",
        permission_classes=[IsAdmin],
    )
    async def api_keys(self, info: Info[Context, Any]) -> list[ApiKey]:
        viewer = info.context.require_viewer()
        rows = await info.context.session.scalars(
            select(ApiKeyRow).order_by(ApiKeyRow.created_at.desc(), ApiKeyRow.id)
        )
        return [ApiKey.from_row(r) for r in rows if manages_key(viewer, r)]

"""``createWorkspace``: a new client business in the caller's organization (admin)."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from api.context import Context
from api.mutations._support import MutationError, apply, require_unrestricted
from api.permissions import IsAdmin
from api.types.tenancy import Workspace
from core.errors import CrmkpiError
from core.organizations import create_workspace


@strawberry.input(description="A new workspace and its calendar.")
class CreateWorkspaceInput:
    name: str = strawberry.field(description="1 to 200 characters.")
    timezone: str = strawberry.field(default="UTC", description="IANA timezone.")
    currency: str = strawberry.field(default="USD", description="ISO 4217 reporting currency.")
    fiscal_year_start_month: int = strawberry.field(default=1, description="1..12.")
    week_start: int = strawberry.field(default=1, description="ISO weekday 1 (Monday)..7.")
    inactivity_days: int = strawberry.field(
        default=365, description="Days after a win a customer stays active."
    )
    no_contact_days: int = strawberry.field(
        default=90, description="Days without activity before a customer counts as inactive."
    )


@strawberry.type(description="The workspace was created.")
class CreateWorkspaceSuccess:
    workspace: Workspace


@strawberry.type(description="No workspace was created.")
class CreateWorkspaceError(MutationError):
    pass


CreateWorkspaceResult = Annotated[
    CreateWorkspaceSuccess | CreateWorkspaceError, strawberry.union("CreateWorkspaceResult")
]


@strawberry.type
class CreateWorkspaceMutation:
    @strawberry.mutation(
        description="Create a workspace (needs an admin key of the whole organization).",
        permission_classes=[IsAdmin],
    )
    async def create_workspace(
        self, info: Info[Context, Any], input: CreateWorkspaceInput
    ) -> CreateWorkspaceResult:
        ctx = info.context
        org_id = ctx.require_viewer().organization_id

        async def change(session: Any) -> Any:
            require_unrestricted(ctx, "create workspaces")
            return await create_workspace(
                session,
                organization_id=org_id,
                name=input.name,
                timezone=input.timezone,
                currency=input.currency,
                fiscal_year_start_month=input.fiscal_year_start_month,
                week_start=input.week_start,
                inactivity_days=input.inactivity_days,
                no_contact_days=input.no_contact_days,
            )

        result = await apply(ctx, change)
        if isinstance(result, CrmkpiError):
            return CreateWorkspaceError.from_error(result)
        return CreateWorkspaceSuccess(workspace=Workspace.from_row(result))

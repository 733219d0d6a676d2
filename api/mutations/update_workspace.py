"""``updateWorkspace``: change a workspace's name, calendar or currency (admin)."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from api.context import Context
from api.mutations._support import MutationError, apply, present
from api.permissions import IsAdmin
from api.types.tenancy import Workspace
from core.errors import CrmkpiError
from core.organizations import update_workspace


@strawberry.input(description="The settings to change; fields left out keep their value.")
class UpdateWorkspaceInput:
    id: strawberry.ID
    name: str | None = None
    timezone: str | None = strawberry.field(default=None, description="IANA timezone.")
    currency: str | None = strawberry.field(default=None, description="ISO 4217 code.")
    fiscal_year_start_month: int | None = strawberry.field(default=None, description="1..12.")
    week_start: int | None = strawberry.field(default=None, description="ISO weekday 1..7.")
    inactivity_days: int | None = strawberry.field(default=None, description="1..3650.")
    no_contact_days: int | None = strawberry.field(default=None, description="1..3650.")


@strawberry.type(description="The workspace was changed.")
class UpdateWorkspaceSuccess:
    workspace: Workspace


@strawberry.type(description="The workspace was not changed.")
class UpdateWorkspaceError(MutationError):
    pass


UpdateWorkspaceResult = Annotated[
    UpdateWorkspaceSuccess | UpdateWorkspaceError, strawberry.union("UpdateWorkspaceResult")
]


@strawberry.type
class UpdateWorkspaceMutation:
    @strawberry.mutation(
        description="Change a workspace's settings; every KPI is recomputed with them.",
        permission_classes=[IsAdmin],
    )
    async def update_workspace(
        self, info: Info[Context, Any], input: UpdateWorkspaceInput
    ) -> UpdateWorkspaceResult:
        changes = present(
            {
                "name": input.name,
                "timezone": input.timezone,
                "currency": input.currency,
                "fiscal_year_start_month": input.fiscal_year_start_month,
                "week_start": input.week_start,
                "inactivity_days": input.inactivity_days,
                "no_contact_days": input.no_contact_days,
            }
        )
        result = await apply(info.context, lambda s: update_workspace(s, str(input.id), changes))
        if isinstance(result, CrmkpiError):
            return UpdateWorkspaceError.from_error(result)
        return UpdateWorkspaceSuccess(workspace=Workspace.from_row(result))

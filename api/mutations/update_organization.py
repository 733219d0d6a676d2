"""``updateOrganization``: rename the caller's organization (admin, not limited to some
workspaces: an organization-wide change)."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from api.context import Context
from api.mutations._support import MutationError, apply, require_unrestricted
from api.permissions import IsAdmin
from api.types.tenancy import Organization
from core.errors import CrmkpiError
from core.organizations import update_organization


@strawberry.input(description="The organization's new settings.")
class UpdateOrganizationInput:
    name: str = strawberry.field(description="1 to 200 characters.")


@strawberry.type(description="The organization was changed.")
class UpdateOrganizationSuccess:
    organization: Organization


@strawberry.type(description="The organization was not changed.")
class UpdateOrganizationError(MutationError):
    pass


UpdateOrganizationResult = Annotated[
    UpdateOrganizationSuccess | UpdateOrganizationError,
    strawberry.union("UpdateOrganizationResult"),
]


@strawberry.type
class UpdateOrganizationMutation:
    @strawberry.mutation(
        description="Rename the caller's organization.", permission_classes=[IsAdmin]
    )
    async def update_organization(
        self, info: Info[Context, Any], input: UpdateOrganizationInput
    ) -> UpdateOrganizationResult:
        org_id = info.context.require_viewer().organization_id
        try:
            require_unrestricted(info.context, "change the organization")
        except CrmkpiError as exc:
            return UpdateOrganizationError.from_error(exc)
        result = await apply(info.context, lambda s: update_organization(s, org_id, input.name))
        if isinstance(result, CrmkpiError):
            return UpdateOrganizationError.from_error(result)
        return UpdateOrganizationSuccess(organization=Organization.from_row(result))

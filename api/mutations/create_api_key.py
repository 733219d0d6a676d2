"""``createApiKey``: a new key for the caller's organization, shown once (admin)."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from api.context import Context
from api.errors import PermissionDeniedError
from api.mutations._support import MutationError, apply
from api.permissions import IsAdmin
from api.types.tenancy import ApiKey
from core.errors import CrmkpiError
from core.models import ApiKey as ApiKeyRow
from core.tenancy import MAX_KEY_WORKSPACES, create_api_key


@strawberry.input(description="A new API key: its role and, optionally, its workspaces.")
class CreateApiKeyInput:
    name: str = strawberry.field(default="", description="A label to recognise it by.")
    role: str = strawberry.field(default="viewer", description="admin, editor or viewer.")
    workspace_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Limit the key to these workspaces; null: all of them."
    )


@strawberry.type(description="The key was created. `key` is shown now and never again.")
class CreateApiKeySuccess:
    api_key: ApiKey
    key: str = strawberry.field(description="The bearer key. Store it now: it is not kept.")


@strawberry.type(description="No key was created.")
class CreateApiKeyError(MutationError):
    pass


CreateApiKeyResult = Annotated[
    CreateApiKeySuccess | CreateApiKeyError, strawberry.union("CreateApiKeyResult")
]


@strawberry.type
class CreateApiKeyMutation:
    @strawberry.mutation(
        description="Create an API key. A key limited to some workspaces can only create keys "
        "limited to some of the same workspaces.",
        permission_classes=[IsAdmin],
    )
    async def create_api_key(
        self, info: Info[Context, Any], input: CreateApiKeyInput
    ) -> CreateApiKeyResult:
        viewer = info.context.require_viewer()
        workspace_ids = (
            None if input.workspace_ids is None else [str(w) for w in input.workspace_ids]
        )

        async def change(session: AsyncSession) -> tuple[ApiKeyRow, str]:
            if workspace_ids is not None:
                for ws in workspace_ids[: MAX_KEY_WORKSPACES + 1]:  # more: refused by core
                    viewer.require_workspace(ws)
            elif viewer.restricted:
                raise PermissionDeniedError(
                    "an API key limited to some workspaces cannot create an organization-wide key"
                )
            return await create_api_key(
                session,
                organization_id=viewer.organization_id,
                role=input.role,
                workspace_ids=workspace_ids,
                name=input.name,
            )

        result = await apply(info.context, change)
        if isinstance(result, CrmkpiError):
            return CreateApiKeyError.from_error(result)
        row, plain = result
        return CreateApiKeySuccess(api_key=ApiKey.from_row(row), key=plain)

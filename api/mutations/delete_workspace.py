"""``deleteWorkspace``: remove a client workspace with all its data (admin)."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from api.context import Context
from api.mutations._support import MutationError, apply, require_unrestricted
from api.permissions import IsAdmin
from core.connections import delete_workspace
from core.errors import CrmkpiError


@strawberry.input(description="The workspace to delete, with its connections and data.")
class DeleteWorkspaceInput:
    id: strawberry.ID


@strawberry.type(description="The workspace and its data are gone.")
class DeleteWorkspaceSuccess:
    id: strawberry.ID
    deleted_records: int = strawberry.field(description="Synced records deleted.")


@strawberry.type(description="Nothing was deleted.")
class DeleteWorkspaceError(MutationError):
    pass


DeleteWorkspaceResult = Annotated[
    DeleteWorkspaceSuccess | DeleteWorkspaceError, strawberry.union("DeleteWorkspaceResult")
]


@strawberry.type
class DeleteWorkspaceMutation:
    @strawberry.mutation(
        description="Delete a workspace, its connections, records, imports and targets "
        "(needs an admin key of the whole organization).",
        permission_classes=[IsAdmin],
    )
    async def delete_workspace(
        self, info: Info[Context, Any], input: DeleteWorkspaceInput
    ) -> DeleteWorkspaceResult:
        ctx = info.context

        async def change(session: AsyncSession) -> int:
            require_unrestricted(ctx, "delete workspaces")
            return await delete_workspace(session, str(input.id))

        result = await apply(ctx, change)
        if isinstance(result, CrmkpiError):
            return DeleteWorkspaceError.from_error(result)
        return DeleteWorkspaceSuccess(id=input.id, deleted_records=result)

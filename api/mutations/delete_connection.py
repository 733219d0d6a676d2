"""``deleteConnection``: remove a connection and every record it synced (editor)."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from api.context import Context
from api.mutations._support import MutationError, apply
from api.permissions import CanWrite
from core.connections import delete_connection
from core.errors import CrmkpiError


@strawberry.input(description="The connection to delete, with all its data.")
class DeleteConnectionInput:
    id: strawberry.ID


@strawberry.type(description="The connection and its records are gone.")
class DeleteConnectionSuccess:
    id: strawberry.ID
    deleted_records: int = strawberry.field(description="Synced records deleted.")


@strawberry.type(description="Nothing was deleted.")
class DeleteConnectionError(MutationError):
    pass


DeleteConnectionResult = Annotated[
    DeleteConnectionSuccess | DeleteConnectionError, strawberry.union("DeleteConnectionResult")
]


@strawberry.type
class DeleteConnectionMutation:
    @strawberry.mutation(
        description="Delete a connection, its sync history and every record it synced.",
        permission_classes=[CanWrite],
    )
    async def delete_connection(
        self, info: Info[Context, Any], input: DeleteConnectionInput
    ) -> DeleteConnectionResult:
        result = await apply(info.context, lambda s: delete_connection(s, str(input.id)))
        if isinstance(result, CrmkpiError):
            return DeleteConnectionError.from_error(result)
        return DeleteConnectionSuccess(id=input.id, deleted_records=result)

"""``updateConnectionMappings``: replace a connection's field mappings (editor)."""

from __future__ import annotations

from typing import Annotated, Any, cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from api.context import Context
from api.mutations._support import MutationError, apply
from api.permissions import CanWrite
from api.types.connections import CrmConnection
from core.connections import update_mappings
from core.errors import CrmkpiError


@strawberry.input(description="The connection and its new mappings.")
class UpdateConnectionMappingsInput:
    id: strawberry.ID
    mappings: JSON = strawberry.field(
        description="A JSON object: stage kinds, lifecycle values, custom fields."
    )


@strawberry.type(description="The mappings apply from the next sync.")
class UpdateConnectionMappingsSuccess:
    connection: CrmConnection


@strawberry.type(description="The mappings were not changed.")
class UpdateConnectionMappingsError(MutationError):
    pass


UpdateConnectionMappingsResult = Annotated[
    UpdateConnectionMappingsSuccess | UpdateConnectionMappingsError,
    strawberry.union("UpdateConnectionMappingsResult"),
]


@strawberry.type
class UpdateConnectionMappingsMutation:
    @strawberry.mutation(
        description="Replace a connection's field mappings.", permission_classes=[CanWrite]
    )
    async def update_connection_mappings(
        self, info: Info[Context, Any], input: UpdateConnectionMappingsInput
    ) -> UpdateConnectionMappingsResult:
        result = await apply(
            info.context, lambda s: update_mappings(s, str(input.id), cast(Any, input.mappings))
        )
        if isinstance(result, CrmkpiError):
            return UpdateConnectionMappingsError.from_error(result)
        return UpdateConnectionMappingsSuccess(connection=CrmConnection.from_row(result))

"""``updateConnectionMappings``: change a connection's field mappings (editor)."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.scalars import JSON
from strawberry.types import Info

from api.context import Context
from api.mutations._support import MutationError, apply
from api.permissions import CanWrite
from api.types.connections import CrmConnection
from core.connections import get_connection
from core.errors import CrmkpiError
from core.models import Connection as ConnectionRow
from core.sync.connections import update_mappings


@strawberry.input(description="The connection and the mapping entries to change.")
class UpdateConnectionMappingsInput:
    id: strawberry.ID
    changes: JSON = strawberry.field(
        description="Per section (stage_kinds, lifecycle, custom_dimensions, deal_attributes), "
        "the entries to set; a null value removes an entry. Other entries are kept."
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
        description="Change a connection's field mappings (validated as a whole).",
        permission_classes=[CanWrite],
    )
    async def update_connection_mappings(
        self, info: Info[Context, Any], input: UpdateConnectionMappingsInput
    ) -> UpdateConnectionMappingsResult:
        connection_id = str(input.id)

        async def change(session: AsyncSession) -> ConnectionRow:
            await update_mappings(session, connection_id, input.changes)
            return await get_connection(session, connection_id)

        result = await apply(info.context, change)
        if isinstance(result, CrmkpiError):
            return UpdateConnectionMappingsError.from_error(result)
        return UpdateConnectionMappingsSuccess(connection=CrmConnection.from_row(result))

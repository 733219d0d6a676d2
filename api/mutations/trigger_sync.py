"""``triggerSync``: start a sync of a connection now; it runs in the background (editor)."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from api.context import Context
from api.mutations._support import MutationError
from api.permissions import CanWrite
from api.types.connections import CrmConnection
from core.errors import ConfigurationError, CrmkpiError, NotFoundError, ValidationError
from core.models import Connection as ConnectionRow
from core.models.enums import SyncMode


@strawberry.input(description="The connection to sync.")
class TriggerSyncInput:
    connection_id: strawberry.ID
    full: bool = strawberry.field(
        default=False, description="Read everything, not only what changed."
    )


@strawberry.type(description="The sync started or is queued; follow it in connection.lastRuns.")
class TriggerSyncSuccess:
    connection: CrmConnection
    queued: bool = strawberry.field(
        description="true: queued for the sync workers; false: running in the API process."
    )


@strawberry.type(description="No sync was started.")
class TriggerSyncError(MutationError):
    pass


TriggerSyncResult = Annotated[
    TriggerSyncSuccess | TriggerSyncError, strawberry.union("TriggerSyncResult")
]


@strawberry.type
class TriggerSyncMutation:
    @strawberry.mutation(
        description="Start a sync now (refused while one of the connection runs).",
        permission_classes=[CanWrite],
    )
    async def trigger_sync(
        self, info: Info[Context, Any], input: TriggerSyncInput
    ) -> TriggerSyncResult:
        ctx = info.context
        connection_id = str(input.connection_id)
        try:
            row = await ctx.session.get(ConnectionRow, connection_id)
            if row is None:
                raise NotFoundError(f"connection {connection_id!r} not found")
            if ctx.syncs is None:
                raise ConfigurationError("this server does not run syncs")
            mode = SyncMode.FULL if input.full else SyncMode.INCREMENTAL
            if not await ctx.syncs.launch(connection_id, mode):
                raise ValidationError(
                    f"a sync of connection {connection_id!r} is already running or queued"
                )
        except CrmkpiError as exc:
            return TriggerSyncError.from_error(exc)
        return TriggerSyncSuccess(
            connection=CrmConnection.from_row(row), queued=ctx.syncs.uses_queue
        )

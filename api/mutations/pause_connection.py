"""``pauseConnection``: stop (or resume) a connection's scheduled syncs (editor)."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from api.context import Context
from api.mutations._support import MutationError, apply
from api.permissions import CanWrite
from api.types.connections import CrmConnection
from core.connections import set_paused
from core.errors import CrmkpiError


@strawberry.input(description="The connection, and whether it is paused.")
class PauseConnectionInput:
    id: strawberry.ID
    paused: bool = strawberry.field(default=True, description="false resumes it.")


@strawberry.type(description="The connection's status changed.")
class PauseConnectionSuccess:
    connection: CrmConnection


@strawberry.type(description="The connection was not changed.")
class PauseConnectionError(MutationError):
    pass


PauseConnectionResult = Annotated[
    PauseConnectionSuccess | PauseConnectionError, strawberry.union("PauseConnectionResult")
]


@strawberry.type
class PauseConnectionMutation:
    @strawberry.mutation(
        description="Pause a connection (its data stays) or resume it.",
        permission_classes=[CanWrite],
    )
    async def pause_connection(
        self, info: Info[Context, Any], input: PauseConnectionInput
    ) -> PauseConnectionResult:
        result = await apply(info.context, lambda s: set_paused(s, str(input.id), input.paused))
        if isinstance(result, CrmkpiError):
            return PauseConnectionError.from_error(result)
        return PauseConnectionSuccess(connection=CrmConnection.from_row(result))

"""``setConnectionLookback``: how far incremental syncs re-read before their cursor (editor).

The same use case as ``crmkpi connection lookback`` (core.connections.set_lookback).
"""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from api.context import Context
from api.mutations._support import MutationError, apply
from api.permissions import CanWrite
from api.types.connections import CrmConnection
from core.connections import set_lookback
from core.errors import CrmkpiError
from core.sync.connector import DEFAULT_LOOKBACK

_DEFAULT_MINUTES = int(DEFAULT_LOOKBACK.total_seconds() // 60)


@strawberry.input(description="The connection and its look-back.")
class SetConnectionLookbackInput:
    id: strawberry.ID
    minutes: int | None = strawberry.field(
        description="Whole minutes from 0 (none) to 10080 (a week); null restores the default "
        f"({_DEFAULT_MINUTES})."
    )


@strawberry.type(description="The connection's look-back changed.")
class SetConnectionLookbackSuccess:
    connection: CrmConnection
    lookback_minutes: int = strawberry.field(description="The look-back now in force.")


@strawberry.type(description="The look-back was not changed.")
class SetConnectionLookbackError(MutationError):
    pass


SetConnectionLookbackResult = Annotated[
    SetConnectionLookbackSuccess | SetConnectionLookbackError,
    strawberry.union("SetConnectionLookbackResult"),
]


@strawberry.type
class SetConnectionLookbackMutation:
    @strawberry.mutation(
        description="Set how many minutes incremental syncs re-read before their last cursor "
        "(late-indexed CRM changes are not missed).",
        permission_classes=[CanWrite],
    )
    async def set_connection_lookback(
        self, info: Info[Context, Any], input: SetConnectionLookbackInput
    ) -> SetConnectionLookbackResult:
        result = await apply(info.context, lambda s: set_lookback(s, str(input.id), input.minutes))
        if isinstance(result, CrmkpiError):
            return SetConnectionLookbackError.from_error(result)
        minutes = result.lookback_minutes
        return SetConnectionLookbackSuccess(
            connection=CrmConnection.from_row(result),
            lookback_minutes=_DEFAULT_MINUTES if minutes is None else minutes,
        )

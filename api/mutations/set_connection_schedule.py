"""``setConnectionSchedule``: when a connection syncs and reconciles (editor).

The use case is core.connections.schedule_connection, behind ``crmkpi connection
schedule`` too: both accept and refuse the same input.
"""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from api.context import Context
from api.mutations._support import MutationError, apply
from api.permissions import CanWrite
from api.types.connections import CrmConnection
from core.connections import schedule_connection
from core.errors import CrmkpiError


@strawberry.input(
    description="Exactly one of every, cron or off sets the schedule; fullSync alone may "
    "change the reconciliation only."
)
class SetConnectionScheduleInput:
    id: strawberry.ID
    every: str | None = strawberry.field(default=None, description="An interval: 15m, 1h, 1d.")
    cron: str | None = strawberry.field(default=None, description="A cron expression (UTC).")
    off: bool = strawberry.field(default=False, description="true: manual syncs only.")
    full_sync: str | None = strawberry.field(
        default=None,
        description="Full reconciliation: an interval, a cron expression, 'off' or "
        "'default' (nightly); null keeps it.",
    )


@strawberry.type(description="The connection's schedule changed.")
class SetConnectionScheduleSuccess:
    connection: CrmConnection


@strawberry.type(description="The schedule was not changed.")
class SetConnectionScheduleError(MutationError):
    pass


SetConnectionScheduleResult = Annotated[
    SetConnectionScheduleSuccess | SetConnectionScheduleError,
    strawberry.union("SetConnectionScheduleResult"),
]


@strawberry.type
class SetConnectionScheduleMutation:
    @strawberry.mutation(
        description="Set or clear a connection's sync schedule and its full reconciliation.",
        permission_classes=[CanWrite],
    )
    async def set_connection_schedule(
        self, info: Info[Context, Any], input: SetConnectionScheduleInput
    ) -> SetConnectionScheduleResult:
        result = await apply(
            info.context,
            lambda s: schedule_connection(
                s,
                str(input.id),
                every=input.every,
                cron=input.cron,
                off=input.off,
                full_sync=input.full_sync,
            ),
        )
        if isinstance(result, CrmkpiError):
            return SetConnectionScheduleError.from_error(result)
        return SetConnectionScheduleSuccess(connection=CrmConnection.from_row(result))

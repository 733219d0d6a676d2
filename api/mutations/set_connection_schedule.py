"""``setConnectionSchedule``: when a connection syncs and reconciles (editor).

Accepts exactly what ``crmkpi connection schedule`` accepts (the validation is
core.sync.schedules, shared by both).
"""

from __future__ import annotations

from types import EllipsisType
from typing import Annotated, Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from api.context import Context
from api.mutations._support import MutationError, apply
from api.permissions import CanWrite
from api.types.connections import CrmConnection
from core.connections import set_schedule
from core.errors import CrmkpiError
from core.models import Connection as ConnectionRow
from core.sync.schedules import parse_full_sync, schedule_from_options


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


async def _change(session: AsyncSession, input: SetConnectionScheduleInput) -> ConnectionRow:
    keep = input.every is None and input.cron is None and not input.off
    schedule: str | EllipsisType | None = (
        ...
        if keep and input.full_sync is not None
        else schedule_from_options(input.every, input.cron, input.off)
    )
    full: str | EllipsisType | None = (
        ... if input.full_sync is None else parse_full_sync(input.full_sync)
    )
    return await set_schedule(session, str(input.id), schedule, full)


@strawberry.type
class SetConnectionScheduleMutation:
    @strawberry.mutation(
        description="Set or clear a connection's sync schedule and its full reconciliation.",
        permission_classes=[CanWrite],
    )
    async def set_connection_schedule(
        self, info: Info[Context, Any], input: SetConnectionScheduleInput
    ) -> SetConnectionScheduleResult:
        result = await apply(info.context, lambda s: _change(s, input))
        if isinstance(result, CrmkpiError):
            return SetConnectionScheduleError.from_error(result)
        return SetConnectionScheduleSuccess(connection=CrmConnection.from_row(result))

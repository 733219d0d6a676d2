"""`setTarget`: the GraphQL twin of `crmkpi target set`."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from api.context import Context
from api.permissions import CanWrite
from api.types.metrics import SegmentInput
from core.errors import ValidationError
from core.metrics import build_registry
from core.targets import segment_of, set_target


@strawberry.input(description="A target for one KPI, local period [start, end) and segment.")
class SetTargetInput:
    workspace_id: strawberry.ID
    kpi: str = strawberry.field(description="A KPI name, e.g. salesRevenue.")
    start: date = strawberry.field(description="First local day.")
    end: date = strawberry.field(description="The day after the last (exclusive).")
    value: float
    segment: SegmentInput | None = strawberry.field(
        default=None, description="Only when querying this exact segment."
    )


@strawberry.type(description="A target as stored; setting it again replaces its value.")
class SetTargetSuccess:
    id: strawberry.ID
    kpi: str
    start: date
    end: date
    value: float
    segment: str = strawberry.field(description="Canonical JSON of the segment ('' for none).")


@strawberry.type(description="The target was refused; nothing changed.")
class SetTargetError:
    message: str


SetTargetResult = Annotated[SetTargetSuccess | SetTargetError, strawberry.union("SetTargetResult")]


@strawberry.type
class SetTargetMutation:
    @strawberry.mutation(
        description="Set or replace the target of a KPI for a period and optional segment; "
        "KPI results of that exact period and segment then carry target { value attainment }.",
        permission_classes=[CanWrite],
    )
    async def set_target(self, info: Info[Context, Any], input: SetTargetInput) -> SetTargetResult:
        workspace_id = info.context.require_viewer().require_workspace(str(input.workspace_id))
        segment = segment_of(input.segment.to_core()) if input.segment else None
        known = build_registry(info.context.plugins).kpis
        async with info.context.sessionmaker() as session:
            try:
                target = await set_target(
                    session,
                    workspace_id=workspace_id,
                    kpi=input.kpi,
                    start=input.start,
                    end=input.end,
                    value=input.value,
                    segment=segment,
                    known_kpis=known,
                )
            except ValidationError as exc:
                return SetTargetError(message=str(exc))
            await session.commit()
        return SetTargetSuccess(
            id=strawberry.ID(str(target.id)),
            kpi=target.kpi,
            start=target.period_start,
            end=target.period_end,
            value=float(target.value),
            segment=json.dumps(target.segment or {}, sort_keys=True),
        )

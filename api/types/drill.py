"""``records`` on KPI results: the records behind a number, a page at a time.

The rows are chosen by core.metrics.drill from the KPI's own measures, with the frame and
segment the number was computed with (a series bucket's frame, a breakdown group's narrowed
segment); this module only pages them and turns them into record nodes. The session is the
request's tenant-scoped one (core.tenancy), as for every other query.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from api.context import Context
from api.pagination import DEFAULT_PAGE_SIZE, check_page_size, paginate_parts
from api.types.pagination import Connection
from api.types.records import SyncedRecord, record_node
from core.errors import ValidationError
from core.metrics.drill import Side, record_parts
from core.metrics.registry import MetricRegistry
from core.metrics.segments import Segment
from core.metrics.types import Frame

RecordSide = strawberry.enum(
    Side,
    name="RecordSide",
    description="Which records of a KPI: those behind its numerator (for a count or a sum, "
    "its value) or its denominator.",
)

SideArg = Annotated[
    RecordSide,  # type: ignore[valid-type]
    strawberry.argument(description="NUMERATOR (default) or DENOMINATOR."),
]
FirstArg = Annotated[
    int, strawberry.argument(description="Page size (at most the server's maximum, 500).")
]
AfterArg = Annotated[str | None, strawberry.argument(description="The previous endCursor.")]

RECORDS_DESCRIPTION = (
    "The records behind the numerator (default) or the denominator: the deals, leads, "
    "contacts, accounts or activities the KPI counted or summed, with the same period, "
    "segment and workspaces. A record is listed once even when it counts several times."
)


@dataclass(frozen=True)
class DrillTarget:
    """What a number was computed from: KPI, workspaces, currency, frame and segment."""

    registry: MetricRegistry
    kpi: str
    workspace_ids: tuple[str, ...]
    currency: str
    frame: Frame | None = None
    segment: Segment | None = None

    def narrowed(self, frame: Frame | None, segment: Segment | None) -> DrillTarget:
        return replace(self, frame=frame or self.frame, segment=segment)


async def _records(
    root: strawberry.Parent[Any],
    info: Info[Context, Any],
    first: FirstArg = DEFAULT_PAGE_SIZE,
    after: AfterArg = None,
    side: SideArg = Side.NUMERATOR,
) -> Connection[SyncedRecord] | None:
    """Nullable: the "(none)" and "other" groups of a breakdown have no records to list,
    and their refusal must null this field alone, not the whole breakdown (issue #20)."""
    return await kpi_records(info, root.drill, side=Side(side), first=first, after=after)


def records_field(description: str) -> Any:
    """The ``records`` field of KpiResult, KpiPoint and KpiGroup (each has ``drill``)."""
    return strawberry.field(resolver=_records, description=description)


async def kpi_records(
    info: Info[Context, Any],
    target: DrillTarget | None,
    *,
    side: Side,
    first: int,
    after: str | None,
) -> Connection[SyncedRecord]:
    ctx = info.context
    check_page_size(first, ctx.settings.max_page_size)
    if target is None or target.frame is None or target.segment is None:
        raise ValidationError("these records cannot be listed (an '(none)' or 'other' group)")
    parts = await record_parts(
        ctx.session,
        target.registry,
        target.kpi,
        Side(side),
        target.frame,
        segment=target.segment,
        workspace_ids=target.workspace_ids,
        currency=target.currency,
    )
    return await paginate_parts(
        ctx.session,
        [(p.model, p.condition) for p in parts],
        kind=f"{target.kpi}.{Side(side).value.lower()}",
        first=first,
        after=after,
        to_node=record_node,
    )

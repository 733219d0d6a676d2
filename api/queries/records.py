"""Drill-down lists of deals, contacts, leads, accounts and activities, and single records.

Every list shares one implementation (``list_records``): workspaces checked against the
caller, the segment and period turned into conditions by core.records, keyset pages by
api.pagination. The tenant scoping itself is not here: core.tenancy applies it to every
statement of the request's session.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import strawberry
from sqlalchemy import select
from strawberry.tools import create_type
from strawberry.types import Info

from api.context import Context
from api.pagination import DEFAULT_PAGE_SIZE, check_page_size, paginate
from api.permissions import IsAuthenticated
from api.types.filters import RecordPeriodInput, RecordSegmentInput
from api.types.pagination import Connection
from api.types.records import Account, Activity, Contact, Deal, Lead, SyncedRecord
from core.models import Account as AccountRow
from core.models import Activity as ActivityRow
from core.models import Contact as ContactRow
from core.models import Deal as DealRow
from core.models import Lead as LeadRow
from core.models import SyncedMixin
from core.models import Workspace as WorkspaceRow
from core.records import live, parse_record_id, period_condition, plural, segment_conditions

NodeT = TypeVar("NodeT")

WorkspaceIdsArg = Annotated[
    list[strawberry.ID] | None,
    strawberry.argument(
        description="Only these workspaces (default: every workspace the API key can read)."
    ),
]
SegmentArg = Annotated[
    RecordSegmentInput | None, strawberry.argument(description="Filters, as in metrics.")
]
PeriodArg = Annotated[
    RecordPeriodInput | None, strawberry.argument(description="Only records of this period.")
]
FirstArg = Annotated[
    int, strawberry.argument(description="Page size (at most the server's maximum, 500).")
]
AfterArg = Annotated[str | None, strawberry.argument(description="The previous endCursor.")]


async def list_records(
    info: Info[Context, Any],
    model: type[SyncedMixin],
    to_node: Callable[[Any], NodeT],
    *,
    workspace_ids: Sequence[strawberry.ID] | None,
    segment: RecordSegmentInput | None,
    period: RecordPeriodInput | None,
    first: int,
    after: str | None,
) -> Connection[NodeT]:
    """One page of ``model`` rows the caller may read, filtered by segment and period."""
    ctx = info.context
    viewer = ctx.require_viewer()
    check_page_size(first, ctx.settings.max_page_size)
    conditions = [live(model)]
    wanted = [viewer.require_workspace(str(w)) for w in workspace_ids or []]
    if workspace_ids is not None:
        conditions.append(model.workspace_id.in_(wanted))
    if segment is not None:
        conditions += segment_conditions(model, segment.to_segment())
    if period is not None:
        parsed = period.to_period()
        stmt = select(WorkspaceRow.id, WorkspaceRow.timezone)
        if workspace_ids is not None:
            stmt = stmt.where(WorkspaceRow.id.in_(wanted))
        timezones = {ws_id: zone for ws_id, zone in (await ctx.session.execute(stmt)).all()}
        conditions.append(period_condition(model, parsed, timezones))
    return await paginate(
        ctx.session,
        model,
        conditions,
        kind=plural(model),
        first=first,
        after=after,
        to_node=to_node,
    )


async def get_record(info: Info[Context, Any], model: type[SyncedMixin], id: str) -> Any:
    """The live row with this id, or None: a foreign id reads exactly like a missing one."""
    row_id = parse_record_id(id)
    if row_id is None:
        return None
    return await info.context.session.scalar(select(model).where(model.id == row_id, live(model)))


@dataclass(frozen=True, slots=True)
class RecordKind:
    """One kind of record readable as a list (``plural``) and one by id (``singular``)."""

    plural: str
    singular: str
    node: type[SyncedRecord]
    model: type[SyncedMixin]
    list_description: str


#: Schema order: the lists, then the single records, each in this order.
KINDS = (
    RecordKind(
        "deals",
        "deal",
        Deal,
        DealRow,
        "Deals, for drill-down: filter by segment and period, page with first/after.",
    ),
    RecordKind(
        "contacts",
        "contact",
        Contact,
        ContactRow,
        "Contacts (people), filtered and paged like deals.",
    ),
    RecordKind("leads", "lead", Lead, LeadRow, "Leads, filtered and paged like deals."),
    RecordKind(
        "accounts",
        "account",
        Account,
        AccountRow,
        "Accounts (companies), filtered and paged like deals.",
    ),
    RecordKind(
        "activities",
        "activity",
        Activity,
        ActivityRow,
        "Activities (calls, emails, meetings, notes, tasks), filtered and paged.",
    ),
)


def _list_field(kind: RecordKind) -> Any:
    async def resolve(
        info: Info[Context, Any],
        workspace_ids: WorkspaceIdsArg = None,
        segment: SegmentArg = None,
        period: PeriodArg = None,
        first: FirstArg = DEFAULT_PAGE_SIZE,
        after: AfterArg = None,
    ) -> Any:
        return await list_records(
            info,
            kind.model,
            kind.node.from_row,
            workspace_ids=workspace_ids,
            segment=segment,
            period=period,
            first=first,
            after=after,
        )

    resolve.__name__ = resolve.__qualname__ = kind.plural  # create_type keys by python name
    connection: Any = Connection
    resolve.__annotations__ = {**resolve.__annotations__, "return": connection[kind.node]}
    return strawberry.field(
        resolver=resolve,
        name=kind.plural,
        description=kind.list_description,
        permission_classes=[IsAuthenticated],
    )


def _single_field(kind: RecordKind) -> Any:
    async def resolve(info: Info[Context, Any], id: strawberry.ID) -> Any:
        row = await get_record(info, kind.model, id)
        return kind.node.from_row(row) if row else None

    resolve.__name__ = resolve.__qualname__ = kind.singular
    resolve.__annotations__ = {**resolve.__annotations__, "return": kind.node | None}
    return strawberry.field(
        resolver=resolve,
        name=kind.singular,
        description=f"One {kind.singular} by id; null when unknown or not readable.",
        permission_classes=[IsAuthenticated],
    )


RecordsQuery = create_type(
    "RecordsQuery", [_list_field(k) for k in KINDS] + [_single_field(k) for k in KINDS]
)

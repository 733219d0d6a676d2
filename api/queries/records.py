"""Drill-down lists of deals, contacts, leads, accounts and activities, and single records.

Every list shares one implementation (``list_records``): workspaces checked against the
caller, the segment and period turned into conditions by core.records, keyset pages by
api.pagination. The tenant scoping itself is not here: core.tenancy applies it to every
statement of the request's session.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any, TypeVar

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from api.context import Context
from api.pagination import DEFAULT_PAGE_SIZE, check_page_size, paginate
from api.permissions import IsAuthenticated
from api.types.filters import RecordPeriodInput, RecordSegmentInput
from api.types.pagination import Connection
from api.types.records import Account, Activity, Contact, Deal, Lead
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


@strawberry.type
class RecordsQuery:
    @strawberry.field(
        description="Deals, for drill-down: filter by segment and period, page with first/after.",
        permission_classes=[IsAuthenticated],
    )
    async def deals(
        self,
        info: Info[Context, Any],
        workspace_ids: WorkspaceIdsArg = None,
        segment: SegmentArg = None,
        period: PeriodArg = None,
        first: FirstArg = DEFAULT_PAGE_SIZE,
        after: AfterArg = None,
    ) -> Connection[Deal]:
        return await list_records(
            info,
            DealRow,
            Deal.from_row,
            workspace_ids=workspace_ids,
            segment=segment,
            period=period,
            first=first,
            after=after,
        )

    @strawberry.field(
        description="Contacts (people), filtered and paged like deals.",
        permission_classes=[IsAuthenticated],
    )
    async def contacts(
        self,
        info: Info[Context, Any],
        workspace_ids: WorkspaceIdsArg = None,
        segment: SegmentArg = None,
        period: PeriodArg = None,
        first: FirstArg = DEFAULT_PAGE_SIZE,
        after: AfterArg = None,
    ) -> Connection[Contact]:
        return await list_records(
            info,
            ContactRow,
            Contact.from_row,
            workspace_ids=workspace_ids,
            segment=segment,
            period=period,
            first=first,
            after=after,
        )

    @strawberry.field(
        description="Leads, filtered and paged like deals.",
        permission_classes=[IsAuthenticated],
    )
    async def leads(
        self,
        info: Info[Context, Any],
        workspace_ids: WorkspaceIdsArg = None,
        segment: SegmentArg = None,
        period: PeriodArg = None,
        first: FirstArg = DEFAULT_PAGE_SIZE,
        after: AfterArg = None,
    ) -> Connection[Lead]:
        return await list_records(
            info,
            LeadRow,
            Lead.from_row,
            workspace_ids=workspace_ids,
            segment=segment,
            period=period,
            first=first,
            after=after,
        )

    @strawberry.field(
        description="Accounts (companies), filtered and paged like deals.",
        permission_classes=[IsAuthenticated],
    )
    async def accounts(
        self,
        info: Info[Context, Any],
        workspace_ids: WorkspaceIdsArg = None,
        segment: SegmentArg = None,
        period: PeriodArg = None,
        first: FirstArg = DEFAULT_PAGE_SIZE,
        after: AfterArg = None,
    ) -> Connection[Account]:
        return await list_records(
            info,
            AccountRow,
            Account.from_row,
            workspace_ids=workspace_ids,
            segment=segment,
            period=period,
            first=first,
            after=after,
        )

    @strawberry.field(
        description="Activities (calls, emails, meetings, notes, tasks), filtered and paged.",
        permission_classes=[IsAuthenticated],
    )
    async def activities(
        self,
        info: Info[Context, Any],
        workspace_ids: WorkspaceIdsArg = None,
        segment: SegmentArg = None,
        period: PeriodArg = None,
        first: FirstArg = DEFAULT_PAGE_SIZE,
        after: AfterArg = None,
    ) -> Connection[Activity]:
        return await list_records(
            info,
            ActivityRow,
            Activity.from_row,
            workspace_ids=workspace_ids,
            segment=segment,
            period=period,
            first=first,
            after=after,
        )

    @strawberry.field(
        description="One deal by id; null when unknown or not readable.",
        permission_classes=[IsAuthenticated],
    )
    async def deal(self, info: Info[Context, Any], id: strawberry.ID) -> Deal | None:
        row = await get_record(info, DealRow, id)
        return Deal.from_row(row) if row else None

    @strawberry.field(
        description="One contact by id; null when unknown or not readable.",
        permission_classes=[IsAuthenticated],
    )
    async def contact(self, info: Info[Context, Any], id: strawberry.ID) -> Contact | None:
        row = await get_record(info, ContactRow, id)
        return Contact.from_row(row) if row else None

    @strawberry.field(
        description="One lead by id; null when unknown or not readable.",
        permission_classes=[IsAuthenticated],
    )
    async def lead(self, info: Info[Context, Any], id: strawberry.ID) -> Lead | None:
        row = await get_record(info, LeadRow, id)
        return Lead.from_row(row) if row else None

    @strawberry.field(
        description="One account by id; null when unknown or not readable.",
        permission_classes=[IsAuthenticated],
    )
    async def account(self, info: Info[Context, Any], id: strawberry.ID) -> Account | None:
        row = await get_record(info, AccountRow, id)
        return Account.from_row(row) if row else None

    @strawberry.field(
        description="One activity by id; null when unknown or not readable.",
        permission_classes=[IsAuthenticated],
    )
    async def activity(self, info: Info[Context, Any], id: strawberry.ID) -> Activity | None:
        row = await get_record(info, ActivityRow, id)
        return Activity.from_row(row) if row else None

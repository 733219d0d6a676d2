"""Synced CRM records as GraphQL types; references resolve through the request's DataLoaders.

A record's ``id`` is its integer id as a string (stable, and unguessable across tenants only
together with the workspace scoping of core.tenancy, which answers "not found" for any id
outside the caller's workspaces).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.scalars import JSON
from strawberry.types import Info

from api.context import Context
from api.loaders import RemoteKey, load_ref
from core.models import Account as AccountRow
from core.models import Activity as ActivityRow
from core.models import Contact as ContactRow
from core.models import Deal as DealRow
from core.models import Lead as LeadRow
from core.models import Pipeline as PipelineRow
from core.models import Stage as StageRow
from core.models import SyncedMixin
from core.models import User as UserRow

NodeT = TypeVar("NodeT")


def _synced(row: SyncedMixin) -> dict[str, Any]:
    return {
        "id": strawberry.ID(str(row.id)),
        "workspace_id": strawberry.ID(row.workspace_id),
        "connection_id": strawberry.ID(row.connection_id),
        "remote_id": row.remote_id,
        "remote_created_at": row.remote_created_at,
        "remote_updated_at": row.remote_updated_at,
        "custom": row.custom,
    }


async def _ref(
    loader: DataLoader[RemoteKey, Any],
    to_node: Callable[[Any], NodeT],
    connection_id: str,
    remote_id: str | None,
) -> NodeT | None:
    """The GraphQL node of a referenced record, batched through the request's loader."""
    row = await load_ref(loader, connection_id, remote_id)
    return to_node(row) if row else None


@strawberry.interface(description="Fields every record copied from a CRM carries.")
class SyncedRecord:
    id: strawberry.ID = strawberry.field(description="The record's id in crmkpi.")
    workspace_id: strawberry.ID = strawberry.field(description="The workspace it belongs to.")
    connection_id: strawberry.ID = strawberry.field(description="The CRM connection it came from.")
    remote_id: str = strawberry.field(description="Its id in the CRM.")
    remote_created_at: datetime | None = strawberry.field(description="Created in the CRM (UTC).")
    remote_updated_at: datetime | None = strawberry.field(description="Last changed in the CRM.")
    custom: JSON | None = strawberry.field(description="Mapped custom fields.")


@strawberry.type(description="A CRM user: the owner of deals, leads, contacts and activities.")
class User(SyncedRecord):
    name: str | None = strawberry.field(description="Display name.")
    email: str | None = strawberry.field(description="Email address.")
    active: bool = strawberry.field(description="False once deactivated in the CRM.")

    @classmethod
    def from_row(cls, row: UserRow) -> User:
        return cls(**_synced(row), name=row.name, email=row.email, active=row.active)


@strawberry.type(description="A sales pipeline.")
class Pipeline(SyncedRecord):
    name: str | None = strawberry.field(description="Display name.")

    @classmethod
    def from_row(cls, row: PipelineRow) -> Pipeline:
        return cls(**_synced(row), name=row.name)


@strawberry.type(description="A pipeline stage, with the kind it maps to.")
class Stage(SyncedRecord):
    name: str | None = strawberry.field(description="Display name.")
    display_order: int = strawberry.field(description="Position in its pipeline.")
    probability: float | None = strawberry.field(description="Win probability in [0, 1].")
    kind: str | None = strawberry.field(
        description="LEAD_IN, QUALIFIED, PROPOSAL, NEGOTIATION, WON or LOST; null when unmapped."
    )

    @classmethod
    def from_row(cls, row: StageRow) -> Stage:
        return cls(
            **_synced(row),
            name=row.name,
            display_order=row.display_order,
            probability=row.probability,
            kind=row.kind,
        )


@strawberry.type(description="A company (account / organization in the CRM).")
class Account(SyncedRecord):
    name: str | None = strawberry.field(description="Company name.")
    country: str | None = strawberry.field(description="Country.")
    region: str | None = strawberry.field(description="Region or state.")
    industry: str | None = strawberry.field(description="Industry.")
    source: str | None = strawberry.field(description="Lead source or channel.")
    owner_remote_id: strawberry.Private[str | None]

    @strawberry.field(description="The user who owns it.")
    async def owner(self, info: Info[Context, Any]) -> User | None:
        return await _ref(
            info.context.loaders.user, User.from_row, self.connection_id, self.owner_remote_id
        )

    @classmethod
    def from_row(cls, row: AccountRow) -> Account:
        return cls(
            **_synced(row),
            name=row.name,
            country=row.country,
            region=row.region,
            industry=row.industry,
            source=row.source,
            owner_remote_id=row.owner_remote_id,
        )


@strawberry.type(description="A person at a company.")
class Contact(SyncedRecord):
    name: str | None = strawberry.field(description="Full name.")
    email: str | None = strawberry.field(description="Email address.")
    lifecycle_stage: str | None = strawberry.field(description="The CRM's lifecycle stage.")
    source: str | None = strawberry.field(description="Lead source or channel.")
    mql_at: datetime | None = strawberry.field(description="Became marketing-qualified.")
    sql_at: datetime | None = strawberry.field(description="Became sales-qualified.")
    customer_at: datetime | None = strawberry.field(description="Became a customer.")
    owner_remote_id: strawberry.Private[str | None]
    account_remote_id: strawberry.Private[str | None]

    @strawberry.field(description="The user who owns it.")
    async def owner(self, info: Info[Context, Any]) -> User | None:
        return await _ref(
            info.context.loaders.user, User.from_row, self.connection_id, self.owner_remote_id
        )

    @strawberry.field(description="The company the person works for.")
    async def account(self, info: Info[Context, Any]) -> Account | None:
        return await _ref(
            info.context.loaders.account,
            Account.from_row,
            self.connection_id,
            self.account_remote_id,
        )

    @classmethod
    def from_row(cls, row: ContactRow) -> Contact:
        return cls(
            **_synced(row),
            name=row.name,
            email=row.email,
            lifecycle_stage=row.lifecycle_stage,
            source=row.source,
            mql_at=row.mql_at,
            sql_at=row.sql_at,
            customer_at=row.customer_at,
            owner_remote_id=row.owner_remote_id,
            account_remote_id=row.account_remote_id,
        )


@strawberry.type(description="A prospect not yet a customer.")
class Lead(SyncedRecord):
    name: str | None = strawberry.field(description="Name.")
    status: str | None = strawberry.field(description="The CRM's lead status.")
    source: str | None = strawberry.field(description="Lead source or channel.")
    mql_at: datetime | None = strawberry.field(description="Became marketing-qualified.")
    sql_at: datetime | None = strawberry.field(description="Became sales-qualified.")
    converted_at: datetime | None = strawberry.field(
        description="The CRM's own conversion (to an opportunity), not the KPI conversion."
    )
    owner_remote_id: strawberry.Private[str | None]
    account_remote_id: strawberry.Private[str | None]

    @strawberry.field(description="The user who owns it.")
    async def owner(self, info: Info[Context, Any]) -> User | None:
        return await _ref(
            info.context.loaders.user, User.from_row, self.connection_id, self.owner_remote_id
        )

    @strawberry.field(description="The company of the lead, when known.")
    async def account(self, info: Info[Context, Any]) -> Account | None:
        return await _ref(
            info.context.loaders.account,
            Account.from_row,
            self.connection_id,
            self.account_remote_id,
        )

    @classmethod
    def from_row(cls, row: LeadRow) -> Lead:
        return cls(
            **_synced(row),
            name=row.name,
            status=row.status,
            source=row.source,
            mql_at=row.mql_at,
            sql_at=row.sql_at,
            converted_at=row.converted_at,
            owner_remote_id=row.owner_remote_id,
            account_remote_id=row.account_remote_id,
        )


@strawberry.type(description="An opportunity: amount, stage, owner, account and outcome.")
class Deal(SyncedRecord):
    name: str | None = strawberry.field(description="Deal name.")
    amount: Decimal | None = strawberry.field(description="Amount in `currency`.")
    currency: str | None = strawberry.field(description="ISO 4217 currency of `amount`.")
    status: str = strawberry.field(description="OPEN, WON or LOST.")
    closed_at: datetime | None = strawberry.field(description="When it was won or lost.")
    expected_close_date: date | None = strawberry.field(description="The CRM's forecast date.")
    lost_reason: str | None = strawberry.field(description="Why it was lost.")
    source: str | None = strawberry.field(description="Lead source or channel.")
    deal_type: str | None = strawberry.field(
        description="NEW_BUSINESS, UPSELL, CROSS_SELL, RENEWAL or UPGRADE."
    )
    probability: float | None = strawberry.field(description="The CRM's win probability.")
    owner_remote_id: strawberry.Private[str | None]
    account_remote_id: strawberry.Private[str | None]
    contact_remote_id: strawberry.Private[str | None]
    pipeline_remote_id: strawberry.Private[str | None]
    stage_remote_id: strawberry.Private[str | None]

    @strawberry.field(description="The user who owns it.")
    async def owner(self, info: Info[Context, Any]) -> User | None:
        return await _ref(
            info.context.loaders.user, User.from_row, self.connection_id, self.owner_remote_id
        )

    @strawberry.field(description="The company it is sold to.")
    async def account(self, info: Info[Context, Any]) -> Account | None:
        return await _ref(
            info.context.loaders.account,
            Account.from_row,
            self.connection_id,
            self.account_remote_id,
        )

    @strawberry.field(description="The main contact.")
    async def contact(self, info: Info[Context, Any]) -> Contact | None:
        return await _ref(
            info.context.loaders.contact,
            Contact.from_row,
            self.connection_id,
            self.contact_remote_id,
        )

    @strawberry.field(description="Its pipeline.")
    async def pipeline(self, info: Info[Context, Any]) -> Pipeline | None:
        return await _ref(
            info.context.loaders.pipeline,
            Pipeline.from_row,
            self.connection_id,
            self.pipeline_remote_id,
        )

    @strawberry.field(description="Its current stage.")
    async def stage(self, info: Info[Context, Any]) -> Stage | None:
        return await _ref(
            info.context.loaders.stage, Stage.from_row, self.connection_id, self.stage_remote_id
        )

    @classmethod
    def from_row(cls, row: DealRow) -> Deal:
        return cls(
            **_synced(row),
            name=row.name,
            amount=row.amount,
            currency=row.currency,
            status=row.status,
            closed_at=row.closed_at,
            expected_close_date=row.expected_close_date,
            lost_reason=row.lost_reason,
            source=row.source,
            deal_type=row.deal_type,
            probability=row.probability,
            owner_remote_id=row.owner_remote_id,
            account_remote_id=row.account_remote_id,
            contact_remote_id=row.contact_remote_id,
            pipeline_remote_id=row.pipeline_remote_id,
            stage_remote_id=row.stage_remote_id,
        )


@strawberry.type(description="A call, email, meeting, note or task.")
class Activity(SyncedRecord):
    type: str = strawberry.field(description="CALL, EMAIL, MEETING, NOTE or TASK.")
    subject: str | None = strawberry.field(description="Subject or title.")
    due_at: datetime | None = strawberry.field(description="When it is due.")
    done_at: datetime | None = strawberry.field(description="When it was done; null while open.")
    outcome: str | None = strawberry.field(description="The CRM's outcome, where it has one.")
    meeting_status: str | None = strawberry.field(
        description="Meetings: PROPOSED, ACCEPTED, HELD, DECLINED, CANCELLED or NO_SHOW."
    )
    owner_remote_id: strawberry.Private[str | None]
    account_remote_id: strawberry.Private[str | None]
    contact_remote_id: strawberry.Private[str | None]

    @strawberry.field(description="The user who owns it.")
    async def owner(self, info: Info[Context, Any]) -> User | None:
        return await _ref(
            info.context.loaders.user, User.from_row, self.connection_id, self.owner_remote_id
        )

    @strawberry.field(description="The company it concerns.")
    async def account(self, info: Info[Context, Any]) -> Account | None:
        return await _ref(
            info.context.loaders.account,
            Account.from_row,
            self.connection_id,
            self.account_remote_id,
        )

    @strawberry.field(description="The person it concerns.")
    async def contact(self, info: Info[Context, Any]) -> Contact | None:
        return await _ref(
            info.context.loaders.contact,
            Contact.from_row,
            self.connection_id,
            self.contact_remote_id,
        )

    @classmethod
    def from_row(cls, row: ActivityRow) -> Activity:
        return cls(
            **_synced(row),
            type=row.type,
            subject=row.subject,
            due_at=row.due_at,
            done_at=row.done_at,
            outcome=row.outcome,
            meeting_status=row.meeting_status,
            owner_remote_id=row.owner_remote_id,
            account_remote_id=row.account_remote_id,
            contact_remote_id=row.contact_remote_id,
        )


_NODES: dict[type[SyncedMixin], Callable[[Any], SyncedRecord]] = {
    DealRow: Deal.from_row,
    LeadRow: Lead.from_row,
    ContactRow: Contact.from_row,
    AccountRow: Account.from_row,
    ActivityRow: Activity.from_row,
}


def record_node(row: SyncedMixin) -> SyncedRecord:
    """The GraphQL node of a deal, lead, contact, account or activity row."""
    return _NODES[type(row)](row)

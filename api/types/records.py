"""Synced CRM records as GraphQL types; references resolve through the request's DataLoaders.

A record's ``id`` is its integer id as a string (stable, and unguessable across tenants only
together with the workspace scoping of core.tenancy, which answers "not found" for any id
outside the caller's workspaces).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Self

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from api.context import Context
from api.loaders import load_ref
from api.types._convert import from_attributes
from core.models import Account as AccountRow
from core.models import Activity as ActivityRow
from core.models import Contact as ContactRow
from core.models import Deal as DealRow
from core.models import Lead as LeadRow
from core.models import SyncedMixin


def _reference(loader: str, node: type[SyncedRecord], key: str, description: str) -> Any:
    """A field resolving the record that the private ``key`` (a remote id) points to.

    Batched through the request's DataLoader named ``loader``; null when the CRM row
    names nothing or a record not synced (yet).
    """

    async def resolve(self: SyncedRecord, info: Info[Context, Any]) -> Any:
        loaders = info.context.loaders
        row = await load_ref(getattr(loaders, loader), self.connection_id, getattr(self, key))
        return node.from_row(row) if row else None

    resolve.__annotations__ = {**resolve.__annotations__, "return": node | None}
    return strawberry.field(resolver=resolve, description=description)


@strawberry.interface(description="Fields every record copied from a CRM carries.")
class SyncedRecord:
    id: strawberry.ID = strawberry.field(description="The record's id in crmkpi.")
    workspace_id: strawberry.ID = strawberry.field(description="The workspace it belongs to.")
    connection_id: strawberry.ID = strawberry.field(description="The CRM connection it came from.")
    remote_id: str = strawberry.field(description="Its id in the CRM.")
    remote_created_at: datetime | None = strawberry.field(description="Created in the CRM (UTC).")
    remote_updated_at: datetime | None = strawberry.field(description="Last changed in the CRM.")
    custom: JSON | None = strawberry.field(description="Mapped custom fields.")

    @classmethod
    def from_row(cls, row: Any) -> Self:
        """The node of a row: every other field (private ones too) is the row's column of
        the same name, so a type lists its fields once and nothing copies them."""
        return from_attributes(cls, row, id=strawberry.ID(str(row.id)))


@strawberry.type(description="A CRM user: the owner of deals, leads, contacts and activities.")
class User(SyncedRecord):
    name: str | None = strawberry.field(description="Display name.")
    email: str | None = strawberry.field(description="Email address.")
    active: bool = strawberry.field(description="False once deactivated in the CRM.")


@strawberry.type(description="A sales pipeline.")
class Pipeline(SyncedRecord):
    name: str | None = strawberry.field(description="Display name.")


@strawberry.type(description="A pipeline stage, with the kind it maps to.")
class Stage(SyncedRecord):
    name: str | None = strawberry.field(description="Display name.")
    display_order: int = strawberry.field(description="Position in its pipeline.")
    probability: float | None = strawberry.field(description="Win probability in [0, 1].")
    kind: str | None = strawberry.field(
        description="LEAD_IN, QUALIFIED, PROPOSAL, NEGOTIATION, WON or LOST; null when unmapped."
    )


@strawberry.type(description="A company (account / organization in the CRM).")
class Account(SyncedRecord):
    name: str | None = strawberry.field(description="Company name.")
    country: str | None = strawberry.field(description="Country.")
    region: str | None = strawberry.field(description="Region or state.")
    industry: str | None = strawberry.field(description="Industry.")
    source: str | None = strawberry.field(description="Lead source or channel.")
    owner_remote_id: strawberry.Private[str | None]

    owner = _reference("user", User, "owner_remote_id", "The user who owns it.")


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

    owner = _reference("user", User, "owner_remote_id", "The user who owns it.")

    account = _reference(
        "account", Account, "account_remote_id", "The company the person works for."
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

    owner = _reference("user", User, "owner_remote_id", "The user who owns it.")

    account = _reference(
        "account", Account, "account_remote_id", "The company of the lead, when known."
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

    owner = _reference("user", User, "owner_remote_id", "The user who owns it.")

    account = _reference("account", Account, "account_remote_id", "The company it is sold to.")

    contact = _reference("contact", Contact, "contact_remote_id", "The main contact.")

    pipeline = _reference("pipeline", Pipeline, "pipeline_remote_id", "Its pipeline.")

    stage = _reference("stage", Stage, "stage_remote_id", "Its current stage.")


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

    owner = _reference("user", User, "owner_remote_id", "The user who owns it.")

    account = _reference("account", Account, "account_remote_id", "The company it concerns.")

    contact = _reference("contact", Contact, "contact_remote_id", "The person it concerns.")


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

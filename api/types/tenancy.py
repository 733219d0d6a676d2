"""Organization, workspace, API key and viewer types."""

from __future__ import annotations

from datetime import datetime

import strawberry

from api.types._convert import from_attributes
from core.models import ApiKey as ApiKeyRow
from core.models import Organization as OrganizationRow
from core.models import Workspace as WorkspaceRow
from core.tenancy import Viewer as ViewerData


@strawberry.type(description="One client business: its own calendar and reporting currency.")
class Workspace:
    id: strawberry.ID
    name: str
    timezone: str = strawberry.field(description="IANA timezone of the business's calendar.")
    currency: str = strawberry.field(description="ISO 4217 reporting currency.")
    fiscal_year_start_month: int
    week_start: int = strawberry.field(description="ISO weekday the week starts on (1=Monday).")
    inactivity_days: int
    no_contact_days: int

    @classmethod
    def from_row(cls, row: WorkspaceRow) -> Workspace:
        return from_attributes(cls, row)


@strawberry.type(description="The caller, as its API key defines it.")
class Viewer:
    organization_id: strawberry.ID
    role: str
    workspace_ids: list[strawberry.ID]

    @classmethod
    def from_viewer(cls, viewer: ViewerData) -> Viewer:
        return cls(
            organization_id=strawberry.ID(viewer.organization_id),
            role=viewer.role.value,
            workspace_ids=[strawberry.ID(w) for w in sorted(viewer.workspace_ids)],
        )


@strawberry.type(description="The tenant: a company, or an agency with client workspaces.")
class Organization:
    id: strawberry.ID
    name: str

    @classmethod
    def from_row(cls, row: OrganizationRow) -> Organization:
        return cls(id=strawberry.ID(row.id), name=row.name)


@strawberry.type(description="An API key as listed: never the key itself, only its prefix.")
class ApiKey:
    id: strawberry.ID
    name: str
    prefix: str = strawberry.field(description="The key's first characters, to recognise it.")
    role: str = strawberry.field(description="admin, editor or viewer.")
    workspace_ids: list[strawberry.ID] | None = strawberry.field(
        description="The workspaces it is limited to; null for the whole organization."
    )
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def from_row(cls, row: ApiKeyRow) -> ApiKey:
        return from_attributes(cls, row)

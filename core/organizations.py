"""Creating organizations and workspaces, with their settings validated."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from core import validation
from core.errors import NotFoundError
from core.models import Organization, Workspace


async def create_organization(session: AsyncSession, name: str) -> Organization:
    org = Organization(name=validation.name(name, "organization name"))
    session.add(org)
    await session.flush()
    return org


async def create_workspace(
    session: AsyncSession,
    *,
    organization_id: str,
    name: str,
    timezone: str = "UTC",
    currency: str = "USD",
    fiscal_year_start_month: int = 1,
    week_start: int = 1,
    inactivity_days: int = 365,
    no_contact_days: int = 90,
) -> Workspace:
    workspace = Workspace(
        organization_id=organization_id,
        name=validation.name(name, "workspace name"),
        timezone=validation.timezone(timezone),
        currency=validation.currency(currency),
        fiscal_year_start_month=validation.month(fiscal_year_start_month),
        week_start=validation.weekday(week_start),
        inactivity_days=validation.positive_days("inactivity days", inactivity_days),
        no_contact_days=validation.positive_days("no-contact days", no_contact_days),
    )
    if await session.get(Organization, organization_id) is None:
        raise NotFoundError(f"organization {organization_id!r} not found")
    session.add(workspace)
    await session.flush()
    return workspace

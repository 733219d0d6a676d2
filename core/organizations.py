"""Creating and changing organizations and workspaces, with their settings validated."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core import validation
from core.errors import NotFoundError, ValidationError
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


async def get_organization(session: AsyncSession, organization_id: str) -> Organization:
    org = await session.get(Organization, organization_id)
    if org is None:
        raise NotFoundError(f"organization {organization_id!r} not found")
    return org


async def update_organization(
    session: AsyncSession, organization_id: str, name: str
) -> Organization:
    org = await get_organization(session, organization_id)
    org.name = validation.name(name, "organization name")
    await session.flush()
    return org


#: Workspace settings a caller may change, each with its validator.
_WORKSPACE_SETTINGS: dict[str, Callable[[Any], Any]] = {
    "name": lambda v: validation.name(v, "workspace name"),
    "timezone": validation.timezone,
    "currency": validation.currency,
    "fiscal_year_start_month": validation.month,
    "week_start": validation.weekday,
    "inactivity_days": lambda v: validation.positive_days("inactivity days", v),
    "no_contact_days": lambda v: validation.positive_days("no-contact days", v),
}


async def update_workspace(
    session: AsyncSession, workspace_id: str, changes: Mapping[str, Any]
) -> Workspace:
    """Change some settings of a workspace; every value is validated before any is applied.

    A calendar or currency change changes every KPI, so the data version is bumped and
    cached metrics of the workspace are no longer used.
    """
    unknown = sorted(set(changes) - set(_WORKSPACE_SETTINGS))
    if unknown:
        raise ValidationError(f"unknown workspace setting {unknown[0]!r}")
    checked = {key: _WORKSPACE_SETTINGS[key](value) for key, value in changes.items()}
    workspace = await session.get(Workspace, workspace_id)
    if workspace is None:
        raise NotFoundError(f"workspace {workspace_id!r} not found")
    for key, value in checked.items():
        setattr(workspace, key, value)
    workspace.data_version += 1
    await session.flush()
    return workspace

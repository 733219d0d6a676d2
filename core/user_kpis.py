"""Stored user-defined KPIs: define, delete, list, and load the ones a scope may use.

A KPI belongs to an organization (every workspace of it sees it) or to one workspace. Names
are unique per organization, so a name means one thing in all its workspaces and roll-ups.
A workspace KPI answers queries over that workspace alone; an organization KPI answers any
scope of the organization. Defining an existing name again at the same place replaces it.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import NotFoundError, ValidationError
from core.metrics.query import Reader
from core.metrics.registry import MetricRegistry
from core.metrics.user_kpis import UserKpi, compile_user_kpi
from core.models import Organization, Workspace
from core.models import UserKpi as UserKpiRow


def read_definition(path: Path) -> Any:
    """A declaration from a ``.json`` or ``.yaml``/``.yml`` file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValidationError(f"cannot read {path}: {exc.strerror}") from None
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ValidationError(f"{path.name} is not valid YAML: {exc}") from None
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValidationError(
                f"{path.name} is not valid JSON: {exc.msg} at line {exc.lineno}"
            ) from None
    raise ValidationError(f"{path.name}: a definition file ends in .json, .yaml or .yml")


def compile_row(row: UserKpiRow, registry: MetricRegistry) -> UserKpi:
    return compile_user_kpi(row.definition, frozenset(registry.kpis))


def check(kpi: UserKpi, registry: MetricRegistry) -> None:
    """The registry accepts the compiled KPI (every cell it reads is a known measure)."""
    try:
        registry.extended(kpi.measures, [kpi.definition])
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


async def kpi_owner(
    session: AsyncSession, *, workspace_id: str | None, organization_id: str | None
) -> str:
    """The organization a KPI defined for one workspace or for a whole organization
    belongs to.

    The one scope check behind ``crmkpi kpi define`` and ``defineKpi`` (each front end only
    adds its viewer's role check): exactly one place, and it exists.
    """
    if (workspace_id is None) == (organization_id is None):
        raise ValidationError("give a workspace or an organization, exactly one")
    if workspace_id is not None:
        workspace = await session.get(Workspace, workspace_id)
        if workspace is None:
            raise NotFoundError(f"workspace {workspace_id!r} not found")
        return workspace.organization_id
    assert organization_id is not None
    if await session.get(Organization, organization_id) is None:
        raise NotFoundError(f"organization {organization_id!r} not found")
    return organization_id


async def define_kpi(
    session: AsyncSession,
    registry: MetricRegistry,
    *,
    organization_id: str,
    workspace_id: str | None,
    definition: Any,
) -> UserKpiRow:
    """Validate and store a declaration; the same name at the same place is replaced."""
    if await session.get(Organization, organization_id) is None:
        raise NotFoundError(f"organization {organization_id!r} not found")
    if workspace_id is not None:
        workspace = await session.get(Workspace, workspace_id)
        if workspace is None or workspace.organization_id != organization_id:
            raise NotFoundError(f"workspace {workspace_id!r} not found")
    kpi = compile_user_kpi(definition, frozenset(registry.kpis))
    check(kpi, registry)
    name = kpi.definition.name
    row = await session.scalar(
        select(UserKpiRow).where(
            UserKpiRow.organization_id == organization_id, UserKpiRow.name == name
        )
    )
    if row is not None and row.workspace_id != workspace_id:
        where = f"workspace {row.workspace_id}" if row.workspace_id else "the organization"
        raise ValidationError(f"name: {name!r} is already defined in {where}; delete it first")
    if row is None:
        row = UserKpiRow(organization_id=organization_id, workspace_id=workspace_id, name=name)
        session.add(row)
    row.unit = kpi.definition.unit.value
    row.description = kpi.definition.description
    row.definition = dict(definition)
    await session.flush()
    return row


async def delete_kpi(
    session: AsyncSession,
    *,
    organization_id: str,
    name: str,
    workspace_ids: Collection[str] | None = None,
) -> UserKpiRow:
    """Remove a KPI of the organization; a workspace KPI only if its workspace is given
    (None: any workspace of the organization, as an operator at the CLI may)."""
    if workspace_ids is None:
        workspace_ids = set(
            await session.scalars(
                select(Workspace.id).where(Workspace.organization_id == organization_id)
            )
        )
    row = await session.scalar(
        select(UserKpiRow).where(
            UserKpiRow.organization_id == organization_id, UserKpiRow.name == name
        )
    )
    if row is None or (row.workspace_id is not None and row.workspace_id not in workspace_ids):
        raise NotFoundError(f"user-defined KPI {name!r} not found")
    await session.delete(row)
    await session.flush()
    return row


async def list_kpis(session: Reader, organization_id: str | None = None) -> list[UserKpiRow]:
    """Stored KPIs (of one organization, which must exist, or all), by name."""
    if organization_id is not None:
        found = await session.scalars(
            select(Organization.id).where(Organization.id == organization_id)
        )
        if found.first() is None:
            raise NotFoundError(f"organization {organization_id!r} not found")
    statement = select(UserKpiRow).order_by(UserKpiRow.name, UserKpiRow.organization_id)
    if organization_id is not None:
        statement = statement.where(UserKpiRow.organization_id == organization_id)
    return list((await session.scalars(statement)).all())


async def scope_kpis(
    session: Reader, registry: MetricRegistry, workspace_ids: Sequence[str]
) -> list[UserKpi]:
    """The KPIs a query over ``workspace_ids`` may use, compiled against ``registry``.

    A stored declaration that no longer compiles (a plugin took its name) is left out.
    """
    organizations = select(Workspace.organization_id).where(Workspace.id.in_(workspace_ids))
    statement = select(UserKpiRow).where(UserKpiRow.organization_id.in_(organizations))
    if len(set(workspace_ids)) == 1:
        statement = statement.where(
            UserKpiRow.workspace_id.is_(None) | (UserKpiRow.workspace_id == workspace_ids[0])
        )
    else:
        statement = statement.where(UserKpiRow.workspace_id.is_(None))
    found = []
    for row in (await session.scalars(statement.order_by(UserKpiRow.name))).all():
        try:
            found.append(compile_row(row, registry))
        except ValidationError:
            continue
    return found


__all__ = [
    "define_kpi",
    "delete_kpi",
    "list_kpis",
    "read_definition",
    "scope_kpis",
]

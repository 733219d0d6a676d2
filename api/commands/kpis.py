"""`crmkpi kpi define --workspace|--organization ID FILE`, `crmkpi kpi list` and `delete`.

core.user_kpis (YAML) and the KPI registry are imported by the commands that use them:
every ``crmkpi`` process imports this module to build its command line.
"""

# No `from __future__ import annotations`: typer reads these signatures at every start-up
# (api.commands says why).

from pathlib import Path
from typing import Annotated, Any

import typer

from api.commands.common import database, emit, out, run
from core.models import UserKpi
from core.plugins import create_plugin_manager

kpi_app = typer.Typer(help="User-defined KPIs (declared in JSON or YAML).", no_args_is_help=True)


def _row(row: UserKpi) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "organization": row.organization_id,
        "workspace": row.workspace_id or "",
        "unit": row.unit,
        "description": row.description,
    }


@kpi_app.command("define")
def kpi_define(
    file: Annotated[Path, typer.Argument(help="The declaration, FILE.json or FILE.yaml.")],
    workspace: Annotated[
        str | None, typer.Option("--workspace", help="A KPI of this workspace only.")
    ] = None,
    organization: Annotated[
        str | None, typer.Option("--organization", help="A KPI of every workspace of it.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Create or replace a user-defined KPI (a Metrics field after the next `crmkpi serve`).

    The same use case as defineKpi (core.user_kpis: kpi_owner, define_kpi).
    """
    from core.metrics import build_registry  # see the module doc
    from core.user_kpis import define_kpi, kpi_owner, read_definition

    definition = read_definition(file)

    async def _define() -> dict[str, Any]:
        async with database() as (_, sessions), sessions() as session:
            org = await kpi_owner(session, workspace_id=workspace, organization_id=organization)
            row = await define_kpi(
                session,
                build_registry(create_plugin_manager()),
                organization_id=org,
                workspace_id=workspace,
                definition=definition,
            )
            await session.commit()
            return _row(row)

    data = run(_define())
    emit(data, as_json=as_json, created_id=str(data["name"]))


@kpi_app.command("list")
def kpi_list(
    organization: Annotated[
        str | None, typer.Option("--organization", help="Only this organization's KPIs.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """The stored user-defined KPIs, by name."""
    from core.user_kpis import list_kpis  # see the module doc

    async def _list() -> list[dict[str, Any]]:
        async with database() as (_, sessions), sessions() as session:
            return [_row(r) for r in await list_kpis(session, organization)]

    rows = run(_list())
    if as_json:
        emit({"kpis": rows}, as_json=True)
        return
    for row in rows:
        where = row["workspace"] or f"organization {row['organization']}"
        out.print(f"{row['name']}\t{row['unit']}\t{where}\t{row['description']}", markup=False)


@kpi_app.command("delete")
def kpi_delete(
    name: Annotated[str, typer.Argument(help="The KPI's name.")],
    organization: Annotated[str, typer.Option("--organization", help="Its organization.")],
) -> None:
    """Delete a user-defined KPI of an organization (or of one of its workspaces)."""
    from core.user_kpis import delete_kpi  # see the module doc

    async def _delete() -> None:
        async with database() as (_, sessions), sessions() as session:
            await delete_kpi(session, organization_id=organization, name=name)
            await session.commit()

    run(_delete())
    out.print(f"deleted {name}")

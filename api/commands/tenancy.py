"""`crmkpi org create|update`, `crmkpi workspace create|update|delete|webhook`,
`crmkpi apikey create|list|revoke`.

Each command parses its input, calls the use case its GraphQL mutation calls too
(core.organizations, core.connections, core.tenancy, core.sync.notify) and renders the
result. The CLI is the operator's: it checks no role, and names the organization where
GraphQL takes the caller's.
"""

# No `from __future__ import annotations`: typer reads these signatures at every start-up
# (api.commands says why).

from typing import Annotated

import typer

from api.commands.common import database, delete_confirmed, emit, out, run
from core.connections import delete_workspace
from core.errors import ValidationError
from core.listings import list_api_keys
from core.organizations import (
    create_organization,
    create_workspace,
    update_organization,
    update_workspace,
)
from core.secrets import Vault
from core.settings import get_settings
from core.sync.notify import clear_sync_webhook, set_sync_webhook
from core.tenancy import create_api_key, revoke_api_key

org_app = typer.Typer(help="Organizations (tenants).", no_args_is_help=True)
workspace_app = typer.Typer(help="Workspaces (client businesses).", no_args_is_help=True)
apikey_app = typer.Typer(help="API keys.", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


@org_app.command("create")
def org_create(name: str, as_json: JsonOption = False) -> None:
    """Create an organization; prints its id on the last line."""

    async def _create() -> dict[str, str]:
        async with database() as (_, sessions), sessions() as session:
            org = await create_organization(session, name)
            await session.commit()
            return {"id": org.id, "name": org.name}

    data = run(_create())
    emit(data, as_json=as_json, created_id=data["id"])


@org_app.command("update")
def org_update(
    org: str,
    name: Annotated[str, typer.Option("--name", help="The new name.")],
    as_json: JsonOption = False,
) -> None:
    """Rename an organization (updateOrganization)."""

    async def _update() -> dict[str, str]:
        async with database() as (_, sessions), sessions() as session:
            row = await update_organization(session, org, name)
            await session.commit()
            return {"id": row.id, "name": row.name}

    emit(run(_update()), as_json=as_json)


@workspace_app.command("create")
def workspace_create(
    org: Annotated[str, typer.Option("--org", help="Organization id.")],
    name: Annotated[str, typer.Option("--name", help="Workspace name.")],
    timezone: Annotated[str, typer.Option(help="IANA timezone.")] = "UTC",
    currency: Annotated[str, typer.Option(help="ISO 4217 reporting currency.")] = "USD",
    fiscal_start: Annotated[int, typer.Option(help="Fiscal-year start month, 1-12.")] = 1,
    week_start: Annotated[int, typer.Option(help="ISO weekday weeks start on, 1-7.")] = 1,
    inactivity_days: Annotated[
        int, typer.Option(help="Days after a win a customer stays active.")
    ] = 365,
    no_contact_days: Annotated[
        int, typer.Option(help="Days without activity before a customer is inactive.")
    ] = 90,
    as_json: JsonOption = False,
) -> None:
    """Create a workspace; prints its id on the last line (createWorkspace)."""

    async def _create() -> dict[str, object]:
        async with database() as (_, sessions), sessions() as session:
            ws = await create_workspace(
                session,
                organization_id=org,
                name=name,
                timezone=timezone,
                currency=currency.upper(),
                fiscal_year_start_month=fiscal_start,
                week_start=week_start,
                inactivity_days=inactivity_days,
                no_contact_days=no_contact_days,
            )
            await session.commit()
            return {"id": ws.id, "name": ws.name, "timezone": ws.timezone, "currency": ws.currency}

    data = run(_create())
    emit(data, as_json=as_json, created_id=str(data["id"]))


@workspace_app.command("update")
def workspace_update(
    workspace: str,
    name: Annotated[str | None, typer.Option("--name", help="Workspace name.")] = None,
    timezone: Annotated[str | None, typer.Option(help="IANA timezone.")] = None,
    currency: Annotated[str | None, typer.Option(help="ISO 4217 reporting currency.")] = None,
    fiscal_start: Annotated[int | None, typer.Option(help="Fiscal-year start month.")] = None,
    week_start: Annotated[int | None, typer.Option(help="ISO weekday weeks start on.")] = None,
    inactivity_days: Annotated[
        int | None, typer.Option(help="Days after a win a customer stays active.")
    ] = None,
    no_contact_days: Annotated[
        int | None, typer.Option(help="Days without activity before a customer is inactive.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Change some settings of a workspace; the others keep their value (updateWorkspace)."""
    given = {
        "name": name,
        "timezone": timezone,
        "currency": currency,
        "fiscal_year_start_month": fiscal_start,
        "week_start": week_start,
        "inactivity_days": inactivity_days,
        "no_contact_days": no_contact_days,
    }
    changes = {key: value for key, value in given.items() if value is not None}

    async def _update() -> dict[str, object]:
        async with database() as (_, sessions), sessions() as session:
            ws = await update_workspace(session, workspace, changes)
            await session.commit()
            return {
                "id": ws.id,
                "name": ws.name,
                "timezone": ws.timezone,
                "currency": ws.currency,
                "fiscal_start": ws.fiscal_year_start_month,
                "week_start": ws.week_start,
                "inactivity_days": ws.inactivity_days,
                "no_contact_days": ws.no_contact_days,
            }

    emit(run(_update()), as_json=as_json)


@workspace_app.command("delete")
def workspace_delete(
    workspace: str,
    yes: Annotated[
        bool, typer.Option("--yes", help="Confirm: its connections and data go with it.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Delete a workspace with its connections and every record (deleteWorkspace)."""
    delete_confirmed(
        delete_workspace,
        workspace,
        yes=yes,
        refusal="deleting a workspace deletes its connections and data: add --yes",
        as_json=as_json,
    )


@workspace_app.command("webhook")
def workspace_webhook(
    workspace: str,
    url: Annotated[str | None, typer.Option("--url", help="POSTed when a sync ends.")] = None,
    off: Annotated[bool, typer.Option("--off", help="Remove the webhook.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Set (or remove) the signed webhook called when a sync ends; prints the secret once."""
    if (url is None) == (not off):
        raise ValidationError("give exactly one of --url URL or --off")
    settings = get_settings()

    async def _set() -> dict[str, object]:
        async with database(settings) as (_, sessions), sessions() as session:
            if url is None:
                await clear_sync_webhook(session, workspace)
                secret = None
            else:
                secret = await set_sync_webhook(
                    session, Vault.from_settings(settings), workspace, url
                )
            await session.commit()
            return {"workspace": workspace, "url": url, "secret": secret}

    data = run(_set())
    emit(data, as_json=as_json, created_id=None)


@apikey_app.command("create")
def apikey_create(
    org: Annotated[str, typer.Option("--org", help="Organization id.")],
    role: Annotated[str, typer.Option(help="admin, editor or viewer.")] = "viewer",
    workspace: Annotated[
        list[str] | None, typer.Option("--workspace", help="Limit the key to these workspaces.")
    ] = None,
    name: Annotated[str, typer.Option(help="A label for the key.")] = "",
    as_json: JsonOption = False,
) -> None:
    """Create an API key. The key is shown once, on the last line; only its hash is stored."""

    async def _create() -> dict[str, object]:
        async with database() as (_, sessions), sessions() as session:
            key, plain = await create_api_key(
                session, organization_id=org, role=role, workspace_ids=workspace, name=name
            )
            await session.commit()
            return {
                "id": key.id,
                "role": key.role,
                "workspaces": key.workspace_ids or "all",
                "key": plain,
            }

    data = run(_create())
    emit(data, as_json=as_json, created_id=str(data["key"]))


@apikey_app.command("list")
def apikey_list(
    org: Annotated[str, typer.Option("--org", help="Organization id.")],
    as_json: JsonOption = False,
) -> None:
    """The organization's API keys, newest first (their prefixes; the keys are not kept)."""

    async def _list() -> list[dict[str, object]]:
        async with database() as (_, sessions), sessions() as session:
            return [
                {
                    "id": key.id,
                    "name": key.name,
                    "prefix": key.prefix,
                    "role": key.role,
                    "workspaces": key.workspace_ids,
                    "created_at": key.created_at,
                    "last_used_at": key.last_used_at,
                    "revoked_at": key.revoked_at,
                }
                for key in await list_api_keys(session, org)
            ]

    rows = run(_list())
    if as_json:
        emit({"api_keys": rows}, as_json=True)
        return
    for row in rows:
        state = "revoked" if row["revoked_at"] else "active"
        scope = ",".join(row["workspaces"]) if isinstance(row["workspaces"], list) else "all"
        out.print(
            f"{row['id']}\t{row['prefix']}…\t{row['role']}\t{scope}\t{state}\t{row['name']}",
            markup=False,
        )


@apikey_app.command("revoke")
def apikey_revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (not the key itself).")],
    as_json: JsonOption = False,
) -> None:
    """Revoke an API key: requests with it are refused from now on (same as revokeApiKey)."""

    async def _revoke() -> dict[str, object]:
        async with database() as (_, sessions), sessions() as session:
            key = await revoke_api_key(session, key_id)
            await session.commit()
            return {
                "id": key.id,
                "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
            }

    emit(run(_revoke()), as_json=as_json)

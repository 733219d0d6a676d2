"""`crmkpi connection add|lookback|schedule|pause|resume|delete|mappings`.

Each command parses its input, calls the use case its GraphQL mutation calls too
(core.connections, core.sync.connections) and renders the result; the CLI is the operator's,
so it checks no role. `list` and `check` are api.commands.connection_list and
connection_check.
"""

# No `from __future__ import annotations`: typer reads these signatures at every start-up
# (api.commands says why).

import json
from typing import Annotated

import typer

from api.commands.common import database, delete_confirmed, emit, run
from api.commands.connection_check import capabilities_summary, check_command
from api.commands.connection_list import list_command, lookback_or_default
from core.connections import (
    check_account,
    delete_connection,
    record_check,
    schedule_connection,
    set_lookback,
    set_paused,
)
from core.errors import ValidationError
from core.plugins import connector_classes, create_plugin_manager
from core.secrets import Vault
from core.settings import get_settings
from core.sync.connections import create_connection, parse_options, update_mappings

app = typer.Typer(help="Connections to CRM accounts.", no_args_is_help=True)
app.command("check")(check_command)
app.command("list")(list_command)


def parse_credentials(pairs: list[str]) -> dict[str, str]:
    """``KEY=VALUE`` pairs; the message of a bad pair names the key, never the value."""
    credentials: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValidationError("a --credential must be KEY=VALUE")
        credentials[key.strip()] = value
    return credentials


@app.command("add")
def add(
    workspace: Annotated[str, typer.Option("--workspace", help="Workspace id.")],
    connector: Annotated[str, typer.Option("--connector", help="Connector name.")],
    credential: Annotated[
        list[str] | None,
        typer.Option("--credential", help="KEY=VALUE, repeatable (`crmkpi connectors list`)."),
    ] = None,
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="API base URL (sandbox, EU, simulator).")
    ] = None,
    name: Annotated[str, typer.Option(help="A label for the connection.")] = "",
    schedule: Annotated[
        str | None, typer.Option(help="Sync schedule: an interval (15m, 1h) or a cron expression.")
    ] = None,
    lookback_minutes: Annotated[
        int | None,
        typer.Option(
            "--lookback-minutes",
            help="Minutes incremental syncs re-read before the last cursor (default 10).",
        ),
    ] = None,
    option: Annotated[
        list[str] | None,
        typer.Option(
            "--option",
            help="KEY=VALUE, repeatable: a non-secret connector option (`crmkpi connectors "
            "list`), stored unencrypted.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Add a connection; prints its id on the last line. Credentials are stored encrypted.

    The account's capabilities (optional objects and features) are discovered right away;
    `crmkpi connection check ID` shows them in full.
    """
    credentials = parse_credentials(credential or [])
    options = parse_options(option or [])
    settings = get_settings()
    vault = Vault.from_settings(settings)
    classes = connector_classes(create_plugin_manager())

    async def _add() -> dict[str, object]:
        async with database(settings) as (_, sessions), sessions() as session:
            connection = await create_connection(
                session,
                vault,
                classes,
                workspace_id=workspace,
                connector=connector,
                credentials=credentials,
                base_url=base_url,
                name=name,
                lookback_minutes=lookback_minutes,
                options=options,
                schedule=schedule,
            )
            await session.commit()
            check = await check_account(
                classes[connection.connector],
                credentials,
                connection.base_url,
                options=connection.options,
                connection_id=connection.id,
            )
            await record_check(session, connection, check)
            await session.commit()
            return {
                "id": connection.id,
                "workspace": connection.workspace_id,
                "connector": connection.connector,
                "schedule": connection.schedule or "manual",
                "base_url": connection.base_url or classes[connector].default_base_url,
                "lookback_minutes": lookback_or_default(connection.lookback_minutes),
                "options": dict(connection.options or {}),
                "capabilities": capabilities_summary(check, as_json=as_json),
            }

    data = run(_add())
    emit(data, as_json=as_json, created_id=str(data["id"]))


@app.command("lookback")
def lookback_command(
    connection_id: str,
    minutes: Annotated[int, typer.Argument(help="Minutes, 0 to a week (10080).")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Set how far incremental syncs of a connection re-read before their last cursor."""

    async def _set() -> None:
        async with database() as (_, sessions), sessions() as session:
            await set_lookback(session, connection_id, minutes)
            await session.commit()

    run(_set())
    emit({"id": connection_id, "lookback_minutes": minutes}, as_json=as_json, created_id=None)


@app.command("schedule")
def schedule_command(
    connection_id: str,
    every: Annotated[str | None, typer.Option("--every", help="An interval: 15m, 1h, 1d.")] = None,
    cron: Annotated[str | None, typer.Option("--cron", help="A cron expression (UTC).")] = None,
    off: Annotated[bool, typer.Option("--off", help="Manual syncs only.")] = False,
    full_sync: Annotated[
        str | None,
        typer.Option(
            "--full-sync",
            help="Full reconciliation (deletions): an interval, a cron expression, "
            "'off' or 'default' (nightly).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Set when a connection syncs (the embedded scheduler or the workers run it)."""

    async def _set() -> dict[str, object]:
        async with database() as (_, sessions), sessions() as session:
            connection = await schedule_connection(
                session, connection_id, every=every, cron=cron, off=off, full_sync=full_sync
            )
            await session.commit()
            return {
                "id": connection.id,
                "schedule": connection.schedule or "manual",
                "full_sync": connection.full_sync_schedule or "default",
            }

    data = run(_set())
    emit(data, as_json=as_json, created_id=None)


def _set_paused(connection_id: str, paused: bool, as_json: bool) -> None:
    """The use case behind ``pauseConnection`` too (core.connections.set_paused)."""

    async def _set() -> dict[str, object]:
        async with database() as (_, sessions), sessions() as session:
            connection = await set_paused(session, connection_id, paused)
            await session.commit()
            return {"id": connection.id, "status": connection.status}

    emit(run(_set()), as_json=as_json, created_id=None)


@app.command("pause")
def pause_command(
    connection_id: str,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Pause a connection: its data stays, the scheduler skips it until it is resumed."""
    _set_paused(connection_id, True, as_json)


@app.command("resume")
def resume_command(
    connection_id: str,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Resume a paused connection's scheduled syncs."""
    _set_paused(connection_id, False, as_json)


@app.command("delete")
def delete_command(
    connection_id: str,
    yes: Annotated[
        bool, typer.Option("--yes", help="Confirm: its synced records are deleted too.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Delete a connection, its sync history and every record it synced (deleteConnection)."""
    delete_confirmed(
        delete_connection,
        connection_id,
        yes=yes,
        refusal="deleting a connection deletes its records: add --yes",
        as_json=as_json,
    )


@app.command("mappings")
def mappings_command(
    connection_id: str,
    changes: Annotated[
        str,
        typer.Argument(
            help='JSON {section: {key: value}}, e.g. {"stage_kinds": {"s3": "LOST"}}; '
            "a null value removes an entry, other entries are kept."
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Change a connection's field mappings from its next sync (updateConnectionMappings)."""
    try:
        parsed = json.loads(changes)
    except json.JSONDecodeError as exc:
        raise ValidationError(f"changes are not JSON: {exc.msg} at column {exc.colno}") from None

    async def _update() -> dict[str, object]:
        async with database() as (_, sessions), sessions() as session:
            mappings = await update_mappings(session, connection_id, parsed)
            await session.commit()
            return {"id": connection_id, "mappings": mappings.to_dict()}

    emit(run(_update()), as_json=as_json)

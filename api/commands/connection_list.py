"""`crmkpi connection list`: connections and their status, as an operator checks them.

One line per connection (or ``--json``): paused or active, its schedule, its last run
(status, mode, when, why it failed) and the account capabilities it lacks. The rows are
core.listings.list_connections (GraphQL's ``connections`` shows the same per connection).
"""

# No `from __future__ import annotations`: typer reads these signatures at every start-up
# (api.commands says why).

from typing import Annotated, Any

import typer

from api.commands.common import database, emit, out, run
from core.listings import ConnectionStatus, list_connections
from core.sync.connector import DEFAULT_LOOKBACK


def lookback_or_default(minutes: int | None) -> int:
    return int(DEFAULT_LOOKBACK.total_seconds() // 60) if minutes is None else minutes


def _row(status: ConnectionStatus) -> dict[str, Any]:
    connection, last = status.connection, status.last_run
    return {
        "id": connection.id,
        "workspace": connection.workspace_id,
        "connector": connection.connector,
        "name": connection.name,
        "status": connection.status,
        "paused": status.paused,
        "schedule": connection.schedule or "manual",
        "full_sync": connection.full_sync_schedule or "default",
        "lookback_minutes": lookback_or_default(connection.lookback_minutes),
        "last_synced_at": connection.last_synced_at,
        "last_run": None
        if last is None
        else {
            "status": last.status,
            "mode": last.mode,
            "started_at": last.started_at,
            "finished_at": last.finished_at,
            "error": last.error,
        },
        "capabilities_checked_at": connection.capabilities_checked_at,
        "unavailable_capabilities": status.unavailable,
    }


def _line(row: dict[str, Any]) -> str:
    last = row["last_run"]
    run_text = "never synced" if last is None else f"last run {last['status']} {last['mode']}"
    if last is not None:
        run_text += f" at {last['started_at']:%Y-%m-%d %H:%M}"
        if last["error"]:
            run_text += f" ({last['error'][:120]})"
    missing = row["unavailable_capabilities"]
    capabilities = (
        "capabilities not checked"
        if missing is None
        else "all capabilities available"
        if not missing
        else "missing " + ", ".join(missing)
    )
    return "\t".join(
        (
            row["id"],
            row["workspace"],
            f"{row['connector']} {row['name']!r}",
            "PAUSED" if row["paused"] else row["status"],
            f"schedule {row['schedule']}",
            run_text,
            capabilities,
        )
    )


def list_command(
    workspace: Annotated[
        str | None, typer.Option("--workspace", help="Only this workspace's connections.")
    ] = None,
    org: Annotated[
        str | None, typer.Option("--org", help="Only this organization's connections.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List connections and their status: paused, schedule, last run, missing capabilities."""

    async def _list() -> list[dict[str, Any]]:
        async with database() as (_, sessions), sessions() as session:
            found = await list_connections(session, workspace_id=workspace, organization_id=org)
            return [_row(s) for s in found]

    rows = run(_list())
    if as_json:
        emit({"connections": rows}, as_json=True)
        return
    for row in rows:
        out.print(_line(row), markup=False)

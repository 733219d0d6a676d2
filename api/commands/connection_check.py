"""`crmkpi connection check ID`: what the account offers, checked live and stored.

A table a person can act on: per capability whether the account has it, and what its
absence costs ("Leads object: not available on this portal (HTTP 404) — newLeads answer
null; stream leads skipped"). Exit status 0 when the CRM accepted the credentials and
answered the discovery, 1 otherwise.
"""

# No `from __future__ import annotations`: typer reads these signatures at every start-up
# (api.commands says why).

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from api.commands.common import console, database, out, run
from core.connections import AccountCheck, check_connection
from core.plugins import connector_classes, create_plugin_manager
from core.settings import get_settings
from core.sync.capabilities import Capability, CapabilityStatus


def consequence(capability: Capability) -> str:
    """What an unavailable capability costs: the KPIs answering null, the skipped streams."""
    parts = []
    if capability.kpis:
        parts.append(f"{', '.join(capability.kpis)} answer null")
    if capability.streams:
        parts.append(f"stream {', '.join(capability.streams)} skipped")
    return "; ".join(parts)


def sentence(capability: Capability) -> str:
    """One line: "Leads object: not available on this portal (HTTP 404) — newLeads answer
    null; stream leads skipped"."""
    line = capability.describe()
    if capability.status is CapabilityStatus.UNAVAILABLE:
        cost = consequence(capability)
        if cost:
            line += f" — {cost}"
    return line


def capabilities_summary(check: AccountCheck, *, as_json: bool) -> Any:
    """The capabilities a check found, for `connection add`'s output."""
    if as_json:
        return _check_json(check)
    if check.reason is not None:
        return f"not checked: {check.reason}"
    if check.capabilities is None:
        return f"not checked: {check.discovery_error}"
    missing = check.capabilities.unavailable()
    text = f"{len(check.capabilities) - len(missing)} available, {len(missing)} not available"
    if missing:
        text += " (" + "; ".join(sentence(c) for c in missing) + ")"
    return text


def _check_json(check: AccountCheck) -> dict[str, Any]:
    caps = check.capabilities
    return {
        "credentials_ok": check.ok,
        "error": check.reason or check.discovery_error,
        "checked_at": caps.checked_at.isoformat() if caps and caps.checked_at else None,
        "capabilities": [
            {**c.to_json(), "available": c.available, "summary": sentence(c)}
            for c in (caps.values() if caps else ())
        ],
    }


def check_command(
    connection_id: str,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Check a connection's credentials and capabilities live against the CRM, and store
    what was found (exit 1 when the CRM refused or could not be asked)."""
    settings = get_settings()
    classes = connector_classes(create_plugin_manager())

    async def _check() -> tuple[str, AccountCheck]:
        async with database(settings) as (_, sessions), sessions() as session:
            connection, check = await check_connection(session, settings, classes, connection_id)
            await session.commit()
            return classes[connection.connector].title, check

    title, check = run(_check())
    if as_json:
        out.print_json(json.dumps({"connection_id": connection_id, **_check_json(check)}))
    else:
        _print(connection_id, title, check)
    if not check.ok or check.capabilities is None:
        raise typer.Exit(1)


def _print(connection_id: str, title: str, check: AccountCheck) -> None:
    if check.reason is not None:
        console.print(f"[red]credentials refused:[/] {check.reason}", highlight=False)
        return
    out.print(f"{title} connection {connection_id}: credentials accepted")
    if check.capabilities is None:
        console.print(f"[red]capabilities not checked:[/] {check.discovery_error}", highlight=False)
        return
    if not check.capabilities:
        out.print("this connector declares no optional capabilities")
        return
    table = Table("capability", "status", "detail", title="capabilities")
    for capability in check.capabilities.values():
        detail = capability.reason or ""
        cost = consequence(capability) if not capability.available else ""
        table.add_row(
            capability.title,
            capability.status.value,
            f"{detail} — {cost}" if detail and cost else detail or cost,
        )
    out.print(table)
    for capability in check.capabilities.unavailable():
        out.print(sentence(capability))

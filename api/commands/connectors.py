"""`crmkpi connectors list`: the installed connector plugins and what they need."""

# No `from __future__ import annotations`: typer reads these signatures at every start-up
# (api.commands says why).

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from api.commands.common import out
from core.plugins import connector_classes, create_plugin_manager
from core.sync.described import describe_connectors

app = typer.Typer(help="Connector plugins.", no_args_is_help=True)


def describe() -> list[dict[str, Any]]:
    """Each connector with its credential fields, streams and default base URL."""
    return [
        {
            "name": d.name,
            "title": d.title,
            "default_base_url": d.default_base_url,
            "credentials": [
                {"name": f.name, "secret": f.secret, "required": f.required}
                for f in d.credential_fields
            ],
            "options": [
                {"name": f.name, "description": f.description, "default": f.default}
                for f in d.option_fields
            ],
            "streams": list(d.streams),
            "simulator": d.simulator,
        }
        for d in describe_connectors(connector_classes(create_plugin_manager()))
    ]


@app.command("list")
def list_connectors(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List installed connectors."""
    rows = describe()
    if as_json:
        out.print_json(json.dumps(rows))
        return
    table = Table("connector", "credentials", "options", "streams", "default base URL")
    for row in rows:
        creds = ", ".join(
            c["name"] + ("*" if c["required"] else "") + (" (secret)" if c["secret"] else "")
            for c in row["credentials"]
        )
        options = ", ".join(
            o["name"] + (f"={o['default']}" if o["default"] is not None else "")
            for o in row["options"]
        )
        table.add_row(
            row["name"], creds, options, ", ".join(row["streams"]), row["default_base_url"]
        )
    out.print(table)
    out.print("* required")

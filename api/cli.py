"""The ``crmkpi`` command. Errors of ours become one clear line and a non-zero exit.

The console script is api.entry, which imports this module as a command's start-up
(core.startup.quiet_imports); importing it elsewhere (tests run commands in-process)
leaves the importer's heap alone.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import typer
from pydantic import ValidationError as SettingsError
from sqlalchemy.exc import SQLAlchemyError

from api.commands import (
    connections,
    connectors,
    db,
    demo,
    fx,
    imports,
    kpis,
    serve,
    simulate,
    sync,
    targets,
    tenancy,
    worker,
)
from api.commands.common import console
from core.errors import CrmkpiError
from core.logging import configure_logging
from core.settings import get_settings

app = typer.Typer(
    name="crmkpi",
    help="Sales KPIs from HubSpot, Pipedrive and Salesforce, as a GraphQL API.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(db.app, name="db")
app.add_typer(tenancy.org_app, name="org")
app.add_typer(tenancy.workspace_app, name="workspace")
app.add_typer(tenancy.apikey_app, name="apikey")
imports.import_app.command("fx")(fx.import_fx)
app.add_typer(imports.import_app, name="import")
app.add_typer(targets.target_app, name="target")
app.add_typer(kpis.kpi_app, name="kpi")
app.command("serve")(serve.serve)
app.command("schema")(serve.schema)
app.command("catalogue")(serve.catalogue)
app.command("demo")(demo.demo)
app.command("worker")(worker.worker)
app.add_typer(connections.app, name="connection")
app.add_typer(connectors.app, name="connectors")
app.command("sync")(sync.sync)
app.command("simulate")(simulate.simulate)


def main(args: Sequence[str] | None = None, *, configure_logs: bool = True) -> None:
    """Run ``crmkpi`` with ``args`` (default: the command line); always ends in SystemExit.

    ``configure_logs=False`` leaves the process's logging alone, for a caller that runs
    commands in-process (the CLI/GraphQL parity test).
    """
    try:
        settings = get_settings()
        if configure_logs:
            configure_logging(settings.log_level, settings.log_format)
        app(args=None if args is None else list(args))
    except SettingsError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "settings"
        console.print(f"[red]error:[/] invalid setting CRMKPI_{field.upper()}: {first['msg']}")
        sys.exit(2)
    except CrmkpiError as exc:
        console.print(f"[red]error:[/] {exc}", markup=True, highlight=False)
        sys.exit(1)
    except SQLAlchemyError as exc:
        reason = getattr(exc, "orig", None) or exc
        console.print(f"[red]error:[/] database: {reason}", highlight=False)
        sys.exit(1)
    except OSError as exc:  # unreachable database, port in use, unreadable file
        console.print(f"[red]error:[/] {exc}", highlight=False)
        sys.exit(1)


if __name__ == "__main__":
    main()

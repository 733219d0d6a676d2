"""`crmkpi serve` and `crmkpi schema`."""

# No `from __future__ import annotations`: typer reads these signatures at every start-up
# (api.commands says why).

from typing import Annotated

import typer

from api.commands.common import out
from core.settings import get_settings


def serve(
    host: Annotated[str | None, typer.Option(help="Interface (default CRMKPI_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default CRMKPI_PORT).")] = None,
) -> None:
    """Serve the GraphQL API (GraphiQL at /graphql in a browser), /healthz and /readyz."""
    import uvicorn

    from api.app import create_app

    settings = get_settings()
    # Frozen once the lifespan has started, its pool warmed.
    app = create_app(settings, freeze_heap=True, warm_pool=True)
    uvicorn.run(
        app,
        host=host or settings.host,
        port=port or settings.port,
        log_config=None,
        access_log=False,
    )


def schema() -> None:
    """Print the GraphQL schema (SDL); schema.graphql in the repository is this output."""
    from api.schema import schema_sdl

    out.print(schema_sdl(), end="", markup=False)


def catalogue() -> None:
    """Print the KPI catalogue (Markdown); docs/kpis.md in the repository is this output."""
    from api.kpi_catalogue import render_catalogue
    from api.schema import create_schema

    out.print(render_catalogue(create_schema()._schema), end="", markup=False)

"""`crmkpi worker`: a sync worker process for PostgreSQL deployments."""

# No `from __future__ import annotations`: typer reads these signatures at every start-up
# (api.commands says why).

from typing import Annotated

import typer

from api.commands.common import console, database, run
from core.settings import get_settings


def worker(
    concurrency: Annotated[int, typer.Option(help="Syncs run at once by this worker.")] = 2,
    name: Annotated[str | None, typer.Option(help="Worker name shown in job tables.")] = None,
) -> None:
    """Run scheduled, webhook and manual syncs from the PostgreSQL job queue until SIGTERM."""
    from core.sync.worker import run_worker  # procrastinate and psycopg: only for this command

    settings = get_settings()

    async def _work() -> None:
        async with database(settings, migrate=False):
            pass
        console.print(f"worker started (concurrency {concurrency}); Ctrl-C or SIGTERM stops it")
        await run_worker(settings, concurrency=concurrency, name=name)

    run(_work())

"""`crmkpi db upgrade`."""

from __future__ import annotations

import typer

from api.commands.common import console, run
from core.db import create_engine
from core.migrate import current_revision, upgrade
from core.settings import get_settings

app = typer.Typer(help="Database schema management.", no_args_is_help=True)


@app.command("upgrade")
def upgrade_command() -> None:
    """Apply the Alembic migrations up to the newest schema."""

    async def _upgrade() -> str | None:
        engine = create_engine(get_settings().database_url)
        try:
            await upgrade(engine)
            return await current_revision(engine)
        finally:
            await engine.dispose()

    revision = run(_upgrade())
    console.print(f"database at revision {revision}")

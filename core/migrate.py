"""Schema migrations (Alembic), run on an async engine; the only way tables are created."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


#: Tables owned by procrastinate (the job queue), which manages its own schema.
FOREIGN_TABLE_PREFIXES = ("procrastinate_",)


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Alembic filter: compare and autogenerate only crmkpi's own tables."""
    return not (type_ == "table" and name is not None and name.startswith(FOREIGN_TABLE_PREFIXES))


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the database schema to ``revision``."""

    def _run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with engine.begin() as conn:
        await conn.run_sync(_run)
    if engine.dialect.name == "postgresql":
        await _install_job_queue(engine)


async def _install_job_queue(engine: AsyncEngine) -> None:
    """procrastinate's tables and functions, for ``crmkpi worker`` (PostgreSQL only).

    Its schema is a multi-statement SQL script with functions, which only the simple query
    protocol runs, hence the raw asyncpg connection.
    """
    from procrastinate.schema import SchemaManager

    async with engine.begin() as conn:
        present = await conn.scalar(text("SELECT to_regclass('procrastinate_jobs') IS NOT NULL"))
        if present:
            return
        raw = await conn.get_raw_connection()
        await raw.driver_connection.execute(SchemaManager.get_schema())  # type: ignore[union-attr]


async def current_revision(engine: AsyncEngine) -> str | None:
    def _current(connection: Connection) -> Any:
        return MigrationContext.configure(connection).get_current_revision()

    async with engine.connect() as conn:
        result: str | None = await conn.run_sync(_current)
        return result


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def autogenerate(engine: AsyncEngine, message: str) -> None:
    """Write a new revision from the difference between the models and ``engine``'s schema."""

    def _run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True)

    async with engine.begin() as conn:
        await conn.run_sync(_run)

"""Schema migrations (Alembic), run on an async engine; the only way tables are created.

Alembic is imported by the functions that run it, not by this module: every command
checks the schema at start-up (``crmkpi sync`` included), and importing alembic costs
some 50 ms of CPU (110 ms with mako's syntax highlighting, which core.startup skips).
When the database is at head, which it almost always is, :func:`at_head` answers
without it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
#: Alembic's default version table (env.py does not rename it).
VERSION_TABLE = "alembic_version"
#: ``revision = "..."`` and ``down_revision = "..." | None`` lines of a migration script,
#: as alembic's script template writes them (with or without a type annotation).
_REVISION_LINE = re.compile(
    r"""^(revision|down_revision)\s*(?::[^=\n]*)?=\s*(?:"([^"]+)"|'([^']+)'|None)\s*$""",
    re.MULTILINE,
)


#: Tables owned by procrastinate (the job queue), which manages its own schema.
FOREIGN_TABLE_PREFIXES = ("procrastinate_",)


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Alembic filter: compare and autogenerate only crmkpi's own tables."""
    return not (type_ == "table" and name is not None and name.startswith(FOREIGN_TABLE_PREFIXES))


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the database schema to ``revision`` (alembic not even imported when the
    database is already at head: :func:`at_head`)."""

    def _run(connection: Connection) -> None:
        from alembic import command

        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    if revision != "head" or not await at_head(engine):
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
        from alembic.runtime.migration import MigrationContext

        return MigrationContext.configure(connection).get_current_revision()

    async with engine.connect() as conn:
        result: str | None = await conn.run_sync(_current)
        return result


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def script_head() -> str | None:
    """The head revision read from the scripts' ``revision``/``down_revision`` lines,
    without importing alembic; None unless that reading is certain: every script has both
    lines as single revisions (no merge, no tuple) and exactly one revision is no other's
    ``down_revision``. tests/core/test_migrations.py holds it equal to :func:`head_revision`.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (MIGRATIONS_DIR / "versions").glob("*.py"):
        found = {m[1]: m[2] or m[3] or None for m in _REVISION_LINE.finditer(script.read_text())}
        if set(found) != {"revision", "down_revision"} or found["revision"] is None:
            return None
        revisions.add(found["revision"])
        if found["down_revision"] is not None:
            parents.add(found["down_revision"])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


async def at_head(engine: AsyncEngine) -> bool:
    """Whether ``engine``'s schema is certainly at head, answered by reading its version
    table and :func:`script_head`, without alembic. False means "ask alembic": no version table yet,
    several version rows, an older revision, or scripts :func:`script_head` cannot read.
    """
    head = script_head()
    if head is None:
        return False
    async with engine.connect() as conn:
        if not await conn.run_sync(lambda sync: inspect(sync).has_table(VERSION_TABLE)):
            return False  # a new database
        found = (await conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))).all()
    return [row[0] for row in found] == [head]


async def autogenerate(engine: AsyncEngine, message: str) -> None:
    """Write a new revision from the difference between the models and ``engine``'s schema."""

    def _run(connection: Connection) -> None:
        from alembic import command

        config = alembic_config()
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True)

    async with engine.begin() as conn:
        await conn.run_sync(_run)

"""Every command's schema check (api.commands.common.ensure_schema): a database at head
passes, an older one is refused (PostgreSQL, never migrated by a command) or migrated."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.commands.common import ensure_schema
from core.db import create_engine
from core.errors import ConfigurationError
from core.migrate import current_revision, head_revision


@pytest.fixture
async def older(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """A SQLite database whose version table names the first revision."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'older.db'}")
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32))"))
        await conn.execute(text("INSERT INTO alembic_version VALUES ('0001')"))
    yield engine
    await engine.dispose()


async def test_a_database_at_head_passes(engine: AsyncEngine) -> None:
    await ensure_schema(engine, migrate=False)
    await ensure_schema(engine, migrate=True)  # nothing to migrate
    assert await current_revision(engine) == head_revision()


async def test_an_older_database_is_refused_without_migrating(older: AsyncEngine) -> None:
    with pytest.raises(ConfigurationError, match="run `crmkpi db upgrade`"):
        await ensure_schema(older, migrate=False)
    assert await current_revision(older) == "0001"

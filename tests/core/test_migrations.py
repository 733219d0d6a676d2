"""The migrated schema equals the models, on both databases; the head is known without
alembic (core.migrate.at_head), and only when certain."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

import core.migrate
from core.db import create_engine
from core.migrate import at_head, current_revision, head_revision, include_name, script_head
from core.models import Base


async def test_migrated_schema_matches_models(engine: AsyncEngine) -> None:
    def diff(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": include_name}
        )
        return list(compare_metadata(context, Base.metadata))

    async with engine.connect() as conn:
        differences = await conn.run_sync(diff)
    assert differences == []


async def test_database_is_at_head(engine: AsyncEngine) -> None:
    assert await current_revision(engine) == head_revision()


def test_the_scripts_head_read_without_alembic_is_alembics() -> None:
    assert script_head() == head_revision() is not None


async def test_a_migrated_database_is_at_head(engine: AsyncEngine) -> None:
    assert await at_head(engine)


async def test_a_new_or_older_database_is_not_at_head(tmp_path: Path) -> None:
    """Not at head: alembic is asked (a command migrates, or refuses)."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'new.db'}")
    try:
        assert not await at_head(engine)  # no version table
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32))"))
            await conn.execute(text("INSERT INTO alembic_version VALUES ('0001')"))
        assert not await at_head(engine)
        async with engine.begin() as conn:
            await conn.execute(
                text("UPDATE alembic_version SET version_num = :h"), {"h": script_head()}
            )
        assert await at_head(engine)
    finally:
        await engine.dispose()


def test_a_script_the_fast_reading_cannot_parse_sends_to_alembic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    versions = tmp_path / "versions"
    versions.mkdir()
    (versions / "0001_a.py").write_text('revision = "a"\ndown_revision = None\n')
    (versions / "0002_b.py").write_text('revision: str = "b"\ndown_revision: str | None = "a"\n')
    monkeypatch.setattr(core.migrate, "MIGRATIONS_DIR", tmp_path)
    assert script_head() == "b"
    (versions / "0003_merge.py").write_text('revision = "c"\ndown_revision = ("a", "b")\n')
    assert script_head() is None
    (versions / "0003_merge.py").write_text('revision = "c"\ndown_revision = "a"\n')
    assert script_head() is None  # two heads, b and c


async def test_the_rollups_keep_room_in_their_pages_on_postgresql(engine: AsyncEngine) -> None:
    """0017: the rollup tables' pages keep 30% free for heap-only updates of their sums
    (PostgreSQL); SQLite has no such setting, and its tables are the models' as on any
    revision (the schema test above)."""
    if engine.dialect.name != "postgresql":
        assert await current_revision(engine) == "0017_rollup_fillfactor"
        return
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT relname, reloptions FROM pg_class WHERE relkind = 'r'"
                    " AND relname IN ('deal_days', 'activity_days') ORDER BY relname"
                )
            )
        ).all()
    assert [tuple(row) for row in rows] == [
        ("activity_days", ["fillfactor=70"]),
        ("deal_days", ["fillfactor=70"]),
    ]

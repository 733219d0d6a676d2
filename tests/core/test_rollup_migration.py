"""Migration 0016 fills the daily rollups of the rows already stored, in plain SQL, equal to
the rollups the application computes (core.metrics.rollup_rules), on both databases."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert

from core.db import create_engine
from core.migrate import upgrade
from core.models import Activity, Connection, Deal, Organization, Workspace
from tests.core.metrics.rollup_checks import assert_maintained

AT = datetime(2026, 3, 28, 23, 30, tzinfo=UTC)  # Madrid's DST change is the next night


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_migration_fills_the_rollups(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'migrate.db'}"
    else:
        url = request.getfixturevalue("pg_cluster").create_database(f"m{uuid.uuid4().hex}")
    engine = create_engine(url)
    try:
        await upgrade(engine, "0015_customer_paths")
        async with engine.begin() as conn:  # Core statements: no flush hook writes rollups
            await conn.execute(insert(Organization).values(id="org", name="Acme"))
            await conn.execute(
                insert(Workspace).values(
                    id="ws", organization_id="org", name="Main", timezone="Europe/Madrid"
                )
            )
            await conn.execute(
                insert(Connection).values(id="c", workspace_id="ws", connector="hubspot", name="H")
            )
            synced = {"workspace_id": "ws", "connection_id": "c", "synced_at": AT}
            deals = [
                dict(remote_id=f"d{i}", remote_created_at=AT + timedelta(hours=7 * i),
                     closed_at=None if i % 4 == 0 else AT + timedelta(hours=11 * i),
                     status=("OPEN", "WON", "LOST", "WON")[i % 4], amount=100 * i,
                     cost=None if i % 3 else 10 * i, currency=("EUR", "USD")[i % 2],
                     owner_remote_id=f"u{i % 3}", stage_remote_id=f"s{i % 2}",
                     deleted_at=AT if i == 5 else None, **synced)
                for i in range(12)
            ]  # fmt: skip
            await conn.execute(insert(Deal), deals)
            activities = [
                dict(remote_id=f"a{i}", type=("MEETING", "CALL")[i % 2],
                     remote_created_at=AT + timedelta(hours=5 * i),
                     due_at=AT + timedelta(hours=3 * i), done_at=AT + timedelta(hours=9 * i),
                     meeting_status=("HELD", None)[i % 2],
                     response=(None, "POSITIVE", "NEGATIVE")[i % 3],
                     owner_remote_id=f"u{i % 2}", **synced)
                for i in range(10)
            ]  # fmt: skip
            await conn.execute(insert(Activity), activities)
        await upgrade(engine)
        async with engine.connect() as conn:
            await assert_maintained(conn, "ws")
            rows = await conn.exec_driver_sql("SELECT count(*) FROM deal_days")
            assert rows.scalar_one() > 0
    finally:
        await engine.dispose()

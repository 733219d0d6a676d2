"""setConnectionSchedule through HTTP: the CLI's validation, next runs on the connection, and
the reconciliation schedule the scheduler obeys (both databases)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.models import Connection, utcnow
from core.models.enums import SyncMode
from core.sync.scheduler import due_syncs
from core.tenancy import create_api_key
from tests.core.metrics.factory import Seed
from tests.support.api import ApiClient, api_client

SET = """
mutation($input: SetConnectionScheduleInput!) {
  setConnectionSchedule(input: $input) {
    __typename
    ... on SetConnectionScheduleSuccess {
      connection { id schedule fullSyncSchedule nextSyncAt nextFullSyncAt }
    }
    ... on MutationError { message code }
  }
}
"""


async def _set(client: ApiClient, key: str, **input: Any) -> dict[str, Any]:
    body = await client.graphql(SET, {"input": input}, key=key)
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["setConnectionSchedule"]
    return result


async def _seed(sessionmaker: async_sessionmaker[AsyncSession], role: str) -> tuple[str, str]:
    async with sessionmaker() as session:
        seed = await Seed.create(session)
        _, key = await create_api_key(
            session, organization_id=seed.workspace.organization_id, role=role
        )
        await session.commit()
        return seed.connection.id, key


async def test_schedule_is_set_validated_and_cleared(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    conn_id, key = await _seed(sessionmaker, "editor")
    async with api_client(engine) as client:
        every = await _set(client, key, id=conn_id, every="15m")
        cron = await _set(client, key, id=conn_id, cron="*/5 * * * *", fullSync="0 3 * * 0")
        only_full = await _set(client, key, id=conn_id, fullSync="off")
        errors = [
            await _set(client, key, id=conn_id, every="10s"),
            await _set(client, key, id=conn_id, every="*/5 * * * *"),
            await _set(client, key, id=conn_id, cron="15m"),
            await _set(client, key, id=conn_id, every="15m", off=True),
            await _set(client, key, id=conn_id),
            await _set(client, key, id=conn_id, fullSync="sometimes"),
            await _set(client, key, id="conn_unknown", off=True),
        ]
        off = await _set(client, key, id=conn_id, off=True, fullSync="default")

    assert every["__typename"] == "SetConnectionScheduleSuccess"
    first = every["connection"]
    # Never synced: due at once, and that first run reads everything.
    assert first["schedule"] == "15m" and first["fullSyncSchedule"] is None
    assert first["nextSyncAt"] is not None and first["nextSyncAt"] == first["nextFullSyncAt"]
    assert cron["connection"]["schedule"] == "*/5 * * * *"
    assert cron["connection"]["fullSyncSchedule"] == "0 3 * * 0"
    assert only_full["connection"]["schedule"] == "*/5 * * * *"
    assert only_full["connection"]["fullSyncSchedule"] == "off"
    assert [e["code"] for e in errors] == ["INVALID"] * 6 + ["NOT_FOUND"]
    assert "too frequent" in errors[0]["message"] or "invalid schedule" in errors[0]["message"]
    assert off["connection"] == {
        "id": conn_id,
        "schedule": None,
        "fullSyncSchedule": None,
        "nextSyncAt": None,
        "nextFullSyncAt": None,
    }


async def test_viewer_cannot_change_a_schedule(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    conn_id, key = await _seed(sessionmaker, "viewer")
    async with api_client(engine) as client:
        body = await client.graphql(SET, {"input": {"id": conn_id, "every": "1h"}}, key=key)
    assert body["data"] is None and body["errors"]
    async with sessionmaker() as session:
        row = await session.get(Connection, conn_id)
        assert row is not None and row.schedule is None


async def test_reconciliation_schedule_decides_full_runs(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    conn_id, key = await _seed(sessionmaker, "editor")
    ran = utcnow() - timedelta(hours=1)
    async with sessionmaker() as session:
        await session.execute(
            update(Connection)
            .where(Connection.id == conn_id)
            .values(last_sync_started_at=ran, last_full_sync_at=ran)
        )
        await session.commit()
    later = utcnow() + timedelta(days=3)
    async with api_client(engine) as client:
        await _set(client, key, id=conn_id, every="15m")
        nightly = await due_syncs(engine, later)
        await _set(client, key, id=conn_id, fullSync="off")
        never = await due_syncs(engine, later)
        weekly = await _set(client, key, id=conn_id, fullSync="7d")
        within_week = await due_syncs(engine, later)
    assert [(d.connection_id, d.mode) for d in nightly] == [(conn_id, SyncMode.FULL)]
    assert [d.mode for d in never] == [SyncMode.INCREMENTAL]
    assert [d.mode for d in within_week] == [SyncMode.INCREMENTAL]
    assert weekly["connection"]["nextFullSyncAt"].startswith(
        (ran + timedelta(days=7)).date().isoformat()
    )

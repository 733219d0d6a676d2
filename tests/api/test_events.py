"""syncFinished server-sent events (GET /events/sync-finished), over a real HTTP server.

The stream must push a run of a watched workspace when it ends, woken at once by the
``crmkpi_sync_finished`` hook in this process or found by polling sync_runs (a run ended
in a worker process), and never a run of another workspace or organization.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api import events
from core.models import Connection, SyncRun
from core.organizations import create_organization, create_workspace
from core.tenancy import create_api_key, revoke_api_key
from tests.support.live_server import crmkpi_app, live_server


async def _tenants(session: AsyncSession) -> dict[str, str]:
    ids: dict[str, str] = {}
    for org_name in ("Agency", "Other"):
        org = await create_organization(session, org_name)
        for ws_name in ("A", "B"):
            ws = await create_workspace(session, organization_id=org.id, name=ws_name)
            conn = Connection(workspace_id=ws.id, connector="hubspot", name="CRM")
            session.add(conn)
            await session.flush()
            ids[f"{org_name}.{ws_name}"] = ws.id
            ids[f"{org_name}.{ws_name}.conn"] = conn.id
        key, ids[f"{org_name}.key"] = await create_api_key(session, organization_id=org.id)
        ids[f"{org_name}.key_id"] = key.id
    await session.commit()
    return ids


async def _finish_run(
    sessionmaker: async_sessionmaker[AsyncSession], workspace_id: str, connection_id: str
) -> int:
    async with sessionmaker() as session:
        run = SyncRun(
            connection_id=connection_id,
            workspace_id=workspace_id,
            mode="INCREMENTAL",
            status="SUCCEEDED",
            finished_at=datetime.now(UTC),
        )
        session.add(run)
        await session.commit()
        return run.id


async def _events(lines: AsyncIterator[str]) -> AsyncIterator[dict[str, Any]]:
    kind = None
    async for line in lines:
        if line.startswith("event:"):
            kind = line.split(":", 1)[1].strip()
        elif line.startswith("data:") and kind == "syncFinished":
            yield json.loads(line.split(":", 1)[1])


@pytest.mark.parametrize("wake", ["hook", "poll"])
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_finished_sync_is_pushed_to_its_workspace_only(
    database_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
    wake: str,
) -> None:
    # "hook": polling too slow to matter, so only the hook can deliver within the timeout;
    # "poll": no hook call (the run ended in another process), the poll finds it.
    monkeypatch.setattr(events, "POLL_SECONDS", 120.0 if wake == "hook" else 0.2)
    async with sessionmaker() as session:
        ids = await _tenants(session)
    await _finish_run(sessionmaker, ids["Agency.A"], ids["Agency.A.conn"])  # before: not sent
    app = crmkpi_app(database_url)
    with live_server(app) as base:
        auth = {"Authorization": f"Bearer {ids['Agency.key']}"}
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            url = f"/events/sync-finished?workspaceId={ids['Agency.A']}"
            async with http.stream("GET", url, headers=auth) as stream:
                assert stream.status_code == 200
                assert stream.headers["content-type"].startswith("text/event-stream")
                received = _events(stream.aiter_lines())
                await asyncio.sleep(0.3)  # the stream has read its starting point
                # Another workspace of the organization, and another organization: not sent.
                await _finish_run(sessionmaker, ids["Agency.B"], ids["Agency.B.conn"])
                await _finish_run(sessionmaker, ids["Other.A"], ids["Other.A.conn"])
                run_id = await _finish_run(sessionmaker, ids["Agency.A"], ids["Agency.A.conn"])
                if wake == "hook":
                    app.state.crmkpi.plugins.hook.crmkpi_sync_finished(
                        connection_id=ids["Agency.A.conn"],
                        run_id=run_id,
                        status="SUCCEEDED",
                        stats={},
                    )
                event = await asyncio.wait_for(anext(received), timeout=20)
    assert event["runId"] == run_id
    assert event["workspaceId"] == ids["Agency.A"]
    assert event["connectionId"] == ids["Agency.A.conn"]
    assert event["status"] == "SUCCEEDED" and event["finishedAt"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_stream_is_tenant_scoped(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker() as session:
        ids = await _tenants(session)
    with live_server(crmkpi_app(database_url)) as base:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            anonymous = await http.get(f"/events/sync-finished?workspaceId={ids['Agency.A']}")
            foreign = await http.get(
                f"/events/sync-finished?workspaceId={ids['Other.A']}",
                headers={"Authorization": f"Bearer {ids['Agency.key']}"},
            )
    assert anonymous.status_code == 401
    assert anonymous.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert foreign.status_code == 404
    assert foreign.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_revoked_key_ends_the_stream(
    database_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(events, "POLL_SECONDS", 0.1)
    monkeypatch.setattr(events, "KEY_CHECK_SECONDS", 0.1)
    async with sessionmaker() as session:
        ids = await _tenants(session)
    with live_server(crmkpi_app(database_url)) as base:
        auth = {"Authorization": f"Bearer {ids['Agency.key']}"}
        async with (
            httpx.AsyncClient(base_url=base, timeout=30) as http,
            http.stream("GET", "/events/sync-finished", headers=auth) as stream,
        ):
            assert stream.status_code == 200
            async with sessionmaker() as session:
                await revoke_api_key(session, ids["Agency.key_id"])
                await session.commit()

            async def drain() -> list[str]:
                return [line async for line in stream.aiter_lines()]

            # The server closes the stream (the read ends) instead of streaming on.
            lines = await asyncio.wait_for(drain(), timeout=20)
    assert not any(line.startswith("event:") for line in lines)

"""`crmkpi connection list` and `crmkpi apikey list` (issue #22): what an operator checks;
and the CLI-only guard of its deletions (the deletions themselves are walked by the
CLI/GraphQL parity test)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.models import Connection, SyncRun
from core.organizations import create_organization, create_workspace
from core.tenancy import create_api_key, revoke_api_key
from tests.support.cli import run_cli_async

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
CAPABILITIES = [
    {"key": "leads", "title": "Leads object", "status": "UNAVAILABLE", "reason": "HTTP 404"},
    {"key": "multi_currency", "title": "Multi-currency", "status": "AVAILABLE"},
]


async def test_connections_with_their_status(
    workspace: tuple[str, dict[str, str]], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    ws, env = workspace
    async with sessionmaker() as session:
        synced = Connection(
            workspace_id=ws, connector="hubspot", name="Main", schedule="1h", status="PAUSED",
            lookback_minutes=30, capabilities=CAPABILITIES, capabilities_checked_at=T0,
        )  # fmt: skip
        fresh = Connection(workspace_id=ws, connector="pipedrive", name="New")
        session.add_all([synced, fresh])
        await session.flush()
        for started, status, error in [
            (T0, "SUCCEEDED", None),
            (T0 + timedelta(hours=1), "FAILED", "deals: HTTP 401 token expired"),
        ]:
            session.add(
                SyncRun(
                    connection_id=synced.id, workspace_id=ws, mode="INCREMENTAL",
                    status=status, started_at=started, finished_at=started, error=error,
                )
            )  # fmt: skip
        await session.commit()

    listed = await run_cli_async(["connection", "list", "--workspace", ws, "--json"], env)
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)["connections"]
    assert [(r["name"], r["paused"], r["schedule"]) for r in rows] == [
        ("Main", True, "1h"),
        ("New", False, "manual"),
    ]
    main, new = rows
    assert main["last_run"]["status"] == "FAILED"  # the newest run, not the first
    assert main["last_run"]["error"] == "deals: HTTP 401 token expired"
    assert main["unavailable_capabilities"] == ["leads"]
    assert main["lookback_minutes"] == 30 and new["lookback_minutes"] == 10
    assert new["last_run"] is None and new["unavailable_capabilities"] is None

    text = await run_cli_async(["connection", "list"], env)
    lines = text.stdout.splitlines()
    assert len(lines) == 2, text.stdout
    assert "PAUSED" in lines[0] and "schedule 1h" in lines[0]
    assert "last run FAILED INCREMENTAL at 2026-03-02 09:00 (deals: HTTP 401" in lines[0]
    assert "missing leads" in lines[0]
    assert "never synced" in lines[1] and "capabilities not checked" in lines[1]

    unknown = await run_cli_async(["connection", "list", "--workspace", "ws_nope"], env)
    assert unknown.returncode == 1 and "workspace 'ws_nope' not found" in unknown.stderr


async def test_api_keys_newest_first_without_secrets(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker() as session:
        org = await create_organization(session, "Agency")
        ws = await create_workspace(session, organization_id=org.id, name="Acme")
        old, old_plain = await create_api_key(session, organization_id=org.id, name="old")
        old.created_at = T0
        new, new_plain = await create_api_key(
            session, organization_id=org.id, role="editor", workspace_ids=[ws.id], name="ci"
        )
        await revoke_api_key(session, old.id)
        other = await create_organization(session, "Other")
        await create_api_key(session, organization_id=other.id, name="theirs")
        await session.commit()
    env = {"CRMKPI_DATABASE_URL": database_url}

    listed = await run_cli_async(["apikey", "list", "--org", org.id, "--json"], env)
    assert listed.returncode == 0, listed.stderr
    keys = json.loads(listed.stdout)["api_keys"]
    assert [(k["id"], k["name"], k["role"]) for k in keys] == [
        (new.id, "ci", "editor"),
        (old.id, "old", "viewer"),
    ]
    assert keys[0]["workspaces"] == [ws.id] and keys[0]["revoked_at"] is None
    assert keys[1]["revoked_at"] is not None
    assert old_plain not in listed.stdout and new_plain not in listed.stdout
    assert old.key_hash not in listed.stdout

    text = (await run_cli_async(["apikey", "list", "--org", org.id], env)).stdout.splitlines()
    assert text[0].split()[0] == new.id and text[0].split()[2:] == ["editor", ws.id, "active", "ci"]
    assert text[1].split()[2:] == ["viewer", "all", "revoked", "old"]
    missing = await run_cli_async(["apikey", "list", "--org", "org_nope"], env)
    assert missing.returncode == 1 and "organization 'org_nope' not found" in missing.stderr


async def test_deletions_need_yes(
    workspace: tuple[str, dict[str, str]], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    ws, env = workspace
    async with sessionmaker() as session:
        connection = Connection(workspace_id=ws, connector="hubspot", name="Main")
        session.add(connection)
        await session.commit()
    for args in (["connection", "delete", connection.id], ["workspace", "delete", ws]):
        refused = await run_cli_async(args, env)
        assert refused.returncode == 1 and "add --yes" in refused.stderr, refused
    listed = await run_cli_async(["connection", "list", "--workspace", ws, "--json"], env)
    assert [r["id"] for r in json.loads(listed.stdout)["connections"]] == [connection.id]

"""Tenants with CRM records for API tests: every string carries a canary of its tenant."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from core.models import (
    Account,
    Activity,
    Connection,
    Contact,
    Deal,
    Lead,
    Pipeline,
    Stage,
    User,
)
from core.organizations import create_organization, create_workspace
from core.tenancy import create_api_key

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class Tenant:
    name: str
    org_id: str
    workspace_ids: list[str]
    connection_ids: list[str]
    keys: dict[str, str] = field(default_factory=dict)

    @property
    def canary(self) -> str:
        return f"CANARY-{self.name}"


def _synced(ws: str, conn: str, remote_id: str, created: datetime) -> dict[str, Any]:
    return {
        "workspace_id": ws,
        "connection_id": conn,
        "remote_id": remote_id,
        "remote_created_at": created,
        "remote_updated_at": created,
        "synced_at": created,
    }


async def seed_records(
    session: AsyncSession, ws: str, conn: str, canary: str, *, deals: int = 10
) -> None:
    """Users, a pipeline with stages, accounts, contacts, leads, deals and activities."""
    users = [
        User(**_synced(ws, conn, f"u{i}", T0), name=f"{canary} user {i}", email=f"u{i}@x.test")
        for i in range(3)
    ]
    pipeline = Pipeline(**_synced(ws, conn, "p1", T0), name=f"{canary} pipeline")
    stages = [
        Stage(**_synced(ws, conn, f"s{i}", T0), pipeline_remote_id="p1", name=f"{canary} s{i}",
              display_order=i, kind=kind, probability=i / 4)
        for i, kind in enumerate(["QUALIFIED", "PROPOSAL", "WON", None])
    ]  # fmt: skip
    accounts = [
        Account(**_synced(ws, conn, f"a{i}", T0), name=f"{canary} account {i}",
                country="ES" if i % 2 else "FR", industry="Software", owner_remote_id=f"u{i % 3}")
        for i in range(4)
    ]  # fmt: skip
    contacts = [
        Contact(**_synced(ws, conn, f"c{i}", T0 + timedelta(days=i)), name=f"{canary} contact {i}",
                account_remote_id=f"a{i % 4}", owner_remote_id=f"u{i % 3}")
        for i in range(deals)
    ]  # fmt: skip
    leads = [
        Lead(**_synced(ws, conn, f"l{i}", T0 + timedelta(days=i)), name=f"{canary} lead {i}",
             source="web" if i % 2 else "referral", owner_remote_id=f"u{i % 3}")
        for i in range(deals)
    ]  # fmt: skip
    deal_rows = [
        Deal(**_synced(ws, conn, f"d{i}", T0 + timedelta(days=i)), name=f"{canary} deal {i}",
             amount=Decimal(1000 + i) if i % 5 else None, currency="EUR",
             status="WON" if i % 3 == 0 else "OPEN", pipeline_remote_id="p1",
             stage_remote_id=f"s{i % 4}", owner_remote_id=f"u{i % 3}",
             account_remote_id=f"a{i % 4}", contact_remote_id=f"c{i}",
             closed_at=T0 + timedelta(days=i + 5) if i % 3 == 0 else None)
        for i in range(deals)
    ]  # fmt: skip
    activities = [
        Activity(**_synced(ws, conn, f"act{i}", T0 + timedelta(days=i)), type="CALL",
                 subject=f"{canary} call {i}", owner_remote_id=f"u{i % 3}",
                 account_remote_id=f"a{i % 4}", contact_remote_id=f"c{i}",
                 done_at=T0 + timedelta(days=i, hours=1))
        for i in range(deals)
    ]  # fmt: skip
    session.add_all([*users, pipeline, *stages, *accounts, *contacts, *leads, *deal_rows])
    session.add_all(activities)
    await session.flush()


async def create_tenant(
    session: AsyncSession, name: str, *, workspaces: int = 2, deals: int = 10
) -> Tenant:
    """An organization with workspaces, one connection each, records, and keys of each role.

    Keys: ``admin``, ``editor``, ``viewer`` (whole organization) and ``ws0`` (a viewer
    limited to the first workspace).
    """
    org = await create_organization(session, f"{name} org")
    tenant = Tenant(name=name, org_id=org.id, workspace_ids=[], connection_ids=[])
    for w in range(workspaces):
        ws = await create_workspace(
            session, organization_id=org.id, name=f"CANARY-{name} ws{w}", currency="EUR"
        )
        conn = Connection(workspace_id=ws.id, connector="hubspot", name=f"CANARY-{name} crm{w}")
        session.add(conn)
        await session.flush()
        tenant.workspace_ids.append(ws.id)
        tenant.connection_ids.append(conn.id)
        await seed_records(session, ws.id, conn.id, f"{tenant.canary}-w{w}", deals=deals)
    for role in ("admin", "editor", "viewer"):
        _, tenant.keys[role] = await create_api_key(session, organization_id=org.id, role=role)
    _, tenant.keys["ws0"] = await create_api_key(
        session, organization_id=org.id, role="viewer", workspace_ids=[tenant.workspace_ids[0]]
    )
    await session.commit()
    return tenant


@contextmanager
def count_statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """Every SQL statement run inside the block, in order: by ``engine`` or any other
    engine of the test (an app's requests have a pool of their own on PostgreSQL,
    api.session.RequestSessions)."""
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(str(args[2]))

    del engine  # every engine: see above
    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(Engine, "before_cursor_execute", record)

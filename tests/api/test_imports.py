"""importData through HTTP: all rows or none, in the caller's workspaces only."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.models import Visitors
from tests.support.api import api_client
from tests.support.records import create_tenant

IMPORT = """mutation($input: ImportDataInput!) { importData(input: $input) {
  __typename ... on ImportDataSuccess { rows } ... on MutationError { code message } } }"""


async def test_import_visitors(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker() as session:
        tenant = await create_tenant(session, "acme", workspaces=2, deals=0)
    good = "day,count,channel\n2026-01-01,120,web\n2026-01-02,80,web\n"
    bad = good + "2026-01-03,lots,web\n"
    ws0, ws1 = tenant.workspace_ids
    async with api_client(engine) as client:
        ok = await client.graphql(
            IMPORT, {"input": {"workspaceId": ws0, "kind": "VISITORS", "csv": good}},
            key=tenant.keys["editor"],
        )  # fmt: skip
        refused = await client.graphql(
            IMPORT, {"input": {"workspaceId": ws1, "kind": "VISITORS", "csv": bad}},
            key=tenant.keys["editor"],
        )  # fmt: skip
        viewer = await client.graphql(
            IMPORT, {"input": {"workspaceId": ws0, "kind": "VISITORS", "csv": good}},
            key=tenant.keys["viewer"],
        )  # fmt: skip
    assert ok["data"]["importData"] == {"__typename": "ImportDataSuccess", "rows": 2}
    assert refused["data"]["importData"]["code"] == "INVALID"
    assert "line 4: count 'lots'" in refused["data"]["importData"]["message"]
    assert "editor or admin needed" in viewer["errors"][0]["message"]
    async with sessionmaker() as session:
        counts = dict(
            (
                await session.execute(
                    select(Visitors.workspace_id, func.count()).group_by(Visitors.workspace_id)
                )
            ).all()
        )
    assert counts == {ws0: 2}

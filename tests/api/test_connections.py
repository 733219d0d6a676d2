"""Connections through HTTP: status (runs, counts, quarantine, data quality) and management."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.models import Deal, RecordError, SyncRun
from tests.support.api import api_client
from tests.support.records import T0, Tenant, count_statements, create_tenant

STATUS = """query($id: ID!) { connection(id: $id) {
  id status connector
  lastRuns(limit: 2) { status mode streams { stream fetched inserted seconds } }
  streamCounts { stream records }
  quarantined(first: 1) { totalCount edges { node { stream reason } } }
  dataQuality { dealsWithoutAmount unmappedStages dealsMissingFx } } }"""


@pytest.fixture
async def tenant(sessionmaker: async_sessionmaker[AsyncSession]) -> Tenant:
    async with sessionmaker() as session:
        tenant = await create_tenant(session, "acme", deals=10)
        conn, ws = tenant.connection_ids[0], tenant.workspace_ids[0]
        for i, status in enumerate(["SUCCEEDED", "PARTIAL", "FAILED"]):
            session.add(
                SyncRun(connection_id=conn, workspace_id=ws, mode="INCREMENTAL", status=status,
                        started_at=T0 + timedelta(hours=i),
                        stream_stats={"deals": {"fetched": 10 + i, "inserted": i, "seconds": 1.5}})
            )  # fmt: skip
        for i in range(3):
            session.add(
                RecordError(workspace_id=ws, connection_id=conn, stream="deals",
                            remote_id=f"bad{i}", reason="amount is not a number")
            )  # fmt: skip
        deal = await session.scalar(
            select(Deal).where(Deal.connection_id == conn).order_by(Deal.id).limit(1)
        )
        assert deal is not None
        deal.currency = "XYZ"
        deal.amount = 5
        await session.commit()
    return tenant


async def test_status_of_a_connection(engine: AsyncEngine, tenant: Tenant) -> None:
    async with api_client(engine) as client:
        body = await client.graphql(
            STATUS, {"id": tenant.connection_ids[0]}, key=tenant.keys["viewer"]
        )
    conn = body["data"]["connection"]
    assert [r["status"] for r in conn["lastRuns"]] == ["FAILED", "PARTIAL"]
    assert conn["lastRuns"][0]["streams"] == [
        {"stream": "deals", "fetched": 12, "inserted": 2, "seconds": 1.5}
    ]
    counts = {c["stream"]: c["records"] for c in conn["streamCounts"]}
    assert counts["deal"] == 10 and counts["user"] == 3 and counts["stage"] == 4
    assert conn["quarantined"]["totalCount"] == 3
    assert conn["quarantined"]["edges"][0]["node"]["reason"] == "amount is not a number"
    # deals 0 and 5 had no amount; deal 0 now has one in XYZ (no rate); stage s3 is unmapped
    assert conn["dataQuality"] == {
        "dealsWithoutAmount": 1, "unmappedStages": 1, "dealsMissingFx": 1,
    }  # fmt: skip


async def test_pause_resume_and_mappings(engine: AsyncEngine, tenant: Tenant) -> None:
    conn = tenant.connection_ids[0]
    pause = """mutation($id: ID!, $p: Boolean!) { pauseConnection(input: {id: $id, paused: $p}) {
      ... on PauseConnectionSuccess { connection { status } } ... on MutationError { code } } }"""
    mappings = """mutation($id: ID!, $m: JSON!) {
      updateConnectionMappings(input: {id: $id, changes: $m}) {
      ... on UpdateConnectionMappingsSuccess { connection { mappings } }
      ... on MutationError { code message } } }"""
    async with api_client(engine) as client:
        paused = await client.graphql(pause, {"id": conn, "p": True}, key=tenant.keys["editor"])
        resumed = await client.graphql(pause, {"id": conn, "p": False}, key=tenant.keys["editor"])
        mapped = await client.graphql(
            mappings, {"id": conn, "m": {"stage_kinds": {"s3": "LOST"}}}, key=tenant.keys["editor"]
        )
        bad_kind = await client.graphql(
            mappings, {"id": conn, "m": {"stage_kinds": {"s3": "MAYBE"}}}, key=tenant.keys["editor"]
        )
        bad_shape = await client.graphql(
            mappings, {"id": conn, "m": {"stage_kinds": 5}}, key=tenant.keys["editor"]
        )
        not_object = await client.graphql(
            mappings, {"id": conn, "m": [1, 2]}, key=tenant.keys["editor"]
        )
        viewer = await client.graphql(pause, {"id": conn, "p": True}, key=tenant.keys["viewer"])
    assert paused["data"]["pauseConnection"]["connection"]["status"] == "PAUSED"
    assert resumed["data"]["pauseConnection"]["connection"]["status"] == "ACTIVE"
    stored = mapped["data"]["updateConnectionMappings"]["connection"]["mappings"]
    assert stored["stage_kinds"] == {"s3": "LOST"}
    assert "is not one of" in bad_kind["data"]["updateConnectionMappings"]["message"]
    assert bad_shape["data"]["updateConnectionMappings"]["code"] == "INVALID"
    assert not_object["data"]["updateConnectionMappings"]["code"] == "INVALID"
    assert viewer["data"] is None and "editor or admin needed" in viewer["errors"][0]["message"]


async def test_delete_connection_removes_its_data_only(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant
) -> None:
    async with sessionmaker() as session:
        other = await create_tenant(session, "globex", workspaces=1, deals=3)
    delete = """mutation($id: ID!) { deleteConnection(input: {id: $id}) {
      ... on DeleteConnectionSuccess { deletedRecords } ... on MutationError { code } } }"""
    gone, kept = tenant.connection_ids
    async with api_client(engine) as client:
        foreign = await client.graphql(
            delete, {"id": other.connection_ids[0]}, key=tenant.keys["editor"]
        )
        scoped = await client.graphql(delete, {"id": kept}, key=tenant.keys["ws0"])
        deleted = await client.graphql(delete, {"id": gone}, key=tenant.keys["editor"])
        again = await client.graphql(delete, {"id": gone}, key=tenant.keys["editor"])
        listed = await client.graphql("{ connections { id } }", key=tenant.keys["viewer"])
    assert foreign["data"]["deleteConnection"]["code"] == "NOT_FOUND"
    assert scoped["data"] is None  # the workspace-limited key is a viewer
    # 3 users + pipeline + 4 stages + 4 accounts + 10 each of contacts, leads, deals, activities
    assert deleted["data"]["deleteConnection"]["deletedRecords"] == 52
    assert again["data"]["deleteConnection"]["code"] == "NOT_FOUND"
    assert listed["data"]["connections"] == [{"id": kept}]
    async with sessionmaker() as session:
        left = await session.scalar(select(func.count()).select_from(Deal))
        runs = await session.scalar(select(func.count()).select_from(SyncRun))
    assert left == 10 + 3 and runs == 0


async def test_delete_workspace_with_its_data(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant
) -> None:
    delete = """mutation($id: ID!) { deleteWorkspace(input: {id: $id}) {
      ... on DeleteWorkspaceSuccess { deletedRecords } ... on MutationError { code message } } }"""
    gone, kept = tenant.workspace_ids
    async with api_client(engine) as client:
        editor = await client.graphql(delete, {"id": gone}, key=tenant.keys["editor"])
        deleted = await client.graphql(delete, {"id": gone}, key=tenant.keys["admin"])
        listed = await client.graphql(
            "{ workspaces { id } deals { totalCount } }", key=tenant.keys["admin"]
        )
    assert "admin needed" in editor["errors"][0]["message"]
    assert deleted["data"]["deleteWorkspace"]["deletedRecords"] == 52
    assert listed["data"] == {"workspaces": [{"id": kept}], "deals": {"totalCount": 10}}
    async with sessionmaker() as session:
        runs = await session.scalar(select(func.count()).select_from(SyncRun))
        errors = await session.scalar(select(func.count()).select_from(RecordError))
    assert runs == 0 and errors == 0


LIST = """query($ws: [ID!]) { connections(workspaceIds: $ws) {
  id
  lastRuns(limit: 2) { status startedAt }
  streamCounts { stream records }
  quarantined(first: 2) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { remoteId } } }
  dataQuality { dealsWithoutAmount unmappedStages dealsMissingFx } } }"""
ONE = LIST.replace(
    "query($ws: [ID!]) { connections(workspaceIds: $ws)", "query($id: ID!) { connection(id: $id)"
)


async def test_status_of_a_list_costs_the_same_queries_as_one(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker() as session:
        tenant = await create_tenant(session, "many", workspaces=6, deals=4)
        for n, (ws, conn) in enumerate(zip(tenant.workspace_ids, tenant.connection_ids)):
            for i in range(n % 4):  # 0..3 runs and quarantined records, differing per connection
                session.add(
                    SyncRun(connection_id=conn, workspace_id=ws, mode="FULL", status="SUCCEEDED",
                            started_at=T0 + timedelta(hours=i))
                )  # fmt: skip
                session.add(
                    RecordError(workspace_id=ws, connection_id=conn, stream="deals",
                                remote_id=f"{conn}-{i}", reason="bad")
                )  # fmt: skip
        await session.commit()
    key = tenant.keys["viewer"]
    counts: dict[int, int] = {}
    # The key stays known for the whole test: the default 5 s cache could expire mid-test on
    # a loaded machine and add its re-read to one size only (as in test_kpi_records).
    async with api_client(engine, rate_limit_per_minute=0, api_key_cache_seconds=3600) as client:
        await client.graphql("{ viewer { role } }", key=key)  # known from here: no key lookup
        for size in (1, 3, 6):
            with count_statements(engine) as statements:
                body = await client.graphql(LIST, {"ws": tenant.workspace_ids[:size]}, key=key)
            assert len(body["data"]["connections"]) == size, body
            counts[size] = len(statements)
        listed = {c["id"]: c for c in body["data"]["connections"]}
        for conn in tenant.connection_ids:  # batching answers what one connection alone does
            alone = await client.graphql(ONE, {"id": conn}, key=key)
            assert listed[conn] == alone["data"]["connection"]
    assert counts[1] == counts[3] == counts[6], counts
    assert [len(listed[c]["lastRuns"]) for c in tenant.connection_ids] == [0, 1, 2, 2, 0, 1]
    totals = [listed[c]["quarantined"]["totalCount"] for c in tenant.connection_ids]
    assert totals == [0, 1, 2, 3, 0, 1]
    assert listed[tenant.connection_ids[3]]["quarantined"]["pageInfo"]["hasNextPage"] is True

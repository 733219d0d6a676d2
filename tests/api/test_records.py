"""Record lists through HTTP: pages, filters, periods, single records, DataLoaders (N+1)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tests.support.api import api_client
from tests.support.records import Tenant, count_statements, create_tenant

DEALS_PAGE = """
query($first: Int!, $after: String, $segment: RecordSegmentInput, $period: RecordPeriodInput,
      $ws: [ID!]) {
  deals(first: $first, after: $after, segment: $segment, period: $period, workspaceIds: $ws) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id name status amount workspaceId
      owner { id name } stage { name kind } pipeline { name } account { name country }
      contact { name } } }
  }
}
"""


@pytest.fixture
async def tenant(sessionmaker: async_sessionmaker[AsyncSession]) -> Tenant:
    async with sessionmaker() as session:
        return await create_tenant(session, "acme", deals=12)


async def _deals(client: Any, key: str, **variables: Any) -> dict[str, Any]:
    body = await client.graphql(DEALS_PAGE, {"first": 50, **variables}, key=key)
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["deals"]
    return result


async def test_pages_walk_every_deal_once(engine: AsyncEngine, tenant: Tenant) -> None:
    seen: list[str] = []
    after = None
    async with api_client(engine) as client:
        while True:
            page = await _deals(client, tenant.keys["viewer"], first=5, after=after)
            assert page["totalCount"] == 24
            seen += [e["node"]["id"] for e in page["edges"]]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
    assert len(seen) == 24 == len(set(seen))
    assert seen == sorted(seen, key=int)


async def test_references_resolve_within_the_connection(
    engine: AsyncEngine, tenant: Tenant
) -> None:
    async with api_client(engine) as client:
        page = await _deals(client, tenant.keys["viewer"], ws=[tenant.workspace_ids[0]])
    first = next(e["node"] for e in page["edges"] if e["node"]["name"].endswith("deal 1"))
    assert first["owner"]["name"] == f"{tenant.canary}-w0 user 1"
    assert first["stage"] == {"name": f"{tenant.canary}-w0 s1", "kind": "PROPOSAL"}
    assert first["account"] == {"name": f"{tenant.canary}-w0 account 1", "country": "ES"}
    assert first["contact"]["name"] == f"{tenant.canary}-w0 contact 1"
    assert {e["node"]["workspaceId"] for e in page["edges"]} == {tenant.workspace_ids[0]}


async def test_segment_and_period_filter(engine: AsyncEngine, tenant: Tenant) -> None:
    async with api_client(engine) as client:
        won = await _deals(client, tenant.keys["viewer"], segment={"statuses": ["WON"]})
        spain = await _deals(client, tenant.keys["viewer"], segment={"countries": ["ES"]})
        january = await _deals(
            client,
            tenant.keys["viewer"],
            period={"start": "2026-01-03", "end": "2026-01-06", "timezone": "UTC"},
        )
        closed = await _deals(
            client,
            tenant.keys["viewer"],
            period={"start": "2026-01-01", "end": "2026-01-07", "field": "CLOSED"},
        )
        owner_id = won["edges"][0]["node"]["owner"]["id"]
        by_owner = await _deals(client, tenant.keys["viewer"], segment={"owners": [owner_id]})
    assert {e["node"]["status"] for e in won["edges"]} == {"WON"}
    assert won["totalCount"] == 2 * 4  # i in 0, 3, 6, 9 per workspace
    assert {e["node"]["account"]["country"] for e in spain["edges"]} == {"ES"}
    assert january["totalCount"] == 2 * 3  # created 2, 3, 4 January
    assert closed["totalCount"] == 2  # deal 0 of each workspace closed on 6 January
    owners = {e["node"]["owner"]["id"] for e in by_owner["edges"]}
    assert owners == {owner_id} and by_owner["totalCount"] == 4


async def test_every_list_answers(engine: AsyncEngine, tenant: Tenant) -> None:
    query = """{ contacts(first: 3) { totalCount edges { node { name owner { name }
                   account { name } } } }
                 leads(first: 3, segment: {sources: ["web"]}) { totalCount }
                 accounts { totalCount edges { node { owner { name } } } }
                 activities(period: {start: "2026-01-01", end: "2026-01-03", field: DONE}) {
                   totalCount edges { node { type contact { name } } } } }"""
    async with api_client(engine) as client:
        body = await client.graphql(query, key=tenant.keys["viewer"])
    data = body["data"]
    assert data["contacts"]["totalCount"] == 24 and len(data["contacts"]["edges"]) == 3
    assert data["leads"]["totalCount"] == 12
    assert data["accounts"]["totalCount"] == 8
    assert data["activities"]["totalCount"] == 4
    assert all(e["node"]["owner"]["name"] for e in data["accounts"]["edges"])


async def test_single_records_and_foreign_ids(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant
) -> None:
    async with sessionmaker() as session:
        other = await create_tenant(session, "globex", workspaces=1, deals=2)
    query = "query($id: ID!) { deal(id: $id) { id name } }"
    async with api_client(engine) as client:
        own_page = await _deals(client, tenant.keys["viewer"], first=1)
        own_id = own_page["edges"][0]["node"]["id"]
        other_page = await _deals(client, other.keys["viewer"], first=1)
        foreign_id = other_page["edges"][0]["node"]["id"]
        own = await client.graphql(query, {"id": own_id}, key=tenant.keys["viewer"])
        foreign = await client.graphql(query, {"id": foreign_id}, key=tenant.keys["viewer"])
        missing = await client.graphql(query, {"id": "987654321"}, key=tenant.keys["viewer"])
        garbage = await client.graphql(query, {"id": "x' OR 1=1"}, key=tenant.keys["viewer"])
        huge = await client.graphql(query, {"id": str(2**70)}, key=tenant.keys["viewer"])
    assert own["data"]["deal"]["id"] == own_id
    assert foreign == missing == garbage == huge == {"data": {"deal": None}}


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"first": 0}, "first must be between 1 and 500"),
        ({"first": 501}, "first must be between 1 and 500"),
        ({"after": "bm9wZQ=="}, "invalid cursor"),
        ({"period": {"start": "2026-02-01", "end": "2026-01-01"}}, "must be after its start"),
        ({"period": {"start": "2026-01-01", "end": "2026-02-01", "timezone": "Mars/Base"}},
         "unknown timezone"),
        ({"period": {"start": "2026-01-01", "end": "2026-02-01", "field": "DONE"}},
         "does not apply to deals"),
        ({"segment": {"activityTypes": ["CALL"]}}, "segment.activityTypes does not apply"),
        ({"segment": {"owners": ["abc"]}}, "is not a record id"),
        ({"segment": {"owners": [str(2**70)]}}, "is not a record id"),
        ({"segment": {"sources": ["x"] * 101}}, "more than 100 values"),
        ({"ws": ["ws_unknown"]}, "workspace 'ws_unknown' not found"),
    ],
)  # fmt: skip
async def test_bad_arguments_get_precise_errors(
    engine: AsyncEngine, tenant: Tenant, variables: dict[str, Any], message: str
) -> None:
    async with api_client(engine) as client:
        body = await client.graphql(
            DEALS_PAGE, {"first": 10, **variables}, key=tenant.keys["viewer"]
        )
    assert body["data"] is None
    assert message in body["errors"][0]["message"]


NESTED = {
    "deals": "owner { name } stage { name } pipeline { name } account { name owner { name } }"
    " contact { name account { name } }",
    "contacts": "owner { name } account { name owner { name } }",
    "leads": "owner { name } account { name }",
    "accounts": "owner { name }",
    "activities": "owner { name } account { name } contact { name owner { name } }",
}


@pytest.mark.parametrize("field", sorted(NESTED))
async def test_statement_count_does_not_grow_with_the_page(
    engine: AsyncEngine, tenant: Tenant, field: str
) -> None:
    query = (
        f"query($first: Int!) {{ {field}(first: $first) {{ totalCount "
        f"edges {{ node {{ id {NESTED[field]} }} }} }} }}"
    )
    counts = {}
    # The key stays authenticated for the whole test (as in test_kpi_records): with the
    # default 5 s cache a slow request let it expire mid-test on a loaded machine, and its
    # re-read added three statements to one page size only ({2: 8, 8: 5, 24: 5}).
    async with api_client(engine, api_key_cache_seconds=3600) as client:
        # A key's first request also draws from its address's rate-limit bucket (one more
        # statement on PostgreSQL's shared limiter, api.ratelimit): not counted here.
        await client.graphql(query, {"first": 1}, key=tenant.keys["viewer"])
        for first in (2, 8, 24):
            with count_statements(engine) as statements:
                body = await client.graphql(query, {"first": first}, key=tenant.keys["viewer"])
            edges = body["data"][field]["edges"]
            assert len(edges) == min(first, body["data"][field]["totalCount"])
            assert all(e["node"]["owner"] for e in edges)  # references were resolved
            counts[first] = len(statements)
    assert counts[2] == counts[8] == counts[24], counts
    # authentication, page, count, then one batch per referenced table and nesting level
    assert counts[24] <= 12, counts

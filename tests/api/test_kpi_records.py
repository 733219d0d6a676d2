"""``records`` on KPI results through HTTP: paging, sides, tenancy, statement counts."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.metrics.cache import LruStore
from tests.support.api import api_client
from tests.support.records import Tenant, count_statements, create_tenant

JANUARY = '{start: "2026-01-01", end: "2026-02-01"}'
RECORDS = """
query($first: Int!, $after: String, $side: RecordSide, $ws: [ID!]) {
  metrics(workspaceIds: $ws) {
    KPI(period: %s) {
      value numerator denominator
      records(first: $first, after: $after, side: $side) {
        totalCount
        pageInfo { hasNextPage hasPreviousPage endCursor }
        edges { cursor node { __typename id workspaceId
          ... on Deal { name status owner { name } account { name } stage { name } }
          ... on Lead { name owner { name } }
          ... on Activity { subject owner { name } } } }
      }
    }
  }
}
"""


@pytest.fixture
async def tenant(sessionmaker: async_sessionmaker[AsyncSession]) -> Tenant:
    async with sessionmaker() as session:
        return await create_tenant(session, "acme", deals=10)


async def _kpi(client: Any, key: str, kpi: str, **variables: Any) -> dict[str, Any]:
    body = await client.graphql(
        RECORDS.replace("KPI", kpi) % JANUARY, {"first": 50, **variables}, key=key
    )
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["metrics"][kpi]
    return result


async def test_pages_walk_the_records_behind_the_number(
    engine: AsyncEngine, tenant: Tenant
) -> None:
    seen: list[str] = []
    after = None
    async with api_client(engine) as client:
        while True:
            result = await _kpi(client, tenant.keys["viewer"], "dealsWon", first=3, after=after)
            page = result["records"]
            assert page["totalCount"] == result["value"] == 8  # 4 won deals per workspace
            assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
            seen += [e["node"]["id"] for e in page["edges"]]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
    assert len(seen) == 8 == len(set(seen))


async def test_sides_kinds_and_references(engine: AsyncEngine, tenant: Tenant) -> None:
    async with api_client(engine) as client:
        win = await _kpi(client, tenant.keys["viewer"], "winRate")
        closed = await _kpi(client, tenant.keys["viewer"], "winRate", side="DENOMINATOR")
        open_deals = await _kpi(client, tenant.keys["viewer"], "openDeals")
        leads = await _kpi(client, tenant.keys["viewer"], "newLeads")
        calls = await _kpi(client, tenant.keys["viewer"], "activities")
    assert win["records"]["totalCount"] == win["numerator"]
    assert closed["records"]["totalCount"] == closed["denominator"]
    deals = [e["node"] for e in win["records"]["edges"]]
    assert {d["status"] for d in deals} == {"WON"}
    assert all(d["owner"]["name"] and d["account"]["name"] and d["stage"] for d in deals)
    assert open_deals["records"]["totalCount"] == open_deals["value"] == 12
    assert {e["node"]["status"] for e in open_deals["records"]["edges"]} == {"OPEN"}
    assert {e["node"]["__typename"] for e in leads["records"]["edges"]} == {"Lead"}
    assert leads["records"]["totalCount"] == leads["value"] == 20
    assert calls["records"]["totalCount"] == calls["value"] == 20
    assert {e["node"]["__typename"] for e in calls["records"]["edges"]} == {"Activity"}


async def test_series_points_and_breakdown_groups_list_their_own(
    engine: AsyncEngine, tenant: Tenant
) -> None:
    query = """{ metrics { dealsWon(period: {start: "2026-01-01", end: "2026-02-01"},
                   granularity: WEEK, breakdown: {by: OWNER}) {
                 value series { label value records(first: 50) { totalCount } }
                 breakdown { key value records(first: 50) {
                   totalCount edges { node { ... on Deal { owner { id } } } } } } } } }"""
    async with api_client(engine) as client:
        body = await client.graphql(query, key=tenant.keys["viewer"])
    assert "errors" not in body, body
    result = body["data"]["metrics"]["dealsWon"]
    assert sum(p["value"] for p in result["series"]) == result["value"] == 8
    for point in result["series"]:
        assert point["records"]["totalCount"] == point["value"]
    for group in result["breakdown"]:
        assert group["records"]["totalCount"] == group["value"]
        owners = {e["node"]["owner"]["id"] for e in group["records"]["edges"]}
        assert owners == {group["key"]}


async def test_tenants_and_workspaces_see_only_their_records(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant
) -> None:
    async with sessionmaker() as session:
        other = await create_tenant(session, "globex", workspaces=1, deals=4)
    async with api_client(engine) as client:
        own = await _kpi(client, tenant.keys["viewer"], "activities")
        scoped = await _kpi(client, tenant.keys["ws0"], "activities")
        theirs = await _kpi(client, other.keys["viewer"], "activities")
        foreign = await client.graphql(
            RECORDS.replace("KPI", "activities") % JANUARY,
            {"first": 5, "ws": [other.workspace_ids[0]]},
            key=tenant.keys["viewer"],
        )
        own_cursor = own["records"]["pageInfo"]["endCursor"]
    subjects = [e["node"]["subject"] for e in own["records"]["edges"]]
    assert all(s.startswith(tenant.canary) for s in subjects) and len(subjects) == 20
    assert scoped["records"]["totalCount"] == 10
    assert {e["node"]["workspaceId"] for e in scoped["records"]["edges"]} == {
        tenant.workspace_ids[0]
    }
    assert theirs["records"]["totalCount"] == 4
    assert all(e["node"]["subject"].startswith(other.canary) for e in theirs["records"]["edges"])
    assert foreign["data"] is None and "not found" in foreign["errors"][0]["message"]
    assert own_cursor is not None


@pytest.mark.parametrize(
    ("kpi", "variables", "message"),
    [
        ("dealsWon", {"side": "DENOMINATOR"}, "has no denominator"),
        ("dealsWon", {"first": 501}, "first must be between 1 and 500"),
        ("dealsWon", {"after": "bm9wZQ=="}, "invalid cursor"),
        ("costPerLead", {}, "imported figures"),
    ],
)
async def test_bad_requests_get_precise_errors(
    engine: AsyncEngine, tenant: Tenant, kpi: str, variables: dict[str, Any], message: str
) -> None:
    async with api_client(engine) as client:
        body = await client.graphql(
            RECORDS.replace("KPI", kpi) % JANUARY,
            {"first": 10, **variables},
            key=tenant.keys["viewer"],
        )
    assert message in body["errors"][0]["message"], body
    # records is nullable (issue #20): its refusal nulls it alone, the KPI's value stays
    assert body["data"]["metrics"][kpi]["records"] is None


async def test_a_cursor_of_one_side_is_refused_by_the_other(
    engine: AsyncEngine, tenant: Tenant
) -> None:
    async with api_client(engine) as client:
        win = await _kpi(client, tenant.keys["viewer"], "winRate", first=1)
        body = await client.graphql(
            RECORDS.replace("KPI", "winRate") % JANUARY,
            {"first": 1, "after": win["records"]["pageInfo"]["endCursor"], "side": "DENOMINATOR"},
            key=tenant.keys["viewer"],
        )
    assert "invalid cursor" in body["errors"][0]["message"]


@pytest.mark.parametrize(
    ("kpi", "sizes"),
    [
        ("winRate", (2, 6, 20)),
        ("newLeads", (2, 10, 50)),
        # Open deals, then open leads: pages that reach into the leads part.
        ("pendingFollowUps", (45, 70, 100)),
    ],
)
async def test_statement_count_does_not_grow_with_the_page(
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    kpi: str,
    sizes: tuple[int, ...],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Every request computes its number (a result cached in one minute and not the next
    # would change the count for a reason that has nothing to do with the page).
    monkeypatch.setattr(LruStore, "get", lambda self, key: None)
    async with sessionmaker() as session:
        big = await create_tenant(session, "big", deals=30)
    counts = {}
    # The key stays authenticated for the whole test: with the default 5 s cache a slow
    # first request (4.7 s on a loaded machine) let it expire mid-test, and its re-read
    # added three statements to one page size only.
    async with api_client(engine, api_key_cache_seconds=3600) as client:
        # A key's first request also draws from its address's rate-limit bucket (one more
        # statement on PostgreSQL's shared limiter, api.ratelimit): not counted here.
        await _kpi(client, big.keys["viewer"], kpi, first=1)
        for first in sizes:
            with count_statements(engine) as statements:
                result = await _kpi(client, big.keys["viewer"], kpi, first=first)
            edges = result["records"]["edges"]
            assert len(edges) == min(first, result["records"]["totalCount"])
            assert all(e["node"]["owner"]["name"] for e in edges)  # references resolved
            counts[first] = len(statements)
    assert len(set(counts.values())) == 1, counts

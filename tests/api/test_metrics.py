"""Metrics over GraphQL: fields, arguments, errors, tenancy and batching (both databases)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.tenancy import create_api_key
from tests.core.metrics.factory import Seed, utc
from tests.support.api import api_client

BEFORE = utc(2020, 1, 10)


async def _tenant(session: AsyncSession) -> tuple[Seed, str]:
    seed = await Seed.create(session, timezone="Europe/Madrid", currency="EUR")
    ana = await seed.user("Ana")
    for month in range(1, 13):
        await seed.deal(
            status="WON",
            amount=100 * month,
            closed_at=utc(2025, month, 15),
            currency="EUR",
            remote_created_at=BEFORE,
            owner_remote_id=ana.remote_id,
        )
    await seed.deal(status="LOST", closed_at=utc(2025, 6, 2), remote_created_at=BEFORE)
    await seed.deal(status="OPEN", amount=50, remote_created_at=BEFORE)
    _, key = await create_api_key(session, organization_id=seed.workspace.organization_id)
    await session.commit()
    return seed, key


DASHBOARD = """
query($ws: ID!) {
  metrics(workspaceId: $ws) {
    salesRevenue(period: {start: "2025-06-01", end: "2025-07-01"}, compareTo: PREVIOUS_PERIOD) {
      name unit value currency missingFxCount
      period { start end timezone }
      comparison { value change changeRatio aligned period { start end } }
      freshness { syncedAt staleConnections }
      target { value } projection
    }
    winRate(period: {start: "2025-06-01", end: "2025-07-01"},
            breakdown: {by: OWNER, top: 5}) {
      value numerator denominator breakdown { key label value }
    }
    dealsWon(period: {start: "2025-01-01", end: "2026-01-01"}, granularity: QUARTER) {
      value series { label value start end }
    }
    openDeals(period: {start: "2025-06-01", end: "2025-07-01"}) { value }
    byName: kpi(name: "dealsLost", period: {start: "2025-06-01", end: "2025-07-01"}) { value }
  }
  kpiDefinitions { name kind unit description }
}
"""


async def test_dashboard_query(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker() as session:
        seed, key = await _tenant(session)
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    async with api_client(engine) as client:
        # every engine: requests have a pool of their own on PostgreSQL (api.session)
        event.listen(Engine, "before_cursor_execute", count)
        try:
            body = await client.graphql(DASHBOARD, {"ws": seed.workspace.id}, key=key)
        finally:
            event.remove(Engine, "before_cursor_execute", count)
    assert "errors" not in body, body
    data = body["data"]["metrics"]
    revenue = data["salesRevenue"]
    assert (revenue["value"], revenue["unit"], revenue["currency"]) == (600, "MONEY", "EUR")
    assert revenue["comparison"]["value"] == 500 and revenue["comparison"]["change"] == 100
    assert revenue["comparison"]["period"] == {"start": "2025-05-01", "end": "2025-06-01"}
    assert revenue["comparison"]["aligned"] is False
    assert revenue["period"]["timezone"] == "Europe/Madrid"
    assert revenue["freshness"]["staleConnections"] == [seed.connection.id]
    assert revenue["target"] is None and revenue["projection"] is None
    win = data["winRate"]
    assert (win["value"], win["numerator"], win["denominator"]) == (0.5, 1, 2)
    assert {g["label"] for g in win["breakdown"]} == {"Ana", "(none)"}
    assert [(p["label"], p["value"]) for p in data["dealsWon"]["series"]] == [
        ("2025-Q1", 3),
        ("2025-Q2", 3),
        ("2025-Q3", 3),
        ("2025-Q4", 3),
    ]
    # Open at the end of June: the open deal and the six won later in 2025.
    assert data["openDeals"]["value"] == 7 and data["byName"]["value"] == 1
    names = {d["name"] for d in body["data"]["kpiDefinitions"]}
    assert {"winRate", "salesRevenue", "pendingFollowUps"} <= names
    # All KPIs of the selection in one batch. The flows fall on whole local days, so the
    # daily rollups answer them: one statement for the totals, one for dealsWon's quarters,
    # one for the owner breakdown. openDeals (a state at an instant, not a flow) reads the
    # deals, as still-open plus recently closed deals added up (core.metrics.open_sql).
    rolled = [s for s in statements if "FROM deal_days" in s or "deal_days AS" in s]
    assert len(rolled) == 3, rolled
    assert sum("bucket" in s for s in rolled) == 1
    assert sum("bd_user" in s for s in rolled) == 1
    metric_scans = [s for s in statements if "deals_src" in s]
    assert len(metric_scans) == 1, metric_scans
    assert "open_groups" in metric_scans[0]


async def test_bad_arguments_are_precise_errors(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker() as session:
        seed, key = await _tenant(session)
    query = """query($ws: ID!, $p: PeriodInput) { metrics(workspaceId: $ws) {
        winRate(period: $p) { value } dealsWon { value } } }"""
    cases = [
        ({"timezone": "Nowhere/Land", "preset": "THIS_MONTH"}, "unknown timezone"),
        ({"start": "2025-03-02", "end": "2025-03-01"}, "must be after"),
    ]
    async with api_client(engine) as client:
        for period, message in cases:
            body = await client.graphql(query, {"ws": seed.workspace.id, "p": period}, key=key)
            assert message in body["errors"][0]["message"]
            assert body["errors"][0]["path"] == ["metrics", "winRate"]
            assert body["data"]["metrics"]["dealsWon"] is not None  # siblings still answer
        bad_preset = await client.graphql(
            query, {"ws": seed.workspace.id, "p": {"preset": "NEXT_DECADE"}}, key=key
        )
        foreign = await client.graphql(query, {"ws": "ws_other", "p": None}, key=key)
    assert "NEXT_DECADE" in bad_preset["errors"][0]["message"]
    assert "not found" in foreign["errors"][0]["message"]

"""setTarget, then target { value attainment } and projection on KPI results (both databases)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.tenancy import create_api_key
from tests.core.metrics.factory import Seed, utc
from tests.support.api import api_client

SET = """
mutation($input: SetTargetInput!) {
  setTarget(input: $input) {
    __typename
    ... on SetTargetSuccess { target { kpi periodStart periodEnd value segment } }
    ... on MutationError { message code }
  }
}
"""

QUERY = """
query($ws: ID!, $owner: ID!) {
  metrics(workspaceId: $ws) {
    all: dealsWon(period: {start: "2025-06-01", end: "2025-07-01"}) {
      value target { value attainment } projection
    }
    mine: dealsWon(period: {start: "2025-06-01", end: "2025-07-01"}, segment: {owners: [$owner]}) {
      value target { value attainment }
    }
    quarter: dealsWon(period: {start: "2025-04-01", end: "2025-07-01"}) { value target { value } }
  }
}
"""


async def test_targets_reach_results_of_their_exact_period_and_segment(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker() as session:
        seed = await Seed.create(session, timezone="Europe/Madrid")
        ana, bob = await seed.user("Ana"), await seed.user("Bob")
        for owner, n in ((ana, 6), (bob, 2)):
            await seed.deals(
                n, status="WON", closed_at=utc(2025, 6, 10), owner_remote_id=owner.remote_id
            )
        _, key = await create_api_key(
            session, organization_id=seed.workspace.organization_id, role="editor"
        )
        await session.commit()
        ws, owner_id = seed.workspace.id, str(ana.id)
    june = {
        "workspaceId": ws,
        "kpi": "dealsWon",
        "periodStart": "2025-06-01",
        "periodEnd": "2025-07-01",
    }
    async with api_client(engine) as client:
        answers = [
            await client.graphql(SET, {"input": {**june, "value": 10}}, key=key),
            await client.graphql(
                SET, {"input": {**june, "value": 4, "segment": {"owners": [owner_id]}}}, key=key
            ),
            await client.graphql(SET, {"input": {**june, "kpi": "dealsWonn", "value": 1}}, key=key),
        ]
        body = await client.graphql(QUERY, {"ws": ws, "owner": owner_id}, key=key)
    assert [a["data"]["setTarget"]["__typename"] for a in answers] == [
        "SetTargetSuccess",
        "SetTargetSuccess",
        "SetTargetError",
    ]
    assert answers[1]["data"]["setTarget"]["target"]["segment"] == {"OWNER": [owner_id]}
    assert "unknown KPI 'dealsWonn'" in answers[2]["data"]["setTarget"]["message"]
    data = body["data"]["metrics"]
    assert data["all"] == {
        "value": 8.0,
        "target": {"value": 10.0, "attainment": 0.8},
        "projection": None,  # June 2025 is over: its value is final
    }
    assert data["mine"] == {"value": 6.0, "target": {"value": 4.0, "attainment": 1.5}}
    assert data["quarter"] == {"value": 8.0, "target": None}


async def test_projection_of_the_month_in_progress(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    now = datetime.now(UTC)
    async with sessionmaker() as session:
        seed = await Seed.create(session)
        await seed.deals(3, status="WON", closed_at=now - timedelta(seconds=5))
        _, key = await create_api_key(session, organization_id=seed.workspace.organization_id)
        await session.commit()
        ws = seed.workspace.id
    query = """query($ws: ID!) { metrics(workspaceId: $ws) {
        dealsWon(period: {preset: THIS_MONTH}) { value projection period { start end } }
        winRate(period: {preset: THIS_MONTH}) { value projection } } }"""
    async with api_client(engine) as client:
        body = await client.graphql(query, {"ws": ws}, key=key)
    won, rate = body["data"]["metrics"]["dealsWon"], body["data"]["metrics"]["winRate"]
    start = datetime.fromisoformat(won["period"]["start"]).replace(tzinfo=UTC)
    end = datetime.fromisoformat(won["period"]["end"]).replace(tzinfo=UTC)
    expected = 3 * (end - start) / (now - start)
    assert won["value"] == 3.0
    assert abs(won["projection"] - expected) / expected < 0.01
    assert rate == {"value": 1.0, "projection": 1.0}

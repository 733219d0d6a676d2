"""The API parts the agency dashboard reads (issue #22): KpiPoint.partial, and pipelines
with their stages in display order, tenant-scoped (both databases)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from core.tenancy import create_api_key
from tests.core.metrics.factory import Seed
from tests.support.api import api_client

SERIES = """
query($ws: ID!, $asOf: DateTime) {
  metrics(workspaceId: $ws) {
    dealsWon(period: {preset: LAST_365_DAYS}, granularity: MONTH, asOf: $asOf) {
      series { label start end partial }
    }
  }
}
"""


async def _tenant(session: AsyncSession) -> tuple[Seed, str]:
    seed = await Seed.create(session)
    await seed.deal(status="WON", closed_at=datetime.now(UTC) - timedelta(days=1))
    _, key = await create_api_key(session, organization_id=seed.workspace.organization_id)
    await session.commit()
    return seed, key


async def test_the_bucket_in_progress_is_partial(
    engine: AsyncEngine, session: AsyncSession
) -> None:
    seed, key = await _tenant(session)
    async with api_client(engine) as api:
        now = await api.graphql(SERIES, {"ws": seed.workspace.id}, key=key)
        future = await api.graphql(
            SERIES, {"ws": seed.workspace.id, "asOf": "2999-01-01T00:00:00Z"}, key=key
        )
    assert "errors" not in now, now
    series = now["data"]["metrics"]["dealsWon"]["series"]
    today = datetime.now(UTC).date().isoformat()
    # Only the month that contains today (the last bucket of a rolling year) is partial.
    flags = [(p["partial"], p["start"] <= today < p["end"]) for p in series]
    assert [partial for partial, _ in flags] == [in_progress for _, in_progress in flags]
    assert series[-1]["partial"] is True and series[0]["partial"] is False
    # asOf after every bucket: none is partial.
    assert not any(p["partial"] for p in future["data"]["metrics"]["dealsWon"]["series"])


PIPELINES = """
query($ids: [ID!]) {
  pipelines(workspaceIds: $ids) { id name workspaceId stages { name displayOrder kind } }
}
"""


async def test_pipelines_list_their_stages_in_order(
    engine: AsyncEngine, session: AsyncSession
) -> None:
    seed, key = await _tenant(session)
    sales = await seed.pipeline("Sales")
    for order, (name, kind) in enumerate(
        [("Won", "WON"), ("Lead in", "LEAD_IN"), ("Lost", "LOST"), ("Demo", "QUALIFIED")]
    ):
        # Display orders given out of insertion order: 3, 1, 4, 2.
        await seed.stage(sales, name, display_order=[3, 1, 4, 2][order], kind=kind)
    other = await Seed.create(session)  # another organization's pipeline
    await other.pipeline("Theirs")
    await session.commit()
    async with api_client(engine) as api:
        mine = await api.graphql(PIPELINES, {}, key=key)
        scoped = await api.graphql(PIPELINES, {"ids": [seed.workspace.id]}, key=key)
        foreign = await api.graphql(PIPELINES, {"ids": [other.workspace.id]}, key=key)
        anonymous = await api.graphql(PIPELINES, {})
    assert "errors" not in mine, mine
    assert [p["name"] for p in mine["data"]["pipelines"]] == ["Sales"]
    assert mine == scoped
    stages = mine["data"]["pipelines"][0]["stages"]
    assert [s["name"] for s in stages] == ["Lead in", "Demo", "Won", "Lost"]
    assert [s["kind"] for s in stages] == ["LEAD_IN", "QUALIFIED", "WON", "LOST"]
    assert foreign["data"] is None and "not found" in foreign["errors"][0]["message"]
    assert anonymous["data"] is None and "API key" in anonymous["errors"][0]["message"]

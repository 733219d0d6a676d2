"""Lifecycle and imported-data KPIs as Metrics fields over GraphQL (both databases)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.imports import IMPORT_KINDS, import_csv
from core.tenancy import create_api_key
from tests.core.metrics.factory import Seed, utc
from tests.support.api import api_client

QUERY = """
query($ws: ID!) {
  metrics(workspaceId: $ws) {
    customerChurnRate(
      period: {start: "2026-03-01", end: "2026-04-01"}, compareTo: PREVIOUS_PERIOD
    ) {
      unit value numerator denominator comparison { value }
    }
    activeCustomers(period: {start: "2026-03-01", end: "2026-04-01"}) { kind value }
    mrr(period: {start: "2026-03-01", end: "2026-04-01"}) { value currency }
    nps(period: {start: "2026-03-01", end: "2026-04-01"}) { unit value }
    csat(period: {start: "2026-03-01", end: "2026-04-01"}) { value extra { name value } }
    incrementalRevenue(period: {start: "2026-03-01", end: "2026-04-01"}, baselinePeriods: 1) {
      value denominator
    }
    baseline2: kpi(name: "incrementalRevenue", period: {start: "2026-03-01", end: "2026-04-01"}
                   baselinePeriods: 2) { denominator }
    costPerLead(period: {start: "2026-03-01", end: "2026-04-01"}) { value nullReason }
    byName: kpi(name: "customerRetentionRate", period: {start: "2026-03-01", end: "2026-04-01"}) {
      value
    }
  }
}
"""


async def test_lifecycle_kpis_are_metrics_fields(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker() as session:
        seed = await Seed.create(session, currency="EUR", inactivity_days=30)
        for account, day, amount in (
            ("a", utc(2026, 2, 20), 100),
            ("b", utc(2026, 2, 1), 200),
            ("c", utc(2026, 3, 2), 1000),
        ):
            await seed.deal(status="WON", closed_at=day, account_remote_id=account, amount=amount)
        await seed.deal(
            status="WON",
            closed_at=utc(2026, 1, 5),
            account_remote_id="d",
            recurring_amount=250,
            amount=400,
        )
        await import_csv(
            session,
            IMPORT_KINDS["surveys"],
            seed.workspace.id,
            "id,kind,responded_at,score\n1,NPS,2026-03-02,10\n2,NPS,2026-03-03,3\n"
            "3,CSAT,2026-03-04,5\n4,CSAT,2026-03-05,2\n",
        )
        _, key = await create_api_key(session, organization_id=seed.workspace.organization_id)
        await session.commit()
    async with api_client(engine) as client:
        body = await client.graphql(QUERY, {"ws": seed.workspace.id}, key=key)
    assert "errors" not in body, body
    data = body["data"]["metrics"]
    # Active on 28 Feb: a (won 20 Feb), b (1 Feb), d (5 Jan, then under contract); b is lost on
    # 3 March and a on 22 March; in February nobody was lost (d's contract runs on).
    assert data["customerChurnRate"] == {
        "unit": "RATIO",
        "value": 2 / 3,
        "numerator": 2.0,
        "denominator": 3.0,
        "comparison": {"value": 0.0},
    }
    assert data["activeCustomers"] == {"kind": "STOCK", "value": 2.0}  # c and d
    assert data["mrr"] == {"value": 250.0, "currency": "EUR"}
    assert data["nps"] == {"unit": "SCORE", "value": 0.0}
    assert data["costPerLead"]["value"] is None and data["costPerLead"]["nullReason"]
    assert data["byName"]["value"] == 1 / 3  # only d was retained
    assert data["csat"] == {"value": 0.5, "extra": [{"name": "meanScore", "value": 3.5}]}
    # No spend: March (c) minus February's revenue (a, b) as the baseline of one period; the
    # mean of January (d) and February as the baseline of two.
    assert data["incrementalRevenue"] == {"value": 700.0, "denominator": 300.0}
    assert data["baseline2"] == {"denominator": 350.0}

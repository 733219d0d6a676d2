"""The connector end to end on the simulator's account variants (issue #18).

``minimal``: no Leads object, one currency; ``standard``: Leads exists but the app lacks
its scope (403). On both, full, incremental (edits and deletions) and faulty syncs must end
with the data of a clean full sync, and nothing may ask the v4 association reads naming
leads, which such portals refuse with 400.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.metrics import (
    KpiRequest,
    KpiResult,
    MetricsExecutor,
    PeriodSpec,
    Scope,
    build_registry,
)
from core.models import SYNCED_MODELS
from core.models.enums import SyncStatus
from tests.connectors.hubspot.conftest import make_simulator
from tests.support.syncing import ConnectionFactory, Syncer

pytestmark = pytest.mark.usefixtures("fast_limits")

MAPPINGS = {"deal_attributes": {"cost": "deal_cost"}}


async def _live_rows(engine: AsyncEngine, connection_id: str) -> dict[str, dict[str, Any]]:
    """Rows not soft-deleted, by table and remote id, without ids and sync times (what a
    clean full sync of the same portal holds)."""
    skip = {"id", "synced_at", "connection_id", "workspace_id"}
    found: dict[str, dict[str, Any]] = {}
    async with engine.connect() as conn:
        for record_type, model in SYNCED_MODELS.items():
            table = model.__table__
            query = select(table).where(table.c.connection_id == connection_id)
            rows = (await conn.execute(query)).mappings()
            found[record_type] = {
                row["remote_id"]: {k: v for k, v in row.items() if k not in skip}
                for row in rows
                if row.get("deleted_at") is None
            }
    # the stays of a deleted deal stay behind; every KPI reads stays through live deals
    found["deal_stage_history"] = {
        rid: row
        for rid, row in found["deal_stage_history"].items()
        if row["deal_remote_id"] in found["deal"]
    }
    return found


async def _kpis(
    sessionmaker: async_sessionmaker[AsyncSession], workspace_id: str, *names: str
) -> list[KpiResult]:
    period = PeriodSpec(start=date(2000, 1, 1), end=date.today() + timedelta(days=1))
    async with sessionmaker() as session:
        results = await MetricsExecutor(build_registry()).run(
            session,
            Scope((workspace_id,), None),
            [KpiRequest(name, period=period) for name in names],
            now=datetime.now(UTC),
        )
    assert all(isinstance(r, KpiResult) for r in results), results
    return [r for r in results if isinstance(r, KpiResult)]


@pytest.mark.parametrize("account", ["minimal", "standard"])
async def test_accounts_without_leads_sync_fully_incrementally_and_through_faults(
    account: str,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    serve_simulator,
    make_connection: ConnectionFactory,
    sync: Syncer,
) -> None:
    sim = make_simulator(account=account)
    served = serve_simulator(sim=sim)
    connection = await make_connection(served, mappings=MAPPINGS)
    first = await sync(connection.id, full=True)  # discovers the account's capabilities
    assert first.status is SyncStatus.SUCCEEDED, first.error
    stats = first.stats.streams
    assert stats["leads"].status == "SKIPPED" and stats["leads"].error
    assert stats["deals"].status == stats["calls"].status == "DONE"
    if account == "minimal":
        assert stats["exchange_rates"].status == "SKIPPED"
    rows = await _live_rows(engine, connection.id)
    assert rows["lead"] == {}
    # No Leads object takes no KPI away: HubSpot contacts are leads too, so the lead KPIs
    # are computed from them (HubSpot declares no Capability.kpis for leads_object).
    leads_kpis = await _kpis(sessionmaker, connection.workspace_id, "newLeads", "dealsWon")
    assert all(r.value and r.null_reason is None for r in leads_kpis), leads_kpis
    assert len(rows["deal"]) == len(sim.data.deals)
    if account == "minimal":  # one currency: every deal in the company currency
        assert {row["currency"] for row in rows["deal"].values()} == {"USD"}

    at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    edited = sim.data.edit_deals(5, at)
    gone = [d for d in sim.data.deals if d not in edited][:2]
    gone_calls = [a for a in sim.data.activities if a.type == "CALL"][:2]
    sim.data.delete(gone, at)
    sim.data.delete(gone_calls, at)
    sim.refresh()
    second = await sync(connection.id)
    assert second.status is SyncStatus.SUCCEEDED, second.error
    assert second.stats.streams["deals"].fetched < len(sim.data.deals)

    clean = await make_connection(serve_simulator(sim=sim), mappings=MAPPINGS)
    assert (await sync(clean.id)).status is SyncStatus.SUCCEEDED
    expected = await _live_rows(engine, clean.id)
    assert str(gone[0].id) not in expected["deal"]
    assert await _live_rows(engine, connection.id) == expected

    faulty = await make_connection(
        serve_simulator("5xx=0.1,429every=7,drop=0.01,retry_after=0.01,seed=3", sim=sim),
        mappings=MAPPINGS,
    )
    result = await sync(faulty.id)
    assert result.status is SyncStatus.SUCCEEDED, result.error
    assert await _live_rows(engine, faulty.id) == expected

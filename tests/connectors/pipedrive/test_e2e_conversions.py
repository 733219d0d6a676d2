"""Leads converted to deals survive full syncs (both databases, the simulator over HTTP).

Pipedrive marks a converted lead as deleted (v2 ``convertLeadToDeal``), so an account may
stop listing it. Whatever the reading (still listed; dropped from the lists but readable
by id; gone altogether), a nightly full sync keeps every converted lead, converted, and
the conversion KPIs answer what they answered while the leads were listed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from connectors.pipedrive.simulator import PipedriveSimulator
from connectors.pipedrive.simulator.render import lead_uuid
from core.metrics import KpiRequest, KpiResult, MetricsExecutor, Scope, build_registry
from core.metrics.periods import PeriodSpec
from core.models import Connection
from core.models.enums import SyncStatus
from core.simulation.dataset import Dataset, generate
from core.simulation.options import Account
from tests.connectors.pipedrive.test_e2e import rows
from tests.support.syncing import SyncBench

CONVERSION_KPIS = (
    "leadConversionRate",
    "averageTimeToConvertDays",
    "mqlToCustomerRate",
    "sqlToCustomerRate",
    "newLeads",
)


pytestmark = pytest.mark.usefixtures("small_pages")


@pytest.fixture
def dataset() -> Dataset:
    return generate(seed=5, deals=100)


@pytest.fixture
def simulator(dataset: Dataset) -> PipedriveSimulator:
    return PipedriveSimulator(dataset, account=Account.FULL, converted_leads_listed=True)


async def _kpis(crm: SyncBench, connection_id: str, dataset: Dataset) -> list[object]:
    anchor = dataset.anchor
    period = PeriodSpec(start=(anchor - timedelta(days=400)).date(), end=anchor.date())
    async with crm.sessionmaker() as session:
        connection = await session.get(Connection, connection_id)
        assert connection is not None
        results = await MetricsExecutor(build_registry()).run(
            session,
            Scope((connection.workspace_id,), None),
            [KpiRequest(kpi, period=period) for kpi in CONVERSION_KPIS],
            now=anchor,
        )
    assert all(isinstance(r, KpiResult) for r in results)
    return [r.value for r in results if isinstance(r, KpiResult)]


@pytest.mark.parametrize("reading", ["listed", "dropped", "gone"])
async def test_conversion_kpis_survive_a_full_sync(
    crm: SyncBench, dataset: Dataset, simulator: PipedriveSimulator, reading: str
) -> None:
    converted = {lead_uuid(dataset.seed, x.id) for x in dataset.leads if x.converted_deal_id}
    assert converted  # the dataset converts some leads
    connection = await crm.connect()
    assert (await crm.sync(connection.id, full=True)).status is SyncStatus.SUCCEEDED
    before = await _kpis(crm, connection.id, dataset)
    assert before[0] is not None and before[0] > 0  # leadConversionRate
    assert before[1] is not None  # averageTimeToConvertDays

    # The leads are converted "now": the account stops listing them, or forgets them.
    simulator.converted_leads_listed = reading == "listed"
    simulator.converted_leads_readable = reading != "gone"
    simulator.refresh()
    served = simulator.requests
    result = await crm.sync(connection.id, full=True)
    assert result.status is SyncStatus.SUCCEEDED, result.error

    leads = await rows(crm.engine, "lead", connection.id)
    kept = {rid for rid in converted if leads[rid]["deleted_at"] is None}
    assert kept == converted  # never swept, never soft-deleted
    assert all(leads[rid]["converted_deal_remote_id"] for rid in converted)
    assert await _kpis(crm, connection.id, dataset) == pytest.approx(before, rel=1e-12)
    # Only converted leads the lists leave out are asked for by id (one request each).
    by_id = len(converted) if reading != "listed" else 0
    assert simulator.lead_reads == by_id, (simulator.requests - served, by_id)

    if reading != "gone":  # a first sync learns them too, read by id
        fresh = await crm.connect()
        assert (await crm.sync(fresh.id, full=True)).status is SyncStatus.SUCCEEDED
        assert await _kpis(crm, fresh.id, dataset) == before

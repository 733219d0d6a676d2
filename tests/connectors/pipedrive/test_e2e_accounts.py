"""Pipedrive end to end on account variants (#18): a minimal account (a non-admin token,
no teams, no archived deals) and a full one. On each, a full sync, an incremental sync
after edits and deletions followed by the nightly full sync, and a faulty sync all end
with the data of a clean sync; on the minimal account the optional streams are SKIPPED
with the reason and the capabilities are stored; an API that ignores
``include_fields=source_lead_id`` leaves conversions unknown, not zero."""

from __future__ import annotations

from datetime import timedelta

import pytest

from connectors.pipedrive._capabilities import CONVERSION_KPIS
from connectors.pipedrive.simulator import PipedriveSimulator
from connectors.pipedrive.simulator.render import lead_uuid
from core.metrics import KpiRequest, KpiResult, MetricsExecutor, Scope, build_registry
from core.metrics.periods import PeriodSpec
from core.models import Connection
from core.models.enums import SyncStatus
from core.simulation.dataset import Dataset, generate
from core.simulation.options import Account
from core.sync.capabilities import Capabilities, CapabilityStatus
from core.sync.runs import StreamStatus
from tests.connectors.pipedrive.test_e2e import _latest_change, _live_rows, data, rows
from tests.support.syncing import SyncBench

pytestmark = pytest.mark.usefixtures("small_pages")


@pytest.fixture(params=[Account.MINIMAL, Account.FULL], ids=["minimal", "full"])
def account(request: pytest.FixtureRequest) -> Account:
    return Account(request.param)


@pytest.fixture
def dataset() -> Dataset:
    return generate(seed=4, deals=100)


@pytest.fixture
def simulator(dataset: Dataset, account: Account) -> PipedriveSimulator:
    return PipedriveSimulator(dataset, account=account)


async def _stored(crm: SyncBench, connection_id: str) -> Capabilities:
    async with crm.sessionmaker() as session:
        connection = await session.get(Connection, connection_id)
        assert connection is not None
        return Capabilities.from_json(connection.capabilities)


async def test_full_sync_skips_what_the_account_lacks(
    crm: SyncBench, account: Account, dataset: Dataset
) -> None:
    connection = await crm.connect()
    result = await crm.sync(connection.id, full=True)
    assert result.status is SyncStatus.SUCCEEDED, (result.error, result.stats.to_json())
    stored = await _stored(crm, connection.id)
    teams = result.stats.streams["teams"]
    users = await rows(crm.engine, "user", connection.id)
    assert len(users) == len(dataset.users)
    if account is Account.MINIMAL:
        assert teams.status is StreamStatus.SKIPPED
        assert teams.error is not None and "HTTP 403" in teams.error
        assert stored["teams"].status is CapabilityStatus.UNAVAILABLE
        assert stored["archived_deals"].status is CapabilityStatus.UNAVAILABLE
        assert "HTTP 404" in (stored["archived_deals"].reason or "")
        assert all(u["team_remote_id"] is None for u in users.values())
    else:
        assert teams.status is StreamStatus.DONE
        assert {k: c.status for k, c in stored.items()} == {
            k: CapabilityStatus.AVAILABLE for k in stored
        }
    assert stored["lead_conversions"].status is CapabilityStatus.AVAILABLE
    assert stored["lead_conversions"].kpis == CONVERSION_KPIS
    leads = await rows(crm.engine, "lead", connection.id)
    converted = {r for r, x in leads.items() if x["converted_deal_remote_id"]}
    expected = {lead_uuid(dataset.seed, d.lead_id) for d in dataset.deals if d.lead_id}
    assert converted == expected and converted  # conversions learnt (source_lead_id asked)


async def test_edits_deletions_and_faults_end_with_the_data_of_a_clean_sync(
    crm: SyncBench, dataset: Dataset, simulator: PipedriveSimulator
) -> None:
    connection = await crm.connect()
    assert (await crm.sync(connection.id, full=True)).status is SyncStatus.SUCCEEDED
    at = _latest_change(dataset) + timedelta(hours=1)
    edited = dataset.edit_deals(5, at)
    gone = [d for d in dataset.deals if d not in edited][:3]
    dataset.delete(gone, at)
    dataset.delete(dataset.contacts[:2], at)
    dataset.delete([a for a in dataset.activities if a.type == "CALL"][:3], at)
    orphan = dataset.accounts[-1]  # an organization deleted (its deals keep its id)
    for gone_lead_or_org in [*dataset.leads[:2], orphan]:
        gone_lead_or_org.deleted_at = gone_lead_or_org.updated_at = at
    simulator.refresh()

    incremental = await crm.sync(connection.id)
    assert incremental.status is SyncStatus.SUCCEEDED, incremental.error
    nightly = await crm.sync(connection.id, full=True)
    assert nightly.status is SyncStatus.SUCCEEDED, nightly.error
    accounts = await rows(crm.engine, "account", connection.id)
    assert accounts[str(orphan.id)]["deleted_at"] is not None

    faulty = await crm.make_connection(
        crm.serve("5xx=0.08,429every=9,drop=0.01,retry_after=0.05,seed=3")
    )
    assert (await crm.sync(faulty.id, full=True)).status is SyncStatus.SUCCEEDED
    clean = await crm.connect()
    assert (await crm.sync(clean.id, full=True)).status is SyncStatus.SUCCEEDED

    reference = _live_rows(await data(crm.engine, clean.id))
    for candidate in (connection.id, faulty.id):
        assert _live_rows(await data(crm.engine, candidate)) == reference
    live_activities = sum(1 for a in dataset.activities if a.deleted_at is None)
    assert len(reference["activity"]) == live_activities
    assert len(reference["lead"]) == sum(1 for x in dataset.leads if x.deleted_at is None)


async def test_deals_without_source_lead_id_leave_conversions_unknown(
    crm: SyncBench, simulator: PipedriveSimulator
) -> None:
    """The other reading of the docs: an API that ignores include_fields. Conversions are
    then unknown: the capability is stored UNAVAILABLE naming the conversion KPIs, and
    no lead is recorded as converted."""
    simulator.lead_field = False
    connection = await crm.connect()
    result = await crm.sync(connection.id, full=True)
    assert result.status is SyncStatus.SUCCEEDED, result.error
    stored = await _stored(crm, connection.id)
    conversions = stored["lead_conversions"]
    assert conversions.status is CapabilityStatus.UNAVAILABLE
    assert "source_lead_id" in (conversions.reason or "")
    assert conversions.kpis == CONVERSION_KPIS
    leads = await rows(crm.engine, "lead", connection.id)
    assert leads and not any(x["converted_deal_remote_id"] for x in leads.values())
    # the conversion KPIs answer null naming the capability, not a silent 0
    anchor = simulator.dataset.anchor
    period = PeriodSpec(start=(anchor - timedelta(days=400)).date(), end=anchor.date())
    async with crm.sessionmaker() as session:
        workspace = (await session.get(Connection, connection.id)).workspace_id  # type: ignore[union-attr]
        results = await MetricsExecutor(build_registry()).run(
            session,
            Scope((workspace,), None),
            [KpiRequest(kpi, period=period) for kpi in ("leadConversionRate", "newLeads")],
            now=anchor,
        )
    rate, new_leads = results
    assert isinstance(rate, KpiResult) and isinstance(new_leads, KpiResult)
    assert rate.value is None
    assert "Lead conversions" in (rate.null_reason or "") and connection.id in (
        rate.null_reason or ""
    )
    assert new_leads.value is not None and new_leads.value > 0  # leads themselves are known

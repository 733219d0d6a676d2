"""The HubSpot connector end to end: simulator over HTTP -> engine -> SQLite / PostgreSQL."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from connectors.hubspot.simulator.render import DEFAULT_STAGE_IDS, stage_id
from core.models import SYNCED_MODELS
from core.models.enums import SyncStatus
from tests.connectors.hubspot.conftest import make_simulator
from tests.core.sync.snapshots import snapshot
from tests.support.syncing import ConnectionFactory, SyncBench, Syncer

pytestmark = pytest.mark.usefixtures("fast_limits")

MAPPINGS = {"deal_attributes": {"cost": "deal_cost"}}


async def _rows(engine: AsyncEngine, connection_id: str) -> dict[str, dict[str, Any]]:
    """Every synced row of one connection (other tests' rows never count), by table and
    remote id, without surrogate ids and sync times."""
    skip = {"id", "synced_at", "connection_id", "workspace_id"}
    found: dict[str, dict[str, Any]] = {}
    async with engine.connect() as conn:
        for record_type, model in SYNCED_MODELS.items():
            table = model.__table__
            result = await conn.execute(select(table).where(table.c.connection_id == connection_id))
            found[record_type] = {
                row["remote_id"]: {k: v for k, v in row.items() if k not in skip}
                for row in result.mappings()
            }
    return found


async def test_full_sync_fills_every_table_as_the_business_says(crm: SyncBench, simulator) -> None:
    data = simulator.data
    connection = await crm.connect(mappings=MAPPINGS)
    result = await crm.sync(connection.id)
    assert result.status is SyncStatus.SUCCEEDED, result.error

    users = (await _rows(crm.engine, connection.id))["user"]
    assert set(users) == {str(u.id) for u in data.users}
    assert set((await _rows(crm.engine, connection.id))["team"]) == {str(t.id) for t in data.teams}
    assert len((await _rows(crm.engine, connection.id))["pipeline"]) == len(data.pipelines)
    stages = (await _rows(crm.engine, connection.id))["stage"]
    default = next(p for p in data.pipelines if p.order == 0)
    assert [stages[sid]["kind"] for sid in DEFAULT_STAGE_IDS] == [s.kind for s in default.stages]
    assert Counter(s["kind"] for s in stages.values() if s["is_closed"]) == Counter(
        s.kind for s in data.stages if s.is_closed
    )
    accounts = (await _rows(crm.engine, connection.id))["account"]
    assert len(accounts) == len(data.accounts)
    account = accounts[str(data.accounts[0].id)]
    assert (account["country"], account["region"]) == (
        data.accounts[0].country,
        data.accounts[0].region,
    )
    contacts = (await _rows(crm.engine, connection.id))["contact"]
    assert len(contacts) == len(data.contacts)
    for sim_contact in data.contacts:
        row = contacts[str(sim_contact.id)]
        assert row["mql_at"] == sim_contact.lifecycle.get("marketingqualifiedlead")
        assert row["is_lead"] is False  # the people of accounts; the leads are Lead records
    leads = (await _rows(crm.engine, connection.id))["lead"]
    assert {rid for rid, row in leads.items() if row["converted_deal_remote_id"]} == {
        str(lead.id) for lead in data.leads if lead.converted_deal_id
    }
    deals = (await _rows(crm.engine, connection.id))["deal"]
    assert len(deals) == len(data.deals)
    for sim_deal in data.deals:
        row = deals[str(sim_deal.id)]
        assert row["status"] == sim_deal.status
        assert row["closed_at"] == sim_deal.closed_at
        assert row["amount"] == sim_deal.amount and row["currency"] == sim_deal.currency
        assert row["cost"] == sim_deal.cost
        assert row["account_remote_id"] == str(sim_deal.account_id)
        if sim_deal.status != "OPEN":
            assert stages[row["stage_remote_id"]]["kind"] == sim_deal.status
    history = (await _rows(crm.engine, connection.id))["deal_stage_history"]
    assert len(history) == sum(len(d.history) for d in data.deals)
    activities = (await _rows(crm.engine, connection.id))["activity"]
    assert Counter(a["type"] for a in activities.values()) == Counter(
        a.type for a in data.activities
    )
    fx = set((await snapshot(crm.engine))["fx"])
    assert {(r.currency, r.day, r.usd) for r in data.fx_rates} <= fx


async def test_second_sync_is_a_no_op(crm: SyncBench) -> None:
    connection = await crm.connect(mappings=MAPPINGS)
    await crm.sync(connection.id)
    before = await snapshot(crm.engine)
    again = await crm.sync(connection.id)
    assert again.status is SyncStatus.SUCCEEDED, again.error
    changed = {
        name: s.inserted + s.updated + s.deleted
        for name, s in again.stats.streams.items()
        if s.inserted + s.updated + s.deleted
    }
    assert changed == {}
    assert await snapshot(crm.engine) == before


async def test_edits_and_deletions_are_picked_up_incrementally(crm: SyncBench, simulator) -> None:
    connection = await crm.connect(mappings=MAPPINGS)
    await crm.sync(connection.id)
    data = simulator.data
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    edited = data.edit_deals(7, at)
    gone_deals = [d for d in data.deals if d not in edited][:3]
    gone_contacts = data.contacts[:2]
    data.delete(gone_deals, at)
    data.delete(gone_contacts, at)
    simulator.refresh()

    result = await crm.sync(connection.id)
    assert result.status is SyncStatus.SUCCEEDED, result.error
    deals = (await _rows(crm.engine, connection.id))["deal"]
    for deal in edited:
        assert deals[str(deal.id)]["amount"] == deal.amount
        assert deals[str(deal.id)]["account_remote_id"] == str(deal.account_id)
        assert deals[str(deal.id)]["remote_updated_at"] == at
    assert {rid for rid, row in deals.items() if row["deleted_at"]} == {
        str(d.id) for d in gone_deals
    }
    contacts = (await _rows(crm.engine, connection.id))["contact"]
    assert {rid for rid, row in contacts.items() if row["deleted_at"]} == {
        str(c.id) for c in gone_contacts
    }
    assert result.stats.streams["deals"].updated >= len(edited)
    assert result.stats.streams["deals"].fetched < len(data.deals)


async def test_more_than_ten_thousand_changed_deals_in_one_window(
    engine: AsyncEngine, serve_simulator, make_connection: ConnectionFactory, sync: Syncer
) -> None:
    sim = make_simulator(deals=10_050)
    connection = await make_connection(serve_simulator(sim=sim))
    first = await sync(connection.id, streams=["deals"])
    assert first.status is SyncStatus.SUCCEEDED, first.error
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    sim.data.edit_deals(len(sim.data.deals), at)
    sim.refresh()

    result = await sync(connection.id, streams=["deals"])
    assert result.status is SyncStatus.SUCCEEDED, result.error
    assert result.stats.streams["deals"].fetched >= 10_050
    deals = (await _rows(engine, connection.id))["deal"]
    assert all(deals[str(d.id)]["amount"] == d.amount for d in sim.data.deals)
    assert all(row["remote_updated_at"] == at for row in deals.values())


async def test_faults_give_exactly_the_clean_result(
    engine: AsyncEngine, serve_simulator, make_connection: ConnectionFactory, sync: Syncer
) -> None:
    clean = await make_connection(serve_simulator(), mappings=MAPPINGS)
    assert (await sync(clean.id)).status is SyncStatus.SUCCEEDED
    faulty = await make_connection(
        serve_simulator(
            "5xx=0.1,429every=7,drop=0.01,retry_after=0.01,seed=3", sim=make_simulator()
        ),
        mappings=MAPPINGS,
    )
    result = await sync(faulty.id)
    assert result.status is SyncStatus.SUCCEEDED, result.error
    assert result.stats.retries > 0
    expected = await _rows(engine, clean.id)
    assert sum(len(rows) for rows in expected.values()) > 1000
    assert await _rows(engine, faulty.id) == expected


def _stays(rows: dict[str, dict[str, Any]], deal_id: int) -> list[tuple[str, datetime, Any]]:
    found = [r for r in rows.values() if r["deal_remote_id"] == str(deal_id)]
    return sorted((r["stage_remote_id"], r["entered_at"], r["exited_at"]) for r in found)


async def test_stage_re_entries_are_every_visit_in_full_and_incremental_syncs(
    engine: AsyncEngine,
    simulator,
    serve_simulator,
    make_connection: ConnectionFactory,
    sync: Syncer,
) -> None:
    data = simulator.data
    deal = next(
        d for d in data.deals if d.status == "OPEN" and len(d.history) >= 2 and not d.deleted_at
    )
    url = serve_simulator()
    incremental = await make_connection(url)
    assert (await sync(incremental.id)).status is SyncStatus.SUCCEEDED
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    first_stage = deal.history[0][0]
    deal.history.append((first_stage, at))  # back to the first stage: a second visit
    deal.updated_at = at
    simulator.refresh()

    result = await sync(incremental.id)
    assert result.status is SyncStatus.SUCCEEDED, result.error
    full = await make_connection(url)
    assert (await sync(full.id)).status is SyncStatus.SUCCEEDED

    stage_ids = {s.id: s for s in data.stages}
    expected = sorted(
        (
            stage_id(stage_ids[sid], data.pipelines),
            entered,
            deal.history[i + 1][1] if i + 1 < len(deal.history) else None,
        )
        for i, (sid, entered) in enumerate(deal.history)
    )
    for connection in (incremental, full):
        rows = (await _rows(engine, connection.id))["deal_stage_history"]
        assert _stays(rows, deal.id) == expected
    visits = [s for s, _, _ in expected]
    assert visits.count(stage_id(stage_ids[first_stage], data.pipelines)) == 2


async def test_associations_past_the_first_page_are_synced(
    engine: AsyncEngine, serve_simulator, make_connection: ConnectionFactory, sync: Syncer
) -> None:
    sim = make_simulator(association_page=2)
    deal = next(d for d in sim.data.deals if d.contact_id and not d.deleted_at)
    extra = [c.id for c in sim.data.contacts if c.id != deal.contact_id][:4]
    sim.associate("deals", deal.id, "contacts", extra)
    connection = await make_connection(serve_simulator(sim=sim))
    assert (await sync(connection.id)).status is SyncStatus.SUCCEEDED

    def contacts_of(rows: dict[str, dict[str, Any]]) -> list[str]:
        block = rows[str(deal.id)]["remote_data"]["associations"]["contacts"]
        return [item["id"] for item in block["results"]]

    expected = [str(i) for i in [deal.contact_id, *extra]]
    deals = (await _rows(engine, connection.id))["deal"]
    assert contacts_of(deals) == expected
    assert deals[str(deal.id)]["contact_remote_id"] == str(deal.contact_id)

    at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    deal.updated_at = at
    deal.amount += 1
    sim.refresh()
    result = await sync(connection.id)
    assert result.status is SyncStatus.SUCCEEDED, result.error
    deals = (await _rows(engine, connection.id))["deal"]
    assert deals[str(deal.id)]["amount"] == deal.amount
    assert contacts_of(deals) == expected


async def test_merged_away_records_stop_counting(
    engine: AsyncEngine,
    simulator,
    serve_simulator,
    make_connection: ConnectionFactory,
    sync: Syncer,
) -> None:
    data = simulator.data
    url = serve_simulator()
    incremental = await make_connection(url)
    assert (await sync(incremental.id)).status is SyncStatus.SUCCEEDED
    keep, gone = [d for d in data.deals if not d.deleted_at and d.status == "OPEN"][:2]
    contact_keep, contact_gone = [c for c in data.contacts if not c.deleted_at][:2]
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    simulator.merge("deals", keep.id, gone.id, at)
    simulator.merge("contacts", contact_keep.id, contact_gone.id, at)

    result = await sync(incremental.id)
    assert result.status is SyncStatus.SUCCEEDED, result.error
    full = await make_connection(url)
    assert (await sync(full.id)).status is SyncStatus.SUCCEEDED
    live_deals = sum(1 for d in data.deals if not d.deleted_at) - 1
    for connection in (incremental, full):
        rows = await _rows(engine, connection.id)
        deals = rows["deal"]
        assert sum(1 for r in deals.values() if r["deleted_at"] is None) == live_deals
        assert deals[str(keep.id)]["deleted_at"] is None
        assert deals[str(keep.id)]["remote_updated_at"] == at
        assert str(gone.id) not in deals or deals[str(gone.id)]["deleted_at"] is not None
        contacts = rows["contact"]
        gone_contact = contacts.get(str(contact_gone.id))
        assert gone_contact is None or gone_contact["deleted_at"] is not None
    assert str(gone.id) in (await _rows(engine, incremental.id))["deal"]  # soft-deleted
    activities = (await _rows(engine, full.id))["activity"]
    moved = [a.id for a in data.activities if a.deal_id == gone.id and not a.deleted_at]
    assert moved and all(activities[str(i)]["deal_remote_id"] == str(keep.id) for i in moved)

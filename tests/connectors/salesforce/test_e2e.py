"""Salesforce through the real engine over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

import core.sync.streams as core_streams
from connectors.salesforce import settings
from connectors.salesforce.simulator import CREDENTIALS, create_simulator
from connectors.salesforce.simulator.tables import sfid
from core.models import SYNCED_MODELS, Connection, FxRate, SyncState
from core.models.enums import SyncStatus
from core.secrets import Vault
from tests.connectors.salesforce.conftest import Connect
from tests.support.syncing import Syncer as Sync


async def _table(engine: AsyncEngine, record_type: str, connection_id: str) -> dict[str, Any]:
    """One connection's rows of a synced table by remote id (several connections of one
    database share remote ids: they sync the same simulated org)."""
    table = SYNCED_MODELS[record_type].__table__  # type: ignore[attr-defined]
    async with engine.connect() as conn:
        result = await conn.execute(select(table).where(table.c.connection_id == connection_id))
        return {row["remote_id"]: dict(row) for row in result.mappings()}


async def _rows_of(
    engine: AsyncEngine, connection_id: str, *, with_sync_times: bool = False
) -> dict[str, Any]:
    """Every synced row and FX rate of one connection; without what differs between runs
    unless ``with_sync_times``."""
    drop = {"id"} if with_sync_times else {"id", "synced_at", "connection_id", "workspace_id"}
    out: dict[str, Any] = {}
    for record_type in SYNCED_MODELS:
        rows = await _table(engine, record_type, connection_id)
        out[record_type] = {
            rid: {k: v for k, v in row.items() if k not in drop} for rid, row in rows.items()
        }
    out["fx"] = await _fx(engine, connection_id)
    return out


async def _fx(engine: AsyncEngine, connection_id: str) -> list[tuple[Any, ...]]:
    async with engine.connect() as conn:
        result = await conn.execute(
            select(FxRate.currency, FxRate.day, FxRate.rate).where(
                FxRate.connection_id == connection_id
            )
        )
        return sorted(tuple(r) for r in result)


def _by_name(rows: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["name"]: row for row in rows.values()}


async def test_full_sync_fills_every_table(
    engine: AsyncEngine, connect: Connect, sync: Sync, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(core_streams, "BATCH_RECORDS", 200)  # a batch per page of 200
    sim = create_simulator(seed=21, deals=250, batch_size=200)
    data = sim.data
    connection = await connect(sim)
    result = await sync(connection.id)
    assert result.status is SyncStatus.SUCCEEDED, (result.error, result.stats.to_json())

    deals = await _table(engine, "deal", connection.id)
    assert len(deals) == len(data.deals)
    assert Counter(d["status"] for d in deals.values()) == Counter(d.status for d in data.deals)
    assert sum(d["amount"] for d in deals.values()) == sum(d.amount for d in data.deals)
    by_name = _by_name(deals)
    for deal in data.deals[:40]:
        row = by_name[deal.name]
        assert row["currency"] == deal.currency and row["closed_at"] == deal.closed_at
        assert row["lost_reason"] == deal.lost_reason
    history = await _table(engine, "deal_stage_history", connection.id)
    assert len(history) == sum(len(d.history) for d in data.deals)
    stages = await _table(engine, "stage", connection.id)
    assert {s["name"]: s["kind"] for s in stages.values() if s["is_closed"]} == {
        "Closed won": "WON",
        "Closed lost": "LOST",
    }
    assert len(await _table(engine, "pipeline", connection.id)) == 1
    assert len(await _table(engine, "user", connection.id)) == len(data.users)
    assert len(await _table(engine, "team", connection.id)) == len(data.teams)
    assert len(await _table(engine, "account", connection.id)) == len(data.accounts)
    assert len(await _table(engine, "contact", connection.id)) == len(data.contacts)
    leads = await _table(engine, "lead", connection.id)
    assert len(leads) == len(data.leads)
    assert sum(1 for r in leads.values() if r["converted_at"]) == sum(
        1 for lead in data.leads if lead.converted_at
    )
    # default lifecycle mapping: "Closed - Converted" means SQL, reached at conversion
    sql_times = {r["name"]: r["sql_at"] for r in leads.values() if r["sql_at"]}
    assert sql_times == {
        f"{lead.first_name} {lead.last_name}": lead.converted_at
        for lead in data.leads
        if lead.converted_at
    }
    activities = await _table(engine, "activity", connection.id)
    assert Counter(a["type"] for a in activities.values()) == Counter(
        a.type for a in data.activities
    )
    for sim_activity in data.activities:
        if sim_activity.type == "MEETING":  # the org's outcome field: held or not
            meeting = activities[sfid("Event", sim_activity.id)]
            held = sim_activity.done_at is not None
            assert (meeting["meeting_status"] == "HELD") is held
            assert meeting["done_at"] == (sim_activity.due_at if held else None)
        elif sim_activity.type == "NOTE" and sim_activity.contact_id:  # on the person
            note = activities[sfid("Note", sim_activity.id)]
            assert note["contact_remote_id"] == sfid("Contact", sim_activity.contact_id)
    for deal in data.deals[:40]:  # the org's custom MRR and cost fields, for mappings
        custom = by_name[deal.name]["custom"]
        assert custom["MRR__c"] == (deal.recurring_amount and float(deal.recurring_amount))
        assert custom["Cost__c"] == (deal.cost and float(deal.cost))
    currencies = await _table(engine, "currency", connection.id)
    assert set(currencies) == {r.currency for r in data.fx_rates} | {data.currency}
    fx = await _fx(engine, connection.id)
    # daily DatedConversionRate rows; today's CurrencyType rates land on the anchor's day
    assert len(fx) == len(data.fx_rates)
    eur = {day: rate for currency, day, rate in fx if currency == "EUR"}
    sample = next(r for r in data.fx_rates if r.currency == "EUR")
    assert abs(eur[sample.day] - sample.usd) <= sample.usd * Decimal("0.00001")
    assert result.stats.streams["deals"].pages >= 2


@pytest.mark.parametrize("log", [True, False], ids=["getDeleted", "queryAll"])
async def test_repeat_sync_changes_nothing_and_edits_and_deletions_arrive(
    engine: AsyncEngine, connect: Connect, sync: Sync, log: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not log:  # every incremental window is then older than getDeleted's retention
        monkeypatch.setattr(settings, "GET_DELETED_RETENTION", timedelta(0))
    sim = create_simulator(seed=22, deals=200)
    connection = await connect(sim)
    assert (await sync(connection.id)).status is SyncStatus.SUCCEEDED
    before = await _rows_of(engine, connection.id, with_sync_times=True)

    again = await sync(connection.id)
    assert again.status is SyncStatus.SUCCEEDED
    assert all(s.inserted == 0 and s.updated == 0 for s in again.stats.streams.values())
    assert await _rows_of(engine, connection.id, with_sync_times=True) == before

    at = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=30)
    edited = sim.data.edit_deals(5, at)
    gone_deals = [d for d in sim.data.deals if d not in edited][:3]
    gone_contacts = sim.data.contacts[:2]
    sim.data.delete(gone_deals, at)
    sim.data.delete(gone_contacts, at)
    sim.rerender()
    third = await sync(connection.id)
    assert third.status is SyncStatus.SUCCEEDED, third.error
    assert (sim.get_deleted_calls > 0) is log
    deals = _by_name(await _table(engine, "deal", connection.id))
    for deal in edited:
        assert deals[deal.name]["amount"] == deal.amount
    assert {n for n, r in deals.items() if r["deleted_at"] is not None} == {
        d.name for d in gone_deals
    }
    contacts = _by_name(await _table(engine, "contact", connection.id))
    names = {f"{c.first_name} {c.last_name}" for c in gone_contacts}
    assert {n for n, r in contacts.items() if r["deleted_at"] is not None} == names
    assert third.stats.streams["deals"].updated >= len(edited)


async def test_expired_session_mid_sync_is_refreshed_and_stored(
    sessionmaker: async_sessionmaker[AsyncSession], connect: Connect, sync: Sync, vault: Vault
) -> None:
    sim = create_simulator(seed=23, deals=150, session_requests=7)
    connection = await connect(sim)
    result = await sync(connection.id)
    assert result.status is SyncStatus.SUCCEEDED, result.error
    assert sim.token_requests >= 3  # the first login, then one refresh per expired session
    async with sessionmaker() as session:
        stored = await session.get(Connection, connection.id)
        assert stored is not None and stored.credentials_encrypted is not None
        credentials = vault.decrypt(stored.credentials_encrypted)
    assert credentials["access_token"] in sim.sessions  # the last token, kept for next run
    assert credentials["refresh_token"] == CREDENTIALS["refresh_token"]


async def test_daily_limit_stops_cleanly_then_the_next_run_resumes(
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    connect: Connect,
    sync: Sync,
) -> None:
    sim = create_simulator(seed=24, deals=600, batch_size=200, daily_limit=1_000_000)
    connection = await connect(sim)
    probe = await sync(connection.id, full=True)  # how many calls a whole sync needs
    assert probe.status is SyncStatus.SUCCEEDED
    needed = sim.used
    for table in ("deal", "deal_stage_history"):
        assert len(await _table(engine, table, connection.id)) > 0

    sim2 = create_simulator(seed=24, deals=600, batch_size=200, daily_limit=needed // 2)
    connection2 = await connect(sim2)
    stopped = await sync(connection2.id)
    assert stopped.status in (SyncStatus.PARTIAL, SyncStatus.FAILED)
    errors = [s.error for s in stopped.stats.streams.values() if s.error]
    # the engine's limiter stops at the reserve, or Salesforce's own refusal stops the run
    assert any("daily API" in (e or "") for e in errors)
    assert "STOPPED" in {s.status for s in stopped.stats.streams.values()}
    assert sim2.used <= sim2.daily_limit
    async with sessionmaker() as session:
        saved = {
            s.stream: s
            for s in (
                await session.scalars(
                    select(SyncState).where(SyncState.connection_id == connection2.id)
                )
            ).all()
        }
    assert saved  # cursors committed page by page before the stop

    sim2.reset_usage()
    sim2.daily_limit = 1_000_000
    resumed = await sync(connection2.id)
    assert resumed.status is SyncStatus.SUCCEEDED, resumed.error
    assert len(await _table(engine, "deal", connection2.id)) == len(sim2.data.deals)


async def test_faults_end_with_exactly_the_data_of_a_clean_sync(
    engine: AsyncEngine, connect: Connect, sync: Sync
) -> None:
    clean = create_simulator(seed=25, deals=150, batch_size=200)
    first = await connect(clean)
    assert (await sync(first.id)).status is SyncStatus.SUCCEEDED
    expected = await _rows_of(engine, first.id)

    faulty = create_simulator(
        seed=25, deals=150, batch_size=200, faults="5xx=0.1,429every=7,drop=0.01,seed=3"
    )
    second = await connect(faulty)
    result = await sync(second.id)
    assert result.status is SyncStatus.SUCCEEDED, result.error
    assert result.stats.retries > 0
    got = await _rows_of(engine, second.id)
    assert not _differences(got, expected), _differences(got, expected)


def _differences(got: dict[str, Any], expected: dict[str, Any]) -> list[tuple[Any, ...]]:
    """(table, remote id, column, got, expected) of the first differing values."""
    found: list[tuple[Any, ...]] = []
    for table in sorted(set(got) | set(expected)):
        mine, theirs = got.get(table), expected.get(table)
        if not isinstance(mine, dict) or not isinstance(theirs, dict):
            if mine != theirs:
                found.append((table, None, None, len(mine or ()), len(theirs or ())))
            continue
        for rid in sorted(set(mine) | set(theirs)):
            a, b = mine.get(rid) or {}, theirs.get(rid) or {}
            found += [
                (table, rid, k, a.get(k), b.get(k))
                for k in sorted(set(a) | set(b))
                if a.get(k) != b.get(k)
            ]
    return found[:10]


async def _cursors(
    sessionmaker: async_sessionmaker[AsyncSession], connection_id: str
) -> dict[str, Any]:
    async with sessionmaker() as session:
        states = await session.scalars(
            select(SyncState).where(SyncState.connection_id == connection_id)
        )
        return {s.stream: s.cursor for s in states.all()}


async def test_sales_processes_become_pipelines_and_place_their_deals(
    engine: AsyncEngine, connect: Connect, sync: Sync
) -> None:
    sim = create_simulator(seed=27, deals=120, record_types=True)
    data = sim.data
    connection = await connect(sim)
    result = await sync(connection.id)
    assert result.status is SyncStatus.SUCCEEDED, result.error

    process = {p.id: sfid("BusinessProcess", p.id) for p in data.pipelines}
    pipelines = await _table(engine, "pipeline", connection.id)
    assert {r["name"] for r in pipelines.values()} == {
        settings.PIPELINE_NAME,
        *(f"{p.name} Process" for p in data.pipelines),
    }
    stages = await _table(engine, "stage", connection.id)
    stage_name = {s.id: s.name for s in data.stages}
    for pipeline in data.pipelines:
        expected = {f"{process[pipeline.id]}:{s.name}" for s in pipeline.stages}
        assert {r for r in stages if stages[r]["pipeline_remote_id"] == process[pipeline.id]} == (
            expected
        )
    deals = _by_name(await _table(engine, "deal", connection.id))
    for deal in data.deals:
        row = deals[deal.name]
        assert row["pipeline_remote_id"] == process[deal.pipeline_id]
        assert row["stage_remote_id"] == f"{process[deal.pipeline_id]}:{stage_name[deal.stage_id]}"
    assert Counter(r["pipeline_remote_id"] for r in deals.values()) == Counter(
        process[d.pipeline_id] for d in data.deals
    )
    history = await _table(engine, "deal_stage_history", connection.id)
    assert {h["stage_remote_id"] for h in history.values()} <= set(stages)
    assert {h["pipeline_remote_id"] for h in history.values()} == set(process.values())

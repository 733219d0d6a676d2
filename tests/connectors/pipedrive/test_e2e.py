"""Pipedrive end to end: the simulator on a real socket, the sync engine, both databases.

Full sync, repeated no-op sync, incremental edits and deletions, faults (5xx, 429s,
dropped connections), Pipedrive's own burst limit, and OAuth refresh.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

import core.sync.streams as core_streams
from connectors.pipedrive.connector import PipedriveConnector
from connectors.pipedrive.simulator import CLIENT_ID, CLIENT_SECRET, PipedriveSimulator
from connectors.pipedrive.simulator.render import lead_uuid
from connectors.pipedrive.simulator.render_setup import CUSTOM_CURRENCY, currencies
from core.models import SYNCED_MODELS, Connection
from core.models.enums import SyncStatus
from core.secrets import Vault
from core.simulation.dataset import Dataset, generate
from core.sync.ratelimit import RateLimiters
from core.sync.runs import RunStats, StreamStats
from tests.support.server import serve
from tests.support.syncing import ConnectionFactory as Make
from tests.support.syncing import SyncBench, connection_factory
from tests.support.syncing import Syncer as Sync

#: Tables the Pipedrive connector fills (users/teams/.../activities, currencies).
TABLES = (
    "user",
    "team",
    "pipeline",
    "stage",
    "currency",
    "account",
    "contact",
    "lead",
    "deal",
    "deal_stage_history",
    "activity",
)


pytestmark = pytest.mark.usefixtures("small_pages")


@pytest.fixture
def dataset() -> Dataset:
    return generate(seed=3, deals=120)


@pytest.fixture
def simulator(dataset: Dataset) -> PipedriveSimulator:
    return PipedriveSimulator(dataset)


async def rows(engine: AsyncEngine, record_type: str, connection_id: str) -> dict[str, dict]:
    table = SYNCED_MODELS[record_type].__table__  # type: ignore[attr-defined]
    async with engine.connect() as conn:
        result = await conn.execute(select(table).where(table.c.connection_id == connection_id))
        return {r["remote_id"]: dict(r) for r in result.mappings()}


async def data(engine: AsyncEngine, connection_id: str) -> dict[str, dict]:
    """Every synced row of a connection, without bookkeeping columns."""
    drop = {"id", "synced_at", "connection_id", "workspace_id"}
    out = {}
    for record_type in TABLES:
        table_rows = await rows(engine, record_type, connection_id)
        out[record_type] = {
            rid: {k: v for k, v in row.items() if k not in drop} for rid, row in table_rows.items()
        }
    return out


def _live(dataset: Dataset) -> dict[str, int]:
    return {
        "deal": len(dataset.deals),
        "account": len(dataset.accounts),
        "contact": len(dataset.contacts),
        "lead": len(dataset.leads),
        "activity": len(dataset.activities),
        "user": len(dataset.users),
        "team": len(dataset.teams),
        "pipeline": len(dataset.pipelines),
        # Pipedrive's open stages, and the won and lost stages the connector adds to each
        # pipeline: the dataset's own
        "stage": len(dataset.stages),
        # the open stays, and a closed deal's stay in its won / lost stage
        "deal_stage_history": sum(len(d.history) for d in dataset.deals),
        "currency": len(currencies(dataset)),
    }


async def test_full_sync_fills_every_table(
    crm: SyncBench, dataset: Dataset, simulator: PipedriveSimulator
) -> None:
    connection = await crm.connect()
    result = await crm.sync(connection.id)
    assert result.status is SyncStatus.SUCCEEDED, (result.error, result.stats.to_json())

    synced = await data(crm.engine, connection.id)
    assert {t: len(synced[t]) for t in TABLES} == _live(dataset)
    assert sum(s.quarantined for s in result.stats.streams.values()) == 0
    deals = synced["deal"]
    for sim_deal in dataset.deals:
        row = deals[str(sim_deal.id)]
        assert (row["status"], row["amount"], row["currency"]) == (
            sim_deal.status,
            sim_deal.amount,
            sim_deal.currency,
        )
        assert row["deal_type"] == sim_deal.deal_type and row["source"] == sim_deal.source
        assert row["cost"] == sim_deal.cost
        assert (row["closed_at"] is None) == (sim_deal.status == "OPEN")
    assert all(s["kind"] for s in synced["stage"].values())  # guessed by the engine
    leads = synced["lead"]
    converted = {rid for rid, lead in leads.items() if lead["converted_deal_remote_id"]}
    assert converted == {
        lead_uuid(dataset.seed, x.id) for x in dataset.leads if x.converted_deal_id
    }
    accounts = synced["account"]
    assert {(a["country"], a["industry"]) for a in accounts.values()} <= {
        (x.country, x.industry) for x in dataset.accounts
    }
    open_stays_now = [h for h in synced["deal_stage_history"].values() if h["exited_at"] is None]
    assert len(open_stays_now) == len(dataset.deals)
    assert sum(1 for u in synced["user"].values() if u["team_remote_id"]) == len(dataset.users)
    known = {code for code, c in synced["currency"].items() if c["active"]}
    assert {d["currency"] for d in deals.values()} <= known
    assert [code for code, c in synced["currency"].items() if c["is_custom"]] == [CUSTOM_CURRENCY]


async def test_repeat_sync_changes_nothing(crm: SyncBench, simulator: PipedriveSimulator) -> None:
    connection = await crm.connect()
    await crm.sync(connection.id)
    before = await data(crm.engine, connection.id)
    again = await crm.sync(connection.id)
    assert again.status is SyncStatus.SUCCEEDED
    assert sum(s.inserted + s.updated + s.deleted for s in again.stats.streams.values()) == 0, {
        k: (v.inserted, v.updated, v.deleted)
        for k, v in again.stats.streams.items()
        if v.inserted + v.updated + v.deleted
    }
    assert await data(crm.engine, connection.id) == before
    full = await crm.sync(connection.id, full=True)
    assert full.status is SyncStatus.SUCCEEDED
    assert sum(s.inserted + s.updated + s.deleted for s in full.stats.streams.values()) == 0
    assert await data(crm.engine, connection.id) == before


def _latest_change(dataset: Dataset) -> datetime:
    """After every change of the business: deletions happen after the last sync's cursor."""
    objects = [*dataset.deals, *dataset.contacts, *dataset.activities, *dataset.accounts]
    return max(o.updated_at for o in objects)


async def test_incremental_then_nightly_full_sync_bring_edits_and_deletions(
    crm: SyncBench, dataset: Dataset, simulator: PipedriveSimulator
) -> None:
    """Edits and deal deletions arrive with the next incremental sync (``status=deleted``);
    persons, activities, notes and leads have no documented deleted listing, so theirs
    arrive with the scheduled full sync's reconciliation sweep, which then leaves exactly
    the data of a clean sync of the changed business."""
    connection = await crm.connect()
    await crm.sync(connection.id)
    at = _latest_change(dataset) + timedelta(hours=1)
    edited = dataset.edit_deals(6, at)
    gone = [d for d in dataset.deals if d not in edited][:3]
    dataset.delete(gone, at)
    dataset.delete(dataset.contacts[:2], at)
    calls = [a for a in dataset.activities if a.type == "CALL"][:2]
    notes = [a for a in dataset.activities if a.type == "NOTE"][:1]
    dataset.delete(calls + notes, at)
    gone_leads = [x for x in dataset.leads if x.deleted_at is None][:2]
    for lead in gone_leads:
        lead.deleted_at = lead.updated_at = at
    simulator.refresh()

    result = await crm.sync(connection.id)
    assert result.status is SyncStatus.SUCCEEDED, result.error
    assert result.stats.streams["deals"].fetched < len(dataset.deals) // 2  # not a full read
    deals = await rows(crm.engine, "deal", connection.id)
    assert all(deals[str(d.id)]["amount"] == d.amount for d in edited)
    assert {rid for rid, d in deals.items() if d["deleted_at"]} == {str(d.id) for d in gone}

    nightly = await crm.sync(connection.id, full=True)
    assert nightly.status is SyncStatus.SUCCEEDED, nightly.error
    contacts = await rows(crm.engine, "contact", connection.id)
    assert {rid for rid, c in contacts.items() if c["deleted_at"]} == {
        str(c.id) for c in dataset.contacts[:2]
    }
    activities = await rows(crm.engine, "activity", connection.id)
    deleted = {rid for rid, a in activities.items() if a["deleted_at"]}
    assert deleted == {str(a.id) for a in calls} | {f"note:{a.id}" for a in notes}
    live_activities = [a for a in activities.values() if a["deleted_at"] is None]
    assert len(live_activities) == sum(1 for a in dataset.activities if a.deleted_at is None)
    leads = await rows(crm.engine, "lead", connection.id)
    assert {rid for rid, x in leads.items() if x["deleted_at"]} == {
        lead_uuid(dataset.seed, x.id) for x in gone_leads
    }
    assert sum(1 for x in leads.values() if x["deleted_at"] is None) == sum(
        1 for x in dataset.leads if x.deleted_at is None
    )
    clean = await crm.connect()
    assert (await crm.sync(clean.id)).status is SyncStatus.SUCCEEDED
    mine, theirs = (
        _live_rows(await data(crm.engine, connection.id)),
        _live_rows(await data(crm.engine, clean.id)),
    )
    for table in mine:
        extra = set(mine[table]) ^ set(theirs[table])
        assert not extra, (table, sorted(extra)[:5])
        differ = [k for k in mine[table] if mine[table][k] != theirs[table][k]]
        assert not differ, (table, [(mine[table][k], theirs[table][k]) for k in differ[:2]])


def _live_rows(synced: dict[str, dict]) -> dict[str, dict]:
    """The rows not soft-deleted (a clean sync never saw the deleted ones), without the
    columns that only say when a row was deleted or last seen."""
    skip = {"deleted_at", "seen_at"}
    return {
        table: {
            rid: {k: v for k, v in row.items() if k not in skip}
            for rid, row in table_rows.items()
            if row.get("deleted_at") is None
        }
        for table, table_rows in synced.items()
    }


async def test_faults_end_with_the_data_of_a_clean_sync(
    engine: AsyncEngine,
    dataset: Dataset,
    servers: ExitStack,
    make_connection: Make,
    sync: Sync,
    checked: Callable[[Any], Any],
) -> None:
    clean_url = servers.enter_context(serve(checked(PipedriveSimulator(dataset).asgi())))
    faulty_sim = PipedriveSimulator(dataset)
    faulty_url = servers.enter_context(
        serve(checked(faulty_sim.asgi("5xx=0.1,429every=7,drop=0.01,retry_after=0.05,seed=5")))
    )
    clean = await make_connection(clean_url)
    faulty = await make_connection(faulty_url)
    assert (await sync(clean.id)).status is SyncStatus.SUCCEEDED
    result = await sync(faulty.id)
    assert result.status is SyncStatus.SUCCEEDED, result.error
    assert result.stats.retries > 0
    assert await data(engine, faulty.id) == await data(engine, clean.id)


async def test_pipedrive_burst_limit_is_obeyed(
    engine: AsyncEngine,
    servers: ExitStack,
    make_connection: Make,
    sync: Sync,
    checked: Callable[[Any], Any],
) -> None:
    small = generate(seed=4, deals=20)
    sim = PipedriveSimulator(small, burst_limit=12, window_seconds=1.0)
    connection = await make_connection(servers.enter_context(serve(checked(sim.asgi()))))
    limiters = RateLimiters()
    # The connector's policy (80 per 2 s) is above this account's real limit (12 per
    # second): Pipedrive's 429s and headers must slow the client down until it completes.
    result = await sync(connection.id, limiters=limiters)
    assert result.status is SyncStatus.SUCCEEDED, result.error
    assert len(await rows(engine, "deal", connection.id)) == len(small.deals)
    # The limit was hit: either answered 429 (then retried) or seen in x-ratelimit-remaining.
    limiter = limiters.get(f"pipedrive:{connection.base_url}", PipedriveConnector.rate_limit)
    assert sim.throttled + limiter.waited > 0
    assert sim.throttled == result.stats.retries


async def test_oauth_refresh_stores_new_credentials(
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    simulator: PipedriveSimulator,
    servers: ExitStack,
    sync: Sync,
    vault: Vault,
    checked: Callable[[Any], Any],
) -> None:
    url = servers.enter_context(serve(checked(simulator.asgi())))
    credentials = {
        "refresh_token": "sim-refresh-token",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "token_url": f"{url}/oauth/token",
    }
    oauth = connection_factory(sessionmaker, vault, connector="pipedrive", credentials=credentials)
    connection = await oauth(url)
    result = await sync(connection.id)
    assert result.status is SyncStatus.SUCCEEDED, result.error
    async with sessionmaker() as session:
        row = await session.get(Connection, connection.id)
        assert row is not None and row.credentials_encrypted is not None
        stored = vault.decrypt(row.credentials_encrypted)
    assert stored["access_token"] in simulator.access_tokens
    assert stored["api_domain"] == url
    amounts = [d["amount"] for d in (await rows(engine, "deal", connection.id)).values()]
    assert sum(amounts, Decimal(0)) == sum((d.amount for d in simulator.dataset.deals), Decimal(0))


def _move(dataset: Dataset, count: int, at: datetime) -> list[tuple[int, int]]:
    """Move ``count`` open deals to another open stage of their pipeline at ``at``;
    returns (deal id, new stage id)."""
    closed = {s.id for s in dataset.stages if s.is_closed}
    moves = []
    for deal in [d for d in dataset.deals if d.status == "OPEN" and d.deleted_at is None]:
        if len(moves) == count:
            break
        others = [
            s.id
            for s in dataset.stages
            if s.pipeline_id == deal.pipeline_id and s.id not in closed and s.id != deal.stage_id
        ]
        deal.history.append((others[0], at))
        deal.updated_at = at
        moves.append((deal.id, others[0]))
    return moves


async def test_incremental_stage_history_reads_only_the_flows_of_moved_deals(
    crm: SyncBench, dataset: Dataset, simulator: PipedriveSimulator
) -> None:
    connection = await crm.connect()
    assert (await crm.sync(connection.id)).status is SyncStatus.SUCCEEDED
    assert simulator.flow_reads == len(simulator.flows)  # a full read: every moved deal
    at = _latest_change(dataset) + timedelta(hours=1)
    moves = _move(dataset, 2, at)
    dataset.edit_deals(5, at)  # edited, not moved: no flow to read
    simulator.refresh()
    simulator.flow_reads = 0

    result = await crm.sync(connection.id)
    assert result.status is SyncStatus.SUCCEEDED, result.error
    assert simulator.flow_reads == len(moves)
    history = await rows(crm.engine, "deal_stage_history", connection.id)
    assert len(history) == _live(dataset)["deal_stage_history"]
    for deal_id, stage_id in moves:
        stays = sorted(
            (h for h in history.values() if h["deal_remote_id"] == str(deal_id)),
            key=lambda h: h["entered_at"],
        )
        assert stays[-1]["stage_remote_id"] == str(stage_id) and stays[-1]["exited_at"] is None
        assert stays[-2]["exited_at"] == at.replace(microsecond=0)
    simulator.flow_reads = 0
    assert (await crm.sync(connection.id)).status is SyncStatus.SUCCEEDED
    assert simulator.flow_reads <= len(moves)  # only what the look-back window re-reads


async def test_nightly_full_sync_reads_only_the_flows_of_deals_moved_since(
    crm: SyncBench, dataset: Dataset, simulator: PipedriveSimulator
) -> None:
    """The stage history keeps its cursor on a full sync (``keeps_cursor_on_full``): the
    nightly full sync reads the flows of the deals moved (or deleted after moving) since
    the last run, not every moved deal's, and ends with the data of a clean sync."""
    connection = await crm.connect()
    assert (await crm.sync(connection.id, full=True)).status is SyncStatus.SUCCEEDED
    assert simulator.flow_reads == len(simulator.flows)  # the first read: every moved deal
    at = _latest_change(dataset) + timedelta(hours=1)
    moves = _move(dataset, 3, at)
    gone = next(
        d
        for d in dataset.deals
        if d.deleted_at is None and str(d.id) in simulator.flows and d.id not in dict(moves)
    )
    dataset.delete([gone], at)
    dataset.edit_deals(5, at)  # edited, not moved: no flow to read
    simulator.refresh()
    simulator.flow_reads = 0

    result = await crm.sync(connection.id, full=True)
    assert result.status is SyncStatus.SUCCEEDED, result.error
    assert simulator.flow_reads == len(moves) + 1  # the moved deals and the deleted one
    clean = await crm.connect()
    assert (await crm.sync(clean.id, full=True)).status is SyncStatus.SUCCEEDED
    ours = _live_rows(await data(crm.engine, connection.id))
    assert (
        ours["deal_stage_history"]
        == _live_rows(await data(crm.engine, clean.id))["deal_stage_history"]
    )
    history = await rows(crm.engine, "deal_stage_history", connection.id)
    assert all(h["deleted_at"] for h in history.values() if h["deal_remote_id"] == str(gone.id))


class Crash(BaseException):
    """A worker dying between two batches (not an error the engine may catch)."""


async def test_crash_in_stage_history_resumes_from_its_own_cursor(
    engine: AsyncEngine,
    dataset: Dataset,
    servers: ExitStack,
    make_connection: Make,
    sync: Sync,
    checked: Callable[[Any], Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(core_streams, "BATCH_RECORDS", 1)  # the stream's own batches
    clean = await make_connection(
        servers.enter_context(serve(checked(PipedriveSimulator(dataset).asgi())))
    )
    assert (await sync(clean.id)).status is SyncStatus.SUCCEEDED
    simulator = PipedriveSimulator(dataset)
    connection = await make_connection(servers.enter_context(serve(checked(simulator.asgi()))))

    def crash_mid_history(stream: str, stats: StreamStats, run: RunStats) -> None:
        # after the batch of flows that passes half of them (flows are written in batches)
        if stream == "deal_stage_history" and stats.fetched >= len(simulator.flows) // 2:
            raise Crash

    with pytest.raises(Crash):
        await sync(connection.id, concurrency=1, progress=crash_mid_history)
    read_before_crash = simulator.flow_reads
    assert 0 < read_before_crash < len(simulator.flows)
    simulator.flow_reads = 0
    result = await sync(connection.id)
    assert result.status is SyncStatus.SUCCEEDED, result.error
    # The rerun reads the flows the crash left unread (plus the look-back's few), not all.
    assert simulator.flow_reads < len(simulator.flows)
    assert simulator.flow_reads + read_before_crash >= len(simulator.flows)
    assert await data(engine, connection.id) == await data(engine, clean.id)

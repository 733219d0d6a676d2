"""The sync guarantees, end to end over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

import core.sync.streams as core_streams
import tests.plugins.testcrm.connector as testcrm_connector
from core.models import Connection, Deal, RecordError, Stage, SyncRun, SyncState, Workspace
from core.models.enums import SyncStatus
from core.sync.errors import SyncAlreadyRunning
from core.sync.locks import sync_lock
from core.sync.runs import RunStats, StreamStats
from tests.core.sync.snapshots import snapshot, table_rows
from tests.plugins.testcrm.dataset import generate
from tests.plugins.testcrm.simulator import Simulator
from tests.support.syncing import ConnectionFactory, SyncBench, Syncer


def _expected_ids(simulator: Simulator, kind: str) -> set[str]:
    return {f"{kind[0]}{i}" for i in range(simulator.data.counts[kind])}


def _without_sync_times(data: dict[str, Any]) -> dict[str, Any]:
    drop = {"synced_at", "connection_id", "workspace_id"}
    return {
        key: value
        if key == "fx"
        else {rid: {k: v for k, v in row.items() if k not in drop} for rid, row in value.items()}
        for key, value in data.items()
    }


def _expected_history(simulator: Simulator) -> int:
    return sum(len(generate("deals", i)["history"]) for i in range(simulator.data.counts["deals"]))


@pytest.fixture(autouse=True)
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages of 40 records, each its own batch: every stream of the 200-deal dataset spans
    several batches."""
    monkeypatch.setattr(testcrm_connector, "PAGE_SIZE", 40)
    monkeypatch.setattr(core_streams, "BATCH_RECORDS", 40)


async def test_full_sync_writes_every_record_and_bookkeeping(
    crm: SyncBench, simulator: Simulator
) -> None:
    connection = await crm.connect()
    result = await crm.sync(connection.id)

    assert result.status is SyncStatus.SUCCEEDED, result.error
    for kind, record_type in (("deals", "deal"), ("accounts", "account"), ("users", "user")):
        assert set(await table_rows(crm.engine, record_type)) == _expected_ids(simulator, kind)
    history = await table_rows(crm.engine, "deal_stage_history")
    assert len(history) == _expected_history(simulator)
    deal = (await table_rows(crm.engine, "deal"))["d7"]
    raw = generate("deals", 7)
    assert deal["amount"] == Decimal(raw["amount"])
    assert deal["status"] == raw["status"].upper()
    assert deal["custom"] == raw["custom"]
    deals = result.stats.streams["deals"]
    assert deals.fetched == simulator.data.counts["deals"]
    assert deals.inserted == simulator.data.counts["deals"] + len(history)
    assert deals.pages >= simulator.data.counts["deals"] // 40
    async with crm.sessionmaker() as session:
        kinds = dict((await session.execute(select(Stage.remote_id, Stage.kind))).all())
        assert kinds == {
            "s1": "QUALIFIED",
            "s2": "PROPOSAL",
            "s3": "NEGOTIATION",
            "s4": "WON",
            "s5": "LOST",
            "s6": "LEAD_IN",
            "s7": "WON",
        }
        run = await session.get(SyncRun, result.run_id)
        assert run is not None and run.status == "SUCCEEDED" and run.finished_at is not None
        assert run.stream_stats is not None
        assert run.stream_stats["deals"]["inserted"] == deals.inserted
        assert run.requests == result.stats.requests > 0
        conn_row = await session.get(Connection, connection.id)
        assert conn_row is not None and conn_row.last_synced_at is not None
        assert conn_row.lock_owner is None
        workspace = await session.get(Workspace, connection.workspace_id)
        assert workspace is not None and workspace.data_version >= deals.pages
        cursors = (await session.execute(select(SyncState.stream))).scalars().all()
        assert {"deals", "accounts", "activities"} <= set(cursors)
    assert len((await snapshot(crm.engine))["fx"]) == 6


async def test_second_sync_changes_no_row(crm: SyncBench) -> None:
    connection = await crm.connect()
    await crm.sync(connection.id)
    before = await snapshot(crm.engine)
    async with crm.sessionmaker() as session:
        version = await session.scalar(select(Workspace.data_version))

    again = await crm.sync(connection.id)
    assert again.status is SyncStatus.SUCCEEDED
    assert sum(s.inserted + s.updated + s.deleted for s in again.stats.streams.values()) == 0
    assert await snapshot(crm.engine) == before

    # A full sync also changes no data; it only marks the rows of streams without a
    # deletions listing (pipelines) as seen, for its reconciliation sweep.
    full = await crm.sync(connection.id, full=True)
    assert full.status is SyncStatus.SUCCEEDED
    assert sum(s.inserted + s.updated + s.deleted for s in full.stats.streams.values()) == 0
    assert await snapshot(crm.engine, with_sync_times=False) == _without_sync_times(before)
    after = await snapshot(crm.engine)
    assert after["deal"] == before["deal"] and after["activity"] == before["activity"]
    async with crm.sessionmaker() as session:
        assert await session.scalar(select(Workspace.data_version)) == version


async def test_incremental_sync_picks_up_edits_deletions_and_undeletions(
    crm: SyncBench, simulator: Simulator
) -> None:
    connection = await crm.connect()
    await crm.sync(connection.id)
    simulator.data.edit("deals", "d5", amount="42.00", stage_id="s3")
    simulator.data.delete("deals", "d9")
    simulator.data.delete("accounts", "a3")

    result = await crm.sync(connection.id)

    deals = await table_rows(crm.engine, "deal")
    assert deals["d5"]["amount"] == Decimal("42.00")
    assert deals["d5"]["stage_remote_id"] == "s3"
    assert deals["d9"]["deleted_at"] is not None
    assert (await table_rows(crm.engine, "account"))["a3"]["deleted_at"] is not None
    assert result.stats.streams["deals"].updated >= 1
    assert result.stats.streams["deals"].deleted == 1
    assert result.stats.streams["deals"].fetched < simulator.data.counts["deals"] // 2

    simulator.data.edit("deals", "d9", title="Back again")
    await crm.sync(connection.id)
    revived = (await table_rows(crm.engine, "deal"))["d9"]
    assert revived["deleted_at"] is None
    assert revived["name"] == "Back again"


class Crash(BaseException):
    """A worker dying between two batches (not an error the engine may catch)."""


async def test_crash_between_batches_then_rerun_loses_and_duplicates_nothing(
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    simulator: Simulator,
    serve_simulator: Any,
    make_connection: ConnectionFactory,
    sync: Syncer,
) -> None:
    url = serve_simulator()
    reference = await make_connection(url)
    await sync(reference.id)
    expected = await snapshot(engine, with_sync_times=False)
    async with engine.begin() as conn:  # start again from an empty database
        for table in ("deals", "deal_stage_history", "accounts", "contacts", "activities"):
            await conn.exec_driver_sql(f"DELETE FROM {table}")
        await conn.exec_driver_sql("DELETE FROM users")
        await conn.exec_driver_sql("DELETE FROM pipelines")
        await conn.exec_driver_sql("DELETE FROM stages")
        await conn.exec_driver_sql("DELETE FROM fx_rates")
    connection = await make_connection(url)
    batches = 0

    def crash_on_third_deals_batch(stream: str, stats: StreamStats, run: RunStats) -> None:
        nonlocal batches
        if stream == "deals":
            batches += 1
            if batches == 3:
                raise Crash

    with pytest.raises(Crash):
        await sync(connection.id, concurrency=1, progress=crash_on_third_deals_batch)
    partial = await table_rows(engine, "deal")
    assert 0 < len(partial) < simulator.data.counts["deals"]

    result = await sync(connection.id)

    assert result.status is SyncStatus.SUCCEEDED
    assert result.stats.streams["deals"].fetched < simulator.data.counts["deals"]
    assert await snapshot(engine, with_sync_times=False) == expected
    async with sessionmaker() as session:
        statuses = (await session.execute(select(SyncRun.status, SyncRun.error))).all()
        assert ("FAILED", "interrupted") in statuses


async def test_rate_limit_429_with_retry_after_waits_and_succeeds(
    crm: SyncBench, simulator: Simulator
) -> None:
    connection = await crm.connect("429every=4,retry_after=0.3")
    loop = asyncio.get_running_loop()
    started = loop.time()
    result = await crm.sync(connection.id)
    elapsed = loop.time() - started

    assert result.status is SyncStatus.SUCCEEDED, result.error
    assert result.stats.retries >= result.stats.requests // 4 - 1
    assert elapsed >= 0.3 * (result.stats.retries // 2)
    assert set(await table_rows(crm.engine, "deal")) == _expected_ids(simulator, "deals")


async def test_5xx_and_dropped_connections_are_retried(
    crm: SyncBench, simulator: Simulator
) -> None:
    clean = await crm.connect()
    await crm.sync(clean.id)
    expected = await snapshot(crm.engine, with_sync_times=False)
    async with crm.engine.begin() as conn:
        for table in ("deals", "deal_stage_history", "accounts", "contacts", "activities"):
            await conn.exec_driver_sql(f"DELETE FROM {table}")
        for table in ("users", "pipelines", "stages", "fx_rates"):
            await conn.exec_driver_sql(f"DELETE FROM {table}")
    faulty = await crm.connect("5xx=0.15,drop=0.1,seed=7")

    result = await crm.sync(faulty.id)

    assert result.status is SyncStatus.SUCCEEDED, result.error
    assert result.stats.retries > 0
    assert await snapshot(crm.engine, with_sync_times=False) == expected


async def test_malformed_record_is_quarantined_and_run_is_partial(
    crm: SyncBench, simulator: Simulator
) -> None:
    bad = {**generate("deals", 3), "amount": "twelve"}
    simulator.overrides["d3"] = bad
    connection = await crm.connect()

    result = await crm.sync(connection.id)

    assert result.status is SyncStatus.PARTIAL
    assert result.stats.streams["deals"].quarantined == 1
    deals = await table_rows(crm.engine, "deal")
    assert "d3" not in deals
    assert set(deals) == _expected_ids(simulator, "deals") - {"d3"}
    async with crm.sessionmaker() as session:
        error = (await session.execute(select(RecordError))).scalar_one()
        assert error.remote_id == "d3" and error.stream == "deals"
        assert "twelve" in error.reason
        assert error.raw == bad
        assert error.sync_run_id == result.run_id
        run = await session.get(SyncRun, result.run_id)
        assert run is not None and run.status == "PARTIAL"


async def test_concurrent_sync_of_same_connection_is_refused(crm: SyncBench) -> None:
    connection = await crm.connect("latency=20ms")
    first = asyncio.create_task(crm.sync(connection.id))
    await asyncio.sleep(0.3)
    with pytest.raises(SyncAlreadyRunning, match=f"connection {connection.id} is already"):
        await crm.sync(connection.id)
    assert (await first).status is SyncStatus.SUCCEEDED
    async with sync_lock(crm.engine, connection.id):  # released after the run
        pass


async def test_expired_token_is_refreshed_once_and_the_run_goes_on(
    crm: SyncBench, simulator: Simulator
) -> None:
    connection = await crm.connect()
    expired = False

    def expire_once(stream: str, stats: StreamStats, run: RunStats) -> None:
        nonlocal expired
        if not expired and stream == "deals":
            expired = True
            simulator.expire_tokens()

    result = await crm.sync(connection.id, progress=expire_once)

    assert expired and result.status is SyncStatus.SUCCEEDED, result.error
    assert simulator.token_requests == 2
    assert set(await table_rows(crm.engine, "deal")) == _expected_ids(simulator, "deals")


async def test_stage_kind_override_and_deal_attribute_mapping(
    engine: AsyncEngine,
    serve_simulator: Any,
    make_connection: ConnectionFactory,
    sync: Syncer,
) -> None:
    connection = await make_connection(
        serve_simulator(),
        mappings={
            "stage_kinds": {"s1": "LEAD_IN"},
            "deal_attributes": {"deal_type": "deal_kind"},
            "custom_dimensions": {"region_code": "region"},
        },
    )
    await sync(connection.id, streams=["deals"])

    stages = await table_rows(engine, "stage")
    assert stages["s1"]["kind"] == "LEAD_IN"
    deals = await table_rows(engine, "deal")
    assert deals["d1"]["deal_type"] == "RENEWAL" and deals["d2"]["deal_type"] == "NEW_BUSINESS"
    assert deals["d1"]["custom"] == {"deal_kind": "renewal", "region": "R1"}
    assert await table_rows(engine, "account") == {}


async def test_deal_count_matches_unique_remote_ids(crm: SyncBench) -> None:
    connection = await crm.connect()
    await crm.sync(connection.id)
    await crm.sync(connection.id, full=True)
    async with crm.engine.connect() as conn:
        total = await conn.scalar(select(func.count()).select_from(Deal))
        unique = await conn.scalar(select(func.count(func.distinct(Deal.remote_id))))
    assert total == unique == 200

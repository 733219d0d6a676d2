"""Salesforce on a minimal and a full org (issue #18), through the real engine over HTTP on
SQLite and PostgreSQL: the full sync, an incremental sync after edits and deletions, and a
sync through injected faults each end with the data of a clean sync; on the minimal org
(single currency, no record types, no Lead field history, no Bulk API, no UserRole or Note
access) the optional streams are SKIPPED with their reason and the run still succeeds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from connectors.salesforce import settings
from connectors.salesforce.simulator import SalesforceSimulator, create_simulator
from core.models import Connection
from core.models.enums import SyncStatus
from core.sync.capabilities import CapabilityStatus
from core.sync.discovery import stored_capabilities
from core.sync.runs import StreamStatus
from tests.connectors.salesforce.conftest import Connect
from tests.connectors.salesforce.test_e2e import _differences, _rows_of, _table
from tests.support.syncing import Syncer as Sync

SEED, DEALS = 41, 150
OPTIONAL = {"teams", "notes", "currencies", "fx_rates"}
FAULTS = "5xx=0.1,429every=7,drop=0.01,seed=3"


@pytest.fixture(autouse=True)
def _quick_bulk(monkeypatch: pytest.MonkeyPatch, instant_bulk_polls: None) -> None:
    monkeypatch.setattr(settings, "BULK_PAGE_ROWS", 40)


def _org(account: str, **knobs: object) -> SalesforceSimulator:
    return create_simulator(
        seed=SEED, deals=DEALS, batch_size=200, account=account, deletions=True, **knobs
    )


def _edit(sim: SalesforceSimulator, at: datetime) -> None:
    """Amount edits and deletions of deals and contacts at ``at``."""
    edited = sim.data.edit_deals(6, at)
    live = [d for d in sim.data.deals if d.deleted_at is None and d not in edited]
    sim.data.delete(live[:3], at)
    sim.data.delete([c for c in sim.data.contacts if c.deleted_at is None][:2], at)
    sim.rerender()


def _deletions_as_flags(rows: dict[str, Any]) -> dict[str, Any]:
    """Rows with ``deleted_at`` as a flag: when each engine soft-deleted them differs."""
    return {
        table: {
            rid: {**row, "deleted_at": row.get("deleted_at") is not None}
            for rid, row in found.items()
        }
        if isinstance(found, dict)
        else found
        for table, found in rows.items()
    }


async def _connection(
    sessionmaker: async_sessionmaker[AsyncSession], connection_id: str
) -> Connection:
    async with sessionmaker() as session:
        found = await session.get(Connection, connection_id)
        assert found is not None
        return found


@pytest.mark.parametrize("account", ["minimal", "full"])
async def test_full_incremental_and_faulty_syncs_end_with_the_clean_data(
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    connect: Connect,
    sync: Sync,
    account: str,
) -> None:
    clean_sim = _org(account, rotate_refresh_tokens=True)
    faulty_sim = _org(account, faults=FAULTS)
    clean = await connect(clean_sim, options={"bulk_threshold": "20"})
    faulty = await connect(faulty_sim, options={"bulk_threshold": "20"})

    result = await sync(clean.id, full=True)
    assert result.status is SyncStatus.SUCCEEDED, (result.error, result.stats.to_json())
    streams = result.stats.streams
    skipped = {name for name, s in streams.items() if s.status == StreamStatus.SKIPPED}
    capabilities = stored_capabilities(await _connection(sessionmaker, clean.id))
    if account == "minimal":
        assert skipped == OPTIONAL
        assert "single-currency" in (streams["currencies"].error or "")
        assert "UserRole" in (streams["teams"].error or "")
        for key in ("user_roles", "notes", "currency_types", "dated_rates", "lead_history"):
            assert capabilities[key].status is CapabilityStatus.UNAVAILABLE, key
        assert capabilities["bulk_api"].status is not CapabilityStatus.AVAILABLE
        assert not clean_sim.bulk.jobs  # no Bulk API: REST first load
        # a single-currency org: every amount is in its corporate currency
        deals = await _table(engine, "deal", clean.id)
        assert {d["currency"] for d in deals.values()} == {clean_sim.data.currency}
    else:
        assert not skipped
        assert all(c.status is CapabilityStatus.AVAILABLE for c in capabilities.values())
        assert clean_sim.bulk.jobs  # the first load above the threshold went through Bulk
        pipelines = await _table(engine, "pipeline", clean.id)
        assert len(pipelines) == 1 + len(clean_sim.data.pipelines)  # one per sales process
    live = {f"006Dn{d.id:013d}" for d in clean_sim.data.deals if d.deleted_at is None}
    deals = await _table(engine, "deal", clean.id)
    assert {rid for rid, d in deals.items() if d["deleted_at"] is None} == live

    result = await sync(faulty.id, full=True)
    assert result.status is SyncStatus.SUCCEEDED, (result.error, result.stats.to_json())
    assert result.stats.retries > 0
    got, expected = await _rows_of(engine, faulty.id), await _rows_of(engine, clean.id)
    assert not _differences(got, expected), _differences(got, expected)

    at = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=30)
    _edit(clean_sim, at)
    _edit(faulty_sim, at)
    # every session dies: the next run must refresh with the rotated refresh token the
    # first one stored (the one it was given no longer works)
    clean_sim.expire_sessions()
    refreshes = clean_sim.token_requests
    for connection in (clean, faulty):
        result = await sync(connection.id)
        assert result.status is SyncStatus.SUCCEEDED, (result.error, result.stats.to_json())
    got, expected = await _rows_of(engine, faulty.id), await _rows_of(engine, clean.id)
    assert not _differences(_deletions_as_flags(got), _deletions_as_flags(expected))
    deals = await _table(engine, "deal", clean.id)
    gone = {f"006Dn{d.id:013d}" for d in clean_sim.data.deals if d.deleted_at is not None}
    assert gone and all(deals[rid]["deleted_at"] is not None for rid in gone if rid in deals)
    live = {f"006Dn{d.id:013d}" for d in clean_sim.data.deals if d.deleted_at is None}
    assert {rid for rid, d in deals.items() if d["deleted_at"] is None} == live
    assert clean_sim.token_requests > refreshes  # refreshed with the stored rotated token


async def test_rows_beyond_the_recycle_bin_are_reconciled_by_the_full_sync(
    engine: AsyncEngine, connect: Connect, sync: Sync
) -> None:
    """A deal hard-deleted (or purged from the recycle bin before a sync looked) is in no
    deletion log: incremental syncs keep it, the next full sync soft-deletes it."""
    sim = _org("standard")
    connection = await connect(sim)
    assert (await sync(connection.id, full=True)).status is SyncStatus.SUCCEEDED
    purged = next(d for d in sim.data.deals if d.deleted_at is None)
    sim.data.deals.remove(purged)
    sim.rerender()
    rid = f"006Dn{purged.id:013d}"
    assert (await sync(connection.id)).status is SyncStatus.SUCCEEDED
    assert (await _table(engine, "deal", connection.id))[rid]["deleted_at"] is None
    assert (await sync(connection.id, full=True)).status is SyncStatus.SUCCEEDED
    deals = await _table(engine, "deal", connection.id)
    assert deals[rid]["deleted_at"] is not None
    history = await _table(engine, "deal_stage_history", connection.id)
    assert all(h["deleted_at"] is not None for h in history.values() if h["deal_remote_id"] == rid)
    live = {f"006Dn{d.id:013d}" for d in sim.data.deals if d.deleted_at is None}
    assert {r for r, d in deals.items() if d["deleted_at"] is None} == live

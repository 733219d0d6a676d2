"""Relationship subqueries longer than one child batch (issue #18): an opportunity's
OpportunityHistories and a lead's Histories come back ``done: false`` with their own
``nextRecordsUrl``; a sync must read them to the end, over REST and over Bulk API alike,
in full and incremental syncs (real engine, real HTTP, SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from connectors.salesforce import settings
from connectors.salesforce.simulator import SalesforceSimulator, create_simulator
from core.models.enums import SyncStatus
from tests.connectors.salesforce.conftest import Connect
from tests.connectors.salesforce.test_e2e import _differences, _rows_of
from tests.support.syncing import Syncer as Sync

SEED, DEALS = 31, 120


@pytest.fixture(autouse=True)
def _small_bulk_pages(monkeypatch: pytest.MonkeyPatch, instant_bulk_polls: None) -> None:
    monkeypatch.setattr(settings, "BULK_PAGE_ROWS", 40)


def _longest(sim: SalesforceSimulator) -> int:
    rows = sim.tables["Opportunity"].rows
    return max(len(r["_children"]["OpportunityHistories"]) for r in rows)


def _edit(sim: SalesforceSimulator, at: datetime) -> None:
    """Edit the deal with the longest history (a new history row) and a few others."""
    longest = max(sim.data.deals, key=lambda d: (len(d.history), -d.id))
    longest.amount += 1
    longest.updated_at = at
    sim.data.edit_deals(4, at)
    sim.rerender()


@pytest.mark.parametrize("bulk", [False, True], ids=["rest", "bulk"])
async def test_histories_longer_than_a_child_batch_are_complete(
    engine: AsyncEngine, connect: Connect, sync: Sync, bulk: bool
) -> None:
    clean_sim = create_simulator(seed=SEED, deals=DEALS, batch_size=200)
    paged_sim = create_simulator(seed=SEED, deals=DEALS, batch_size=200, history_batch=2)
    assert _longest(paged_sim) > 2  # several child batches for some opportunities
    clean = await connect(clean_sim)
    paged = await connect(paged_sim, options={"bulk_threshold": "20"} if bulk else None)

    assert (await sync(clean.id, full=True)).status is SyncStatus.SUCCEEDED
    result = await sync(paged.id, full=True)
    assert result.status is SyncStatus.SUCCEEDED, result.error
    if bulk:
        assert {j.query.sobject for j in paged_sim.bulk.jobs.values()} >= {
            "Opportunity",
            "OpportunityHistory",
        }
    else:
        assert paged_sim.child_locators  # the REST path did meet paged subqueries
    got, expected = await _rows_of(engine, paged.id), await _rows_of(engine, clean.id)
    assert got["deal_stage_history"] and got["lead"]
    assert not _differences(got, expected), _differences(got, expected)

    at = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=30)
    _edit(clean_sim, at)
    _edit(paged_sim, at)
    paged_sim.child_locators.clear()
    assert (await sync(clean.id)).status is SyncStatus.SUCCEEDED
    result = await sync(paged.id)
    assert result.status is SyncStatus.SUCCEEDED, result.error
    assert paged_sim.child_locators  # the incremental read (REST) paged the edited history
    got, expected = await _rows_of(engine, paged.id), await _rows_of(engine, clean.id)
    assert not _differences(got, expected), _differences(got, expected)

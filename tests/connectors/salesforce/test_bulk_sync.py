"""Bulk API 2.0 first loads through the real engine, on SQLite and PostgreSQL: the same
rows as REST (opportunities and leads with their history included), and a job stopped
mid-way continued at its next page by the following run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

import core.sync.streams as core_streams
from connectors.salesforce import settings
from connectors.salesforce.client import DailyLimitReached
from connectors.salesforce.simulator import SalesforceSimulator, create_simulator
from core.models import SYNCED_MODELS
from core.models.enums import SyncStatus
from tests.connectors.salesforce.conftest import Connect
from tests.connectors.salesforce.test_e2e import _cursors, _differences, _rows_of
from tests.support.syncing import Syncer as Sync

#: Objects over the bulk threshold of the test orgs, children of nested queries included.
BIG = {
    "Account",
    "Contact",
    "Task",
    "Event",
    "Opportunity",
    "OpportunityHistory",
    "Lead",
    "LeadHistory",
}


@pytest.fixture(autouse=True)
def _small_pages(monkeypatch: pytest.MonkeyPatch, instant_bulk_polls: None) -> None:
    monkeypatch.setattr(settings, "BULK_PAGE_ROWS", 30)  # several CSV pages per job
    monkeypatch.setattr(core_streams, "BATCH_RECORDS", 30)  # each page its own batch


def _edit(sim: SalesforceSimulator, at: datetime) -> None:
    """Amount edits (each writes an OpportunityHistory row) and deletions at ``at``."""
    edited = sim.data.edit_deals(5, at)
    sim.data.delete([d for d in sim.data.deals if d not in edited][:3], at)
    sim.data.delete(sim.data.contacts[:2], at)
    sim.rerender()


async def test_bulk_first_load_writes_what_rest_writes_then_increments_the_same(
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    connect: Connect,
    sync: Sync,
) -> None:
    rest_sim = create_simulator(seed=26, deals=150, batch_size=200)
    rest = await connect(rest_sim)
    assert (await sync(rest.id)).status is SyncStatus.SUCCEEDED
    assert not rest_sim.bulk.jobs  # default threshold: REST pages only

    bulk_sim = create_simulator(seed=26, deals=150, batch_size=200)
    bulk = await connect(bulk_sim, bulk_threshold="20")
    result = await sync(bulk.id)
    assert result.status is SyncStatus.SUCCEEDED, result.error
    read_in_bulk = {job.query.sobject for job in bulk_sim.bulk.jobs.values()}
    assert read_in_bulk >= BIG
    assert not read_in_bulk & {"UserRole", "OpportunityStage"}  # small: REST
    assert result.stats.streams["deals"].pages >= 2
    assert result.stats.streams["leads"].pages >= 2

    got, expected = await _rows_of(engine, bulk.id), await _rows_of(engine, rest.id)
    assert got["deal_stage_history"] and got["lead"]
    assert not _differences(got, expected), _differences(got, expected)
    assert await _cursors(sessionmaker, bulk.id) == await _cursors(sessionmaker, rest.id)

    jobs = len(bulk_sim.bulk.jobs)
    again = await sync(bulk.id)  # incremental from the cursors: REST, nothing new
    assert again.status is SyncStatus.SUCCEEDED
    assert len(bulk_sim.bulk.jobs) == jobs
    assert all(s.inserted == 0 and s.updated == 0 for s in again.stats.streams.values())

    at = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=30)
    _edit(rest_sim, at)
    _edit(bulk_sim, at)
    for connection in (rest, bulk):
        edited = await sync(connection.id)
        assert edited.status is SyncStatus.SUCCEEDED, edited.error
        assert edited.stats.streams["deals"].updated >= 5
    assert len(bulk_sim.bulk.jobs) == jobs
    got = _deletion_flags(await _rows_of(engine, bulk.id))
    expected = _deletion_flags(await _rows_of(engine, rest.id))
    assert any(row["deleted_at"] for row in got["deal"].values())
    assert not _differences(got, expected), _differences(got, expected)


def _deletion_flags(tables: dict[str, Any]) -> dict[str, Any]:
    """``deleted_at`` is when a sync saw the deletion: compare only whether rows are deleted."""
    for rows in tables.values():
        if isinstance(rows, dict):
            for row in rows.values():
                if "deleted_at" in row:
                    row["deleted_at"] = row["deleted_at"] is not None
    return tables


class _Stop:
    """Stops the deals stream after its ``pages``-th committed page, as a crash (a
    RuntimeError: the stream FAILED) or the daily limit (QuotaExhausted: STOPPED) would."""

    def __init__(self, pages: int, error: Exception) -> None:
        self.pages, self.error = pages, error

    def __call__(self, name: str, stats: Any, run: Any) -> None:
        if name == "deals" and stats.pages == self.pages:
            raise self.error


async def _row_counts(engine: AsyncEngine, connection_id: str) -> dict[str, tuple[int, int]]:
    """(rows, distinct remote ids) of every synced table of the connection."""
    out = {}
    async with engine.connect() as conn:
        for name, model in SYNCED_MODELS.items():
            table = model.__table__  # type: ignore[attr-defined]
            query = select(func.count(), func.count(table.c.remote_id.distinct())).where(
                table.c.connection_id == connection_id
            )
            rows, distinct = (await conn.execute(query)).one()
            out[name] = (rows, distinct)
    return out


@pytest.mark.parametrize(
    ("error", "status", "expire"),
    [
        (RuntimeError("worker killed"), "FAILED", False),
        (DailyLimitReached("Salesforce daily API request limit reached"), "STOPPED", False),
        (RuntimeError("worker killed"), "FAILED", True),
    ],
    ids=["crash", "daily-limit", "job-expired"],
)
async def test_a_stopped_bulk_read_continues_at_its_next_page(
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    connect: Connect,
    sync: Sync,
    error: Exception,
    status: str,
    expire: bool,
) -> None:
    clean_sim = create_simulator(seed=28, deals=150, batch_size=200)
    clean = await connect(clean_sim)
    assert (await sync(clean.id)).status is SyncStatus.SUCCEEDED

    sim = create_simulator(seed=28, deals=150, batch_size=200)
    connection = await connect(sim, bulk_threshold="20")
    stopped = await sync(connection.id, progress=_Stop(2, error))
    assert stopped.stats.streams["deals"].status == status
    (job,) = [j.id for j in sim.bulk.jobs.values() if j.query.sobject == "Opportunity"]
    read = [locator for job_id, locator in sim.bulk.served if job_id == job]
    saved = (await _cursors(sessionmaker, connection.id))["deals"]
    assert saved["resume"]["job"] == job
    assert saved["resume"]["locator"] == "60"  # after the two committed pages of 30 rows
    assert read[:2] == ["0", "30"]

    if expire:  # Salesforce deleted the job's results: the read starts over in a new job
        del sim.bulk.jobs[job]
    sim.bulk.served.clear()
    resumed = await sync(connection.id)
    assert resumed.status is SyncStatus.SUCCEEDED, resumed.error
    jobs = [j.id for j in sim.bulk.jobs.values() if j.query.sobject == "Opportunity"]
    if expire:
        assert len(jobs) == 1 and jobs[0] != job
        assert next(loc for j, loc in sim.bulk.served if j == jobs[0]) == "0"
    else:
        assert jobs == [job]  # the same job, continued
        again = [locator for job_id, locator in sim.bulk.served if job_id == job]
        assert again[0] == "60" and not {"0", "30"} & set(again)
    assert "resume" not in (await _cursors(sessionmaker, connection.id))["deals"]

    got, expected = await _rows_of(engine, connection.id), await _rows_of(engine, clean.id)
    assert not _differences(got, expected), _differences(got, expected)
    counts = await _row_counts(engine, connection.id)
    assert all(rows == distinct for rows, distinct in counts.values()), counts
    assert counts["deal"][0] == len(sim.data.deals)


async def test_a_bulk_first_load_through_faults_writes_what_a_clean_one_writes(
    engine: AsyncEngine, connect: Connect, sync: Sync
) -> None:
    clean = await connect(create_simulator(seed=29, deals=150, batch_size=200))
    assert (await sync(clean.id)).status is SyncStatus.SUCCEEDED

    faulty_sim = create_simulator(
        seed=29, deals=150, batch_size=200, faults="5xx=0.1,429every=7,drop=0.01,seed=5"
    )
    faulty = await connect(faulty_sim, bulk_threshold="20")
    result = await sync(faulty.id)
    assert result.status is SyncStatus.SUCCEEDED, result.error
    assert result.stats.retries > 0
    assert {job.query.sobject for job in faulty_sim.bulk.jobs.values()} >= BIG
    got, expected = await _rows_of(engine, faulty.id), await _rows_of(engine, clean.id)
    assert not _differences(got, expected), _differences(got, expected)

"""Bad data: malformed records are quarantined with reasons, the rest syncs, the run is PARTIAL."""

from __future__ import annotations

from sqlalchemy import select

from core.models import RecordError, SyncRun
from core.models.enums import SyncStatus
from tests.core.sync.snapshots import table_rows
from tests.plugins.testcrm.simulator import Simulator
from tests.reliability.bad_data import MALFORMED, serve_malformed
from tests.support.syncing import SyncBench

#: Reason fragments expected per kind of breakage.
REASONS = {
    "missing id": "'id'",
    "wrong type": "",
    "broken date": "bad timestamp",
    "huge string": "characters long",
    "bad unicode": "not valid Unicode",
    "NUL character": "NUL",
    "missing field": "'stage_id'",
}


async def test_malformed_records_are_quarantined_and_the_rest_synced(
    crm: SyncBench, simulator: Simulator
) -> None:
    broken = serve_malformed(simulator)
    connection = await crm.connect()

    result = await crm.sync(connection.id, full=True)

    assert result.status is SyncStatus.PARTIAL, result.error
    assert all(s.status == "DONE" for s in result.stats.streams.values()), result.stats.streams
    async with crm.sessionmaker() as session:
        errors = (await session.execute(select(RecordError))).scalars().all()
        run = await session.get(SyncRun, result.run_id)
    assert run is not None and run.status == "PARTIAL"
    quarantined = {(e.stream, e.remote_id): e.reason for e in errors}
    rejected = {rid for rid, what in broken.items() if what != "unknown stage"}
    # The record without an id is quarantined without one; every other by its id.
    assert set(quarantined) == {
        ("deals" if rid.startswith("d") else "contacts", None if what == "missing id" else rid)
        for rid, what in broken.items()
        if rid in rejected
    }
    for (_, remote_id), reason in quarantined.items():
        what = "missing id" if remote_id is None else broken[remote_id]
        assert REASONS[what] in reason, (remote_id, reason)
    assert all(e.sync_run_id == result.run_id and e.raw for e in errors)
    assert result.stats.streams["deals"].quarantined == sum(r.startswith("d") for r in rejected)

    deals = await table_rows(crm.engine, "deal")
    contacts = await table_rows(crm.engine, "contact")
    all_deals = {f"d{i}" for i in range(simulator.data.counts["deals"])}
    all_contacts = {f"c{i}" for i in range(simulator.data.counts["contacts"])}
    assert set(deals) == all_deals - rejected
    assert set(contacts) == all_contacts - rejected
    # A deal in a stage the CRM never listed is kept (stages can be added later), unresolved.
    unknown = deals["d7"]
    assert unknown["stage_remote_id"] == MALFORMED["d7"][1]["stage_id"]

"""The one writer of the normalized tables.

A page batch is written by :meth:`RecordWriter.write_page` inside the caller's transaction:
its records are grouped by table (core.sync.batches), and each table's are upserted so that
only new or changed rows are written (a re-sync of unchanged data writes nothing, and the
counts say what happened): on PostgreSQL compared in SQL (core.sync.pgcopy), on SQLite
with the stored rows read first (core.sync.sqlitebulk). The maintained aggregates (daily
rollups, customer stretches) are kept in the same transaction.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Table,
    bindparam,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from core.metrics import rollup_deltas, stretch_refresh
from core.metrics.rollup_refresh import STATES
from core.models import RecordError, Workspace, synced_table
from core.sqlwrite import among
from core.sync import batches, reconcile
from core.sync.batches import TableBatch
from core.sync.fxwrite import fx_rows, write_fx
from core.sync.pgcopy import stage_of, write_batch
from core.sync.records import AnyRecord, Record
from core.sync.sqlitebulk import executemany_upsert
from core.sync.unstored import Unstored

_CUSTOM_PLANS = "SET LOCAL plan_cache_mode = force_custom_plan"
#: Built once: every page that changes anything bumps its workspace's data version.
_BUMP_VERSION = (
    update(Workspace)
    .where(Workspace.id == bindparam("workspace"))
    .values(data_version=Workspace.data_version + 1)
)
#: Deals feed the maintained customer stretches (core.metrics.stretch_refresh).
_DEAL = "deal"
#: Deals and activities feed the daily rollups (core.metrics.rollup_deltas).
_ROLLED = ("deal", "activity")


@dataclass(slots=True)
class WriteCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    quarantined: int = 0

    @property
    def changed(self) -> int:
        return self.inserted + self.updated + self.deleted + self.quarantined


@dataclass(frozen=True, slots=True)
class Quarantined:
    """A raw record the stream could not map, and why."""

    stream: str
    remote_id: str | None
    reason: str
    raw: Any


def table_of(record_class: type[Record]) -> Table:
    """The synced table a record class is written to."""
    return synced_table(record_class.record_type)


def _same(stored: Mapping[str, Any], row: Mapping[str, Any]) -> bool:
    """True when writing ``row`` over ``stored`` would change nothing but ``synced_at``."""
    for key, value in row.items():
        if key == "synced_at":
            continue
        if key == "deleted_at":
            if (stored[key] is None) != (value is None):
                return False
            continue
        if stored[key] != value:
            return False
    return True


class RecordWriter:
    """Writes one connection's records; stateless between pages except its constants."""

    def __init__(self, *, workspace_id: str, connection_id: str, source: str) -> None:
        self.workspace_id = workspace_id
        self.connection_id = connection_id
        self.source = source
        self._unstored = Unstored(connection_id)

    async def write_page(
        self,
        conn: AsyncConnection,
        records: Sequence[AnyRecord],
        now: datetime,
        *,
        deleted: Sequence[tuple[type[Record], str]] = (),
        quarantined: Sequence[Quarantined] = (),
        run_id: int | None = None,
    ) -> WriteCounts:
        """Write one batch in ``conn``'s transaction; bumps the workspace's data version
        when anything changed, so cached metrics are recomputed."""
        counts = WriteCounts()
        if conn.dialect.name == "postgresql":
            # asyncpg prepares each statement once; after five runs PostgreSQL may keep a
            # generic plan made while a first load's tables were still empty (a sequential
            # scan of the stored deals per page, growing with every page written: the
            # 200k-record first load took 40-74 s instead of 9.9 s). Every statement of the
            # page's transaction is planned for the tables as they are now.
            await conn.exec_driver_sql(_CUSTOM_PLANS)
        synced, fx_records = batches.group(
            records, workspace_id=self.workspace_id, connection_id=self.connection_id, now=now
        )
        fx = fx_rows(
            fx_records,
            workspace_id=self.workspace_id,
            connection_id=self.connection_id,
            source=self.source,
        )
        deals = synced.get(_DEAL)
        deleted_deals = [remote_id for cls, remote_id in deleted if cls.record_type == _DEAL]
        ids = {t: synced[t].ids() for t in _ROLLED if t in synced}
        new: dict[str, set[str]] = {}  # rows not stored: not read before the write
        for record_type, written in ids.items():
            new[record_type] = await self._unstored.new_rows(conn, record_type, written)
        before = await self._deals_before(
            conn, ids.get(_DEAL), deleted_deals, new.get(_DEAL, set())
        )
        stored_ids: dict[str, Collection[str]] = {} if before is None else {_DEAL: before}
        if new.get("activity"):
            maybe = set(ids["activity"]).difference(new["activity"])
            maybe.update(i for c, i in deleted if c.record_type == "activity")
            stored_ids["activity"] = maybe
        read = await conn.run_sync(
            rollup_deltas.before_write,
            self.workspace_id,
            self.connection_id,
            {t: self._rolled(t, synced, deleted) for t in _ROLLED},
            stored_ids,
        )
        rolled = read.pending
        for record_type, batch in synced.items():
            inserted = counts.inserted
            await self._upsert_synced(conn, synced_table(record_type), batch, counts)
            if new.get(record_type):
                rows = ids[record_type]
                found = read.found.get(record_type, set()).intersection(rows)
                self._unstored.check(record_type, len(rows), len(found), counts.inserted - inserted)
        if fx:
            inserted, updated, unchanged = await write_fx(conn, self.workspace_id, fx)
            counts.inserted += inserted
            counts.updated += updated
            counts.unchanged += unchanged
        if deleted:
            await self._soft_delete(conn, deleted, now, counts)
        if quarantined:
            await conn.execute(
                insert(RecordError),
                [
                    {
                        "workspace_id": self.workspace_id,
                        "connection_id": self.connection_id,
                        "sync_run_id": run_id,
                        "stream": q.stream,
                        "remote_id": q.remote_id,
                        "reason": q.reason,
                        "raw": q.raw if isinstance(q.raw, dict) else {"value": q.raw},
                        "created_at": now,
                    }
                    for q in quarantined
                ],
            )
            counts.quarantined = len(quarantined)
        if before is not None:
            after = self._deals_after(deals, deleted_deals, before)
            changed = stretch_refresh.changed_customers(self.connection_id, before, after)
            if changed:
                await conn.run_sync(stretch_refresh.refresh, changed)
        if rolled:
            staged = {}  # PostgreSQL's copy of the page (core.sync.pgcopy)
            if conn.dialect.name == "postgresql":
                staged = {kind: stage_of(synced_table(kind)) for kind in synced}
            await conn.run_sync(rollup_deltas.after_write, self.connection_id, rolled, staged)
        if counts.changed:
            await conn.execute(_BUMP_VERSION, {"workspace": self.workspace_id})
        return counts

    @staticmethod
    def _rolled(
        record_type: str,
        synced: Mapping[str, TableBatch],
        deleted: Sequence[tuple[type[Record], str]],
    ) -> dict[str, rollup_deltas.State | None]:
        """What the daily rollups read of the page's rows of a type, as written."""
        batch = synced.get(record_type)
        gone = [remote_id for cls, remote_id in deleted if cls.record_type == record_type]
        # STATES ends with deleted_at, of which a state keeps whether it is set: ``deleted``.
        names = ("remote_id", *STATES[record_type][:-1], "deleted")
        return rollup_deltas.written_states(batch.values(names) if batch else [], gone)

    async def _deals_before(
        self,
        conn: AsyncConnection,
        deals: Sequence[str] | None,
        deleted: Sequence[str],
        new: set[str],
    ) -> dict[str, stretch_refresh.DealState] | None:
        """What the lifecycle reads of the page's deals as stored before the write (a deal
        may move to another account): compared with what is written, it says whose customer
        stretches to refresh. None when the page writes no deals; the ``new`` ones (not
        stored: core.sync.unstored) are not read."""
        if deals is None and not deleted:
            return None
        ids = [*deleted, *(i for i in deals or () if i not in new)]
        if not ids:
            return {}
        return await conn.run_sync(stretch_refresh.stored_states, self.connection_id, ids)

    @staticmethod
    def _deals_after(
        deals: TableBatch | None,
        deleted: Sequence[str],
        before: Mapping[str, stretch_refresh.DealState],
    ) -> dict[str, stretch_refresh.DealState]:
        after: dict[str, stretch_refresh.DealState] = {}
        if deals is not None:
            after = stretch_refresh.written_states(deals.values(stretch_refresh.WRITTEN_FIELDS))
        for remote_id in deleted:  # soft-deleted after the upsert
            state = after.get(remote_id, before.get(remote_id))
            if state is not None:
                after[remote_id] = stretch_refresh.deleted_state(state)
        return after

    async def _upsert_synced(
        self, conn: AsyncConnection, table: Table, batch: TableBatch, counts: WriteCounts
    ) -> None:
        if conn.dialect.name == "postgresql":
            inserted, updated = await write_batch(conn, table, batch)
            counts.inserted += inserted
            counts.updated += updated
            counts.unchanged += len(batch.records) - inserted - updated
            return
        rows = batch.dicts()
        columns = list(batch.columns)
        stored: dict[str, Any] = {}
        ids = [row["remote_id"] for row in rows]
        result = await conn.execute(
            select(*(table.c[c] for c in columns)).where(
                table.c.connection_id == self.connection_id, table.c.remote_id.in_(ids)
            )
        )
        for found in result.mappings():
            stored[found["remote_id"]] = found
        write: list[dict[str, Any]] = []
        for row in rows:
            old = stored.get(row["remote_id"])
            if old is None:
                counts.inserted += 1
            elif _same(old, row):
                counts.unchanged += 1
                continue
            else:
                counts.updated += 1
                if row["deleted_at"] is not None and old["deleted_at"] is not None:
                    row["deleted_at"] = old["deleted_at"]
            write.append(row)
        if write:
            await executemany_upsert(conn, table, write)

    async def _soft_delete(
        self,
        conn: AsyncConnection,
        deleted: Sequence[tuple[type[Record], str]],
        now: datetime,
        counts: WriteCounts,
    ) -> None:
        by_table: dict[str, list[str]] = {}
        for record_class, remote_id in deleted:
            by_table.setdefault(record_class.record_type, []).append(remote_id)
        for record_type, ids in by_table.items():
            table = synced_table(record_type)
            result = await conn.execute(
                update(table)
                .where(
                    table.c.connection_id == self.connection_id,
                    among(conn.dialect.name, table.c.remote_id),
                    table.c.deleted_at.is_(None),
                )
                .values(deleted_at=now, synced_at=now),
                {"ids": ids},
            )
            counts.deleted += result.rowcount

    async def sweep(
        self, conn: AsyncConnection, record_classes: Iterable[type[Record]], started: datetime
    ) -> int:
        """Soft-delete rows a completed full read did not see: core.sync.reconcile.sweep."""
        return await reconcile.sweep(
            conn, self.workspace_id, self.connection_id, record_classes, started
        )

    async def touch(
        self,
        conn: AsyncConnection,
        records: Sequence[AnyRecord],
        now: datetime,
        *,
        kept: Sequence[tuple[type[Record], str]] = (),
    ) -> int:
        """Mark a page's records, and ``kept`` ones not read again, as seen by this run:
        core.sync.reconcile.touch."""
        return await reconcile.touch(conn, self.connection_id, records, now, kept=kept)

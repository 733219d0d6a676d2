"""A full read's reconciliation: the rows it saw are stamped with the run's time
(:func:`touch`), and those it did not see are soft-deleted when it completes
(:func:`sweep`), with the maintained aggregates (daily rollups, customer stretches) kept in
the same transaction (core.metrics.rollup_deltas, core.metrics.stretch_refresh)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from core.metrics import rollup_deltas, stretch_refresh
from core.models import Deal, synced_table
from core.models.enums import DealStatus
from core.sqlwrite import among
from core.sync.records import AnyRecord, Record

#: Deals feed the maintained customer stretches; deals and activities the daily rollups.
_DEAL = "deal"
_ROLLED = ("deal", "activity")


async def sweep(
    conn: AsyncConnection,
    workspace_id: str,
    connection_id: str,
    record_classes: Iterable[type[Record]],
    started: datetime,
) -> int:
    """Soft-delete one connection's rows a completed full read did not see; returns how
    many. Only valid when every row seen by the read had its ``synced_at`` set at or after
    ``started`` (see :func:`touch`)."""
    total = 0
    for record_class in record_classes:
        table = synced_table(record_class.record_type)
        swept: set[stretch_refresh.CustomerRef] = set()
        if record_class.record_type == _DEAL:
            swept = await _customers_swept(conn, connection_id, started)
        emptied: list[int] = []
        if record_class.record_type in _ROLLED:  # taken away while the rows are live
            emptied = await conn.run_sync(
                rollup_deltas.take_swept,
                record_class.record_type,
                workspace_id,
                connection_id,
                started,
            )
        result = await conn.execute(
            update(table)
            .where(
                table.c.connection_id == connection_id,
                table.c.deleted_at.is_(None),
                table.c.synced_at < started,
            )
            .values(deleted_at=started)
        )
        total += result.rowcount
        if swept:
            await conn.run_sync(stretch_refresh.refresh, swept)
        if emptied:
            await conn.run_sync(rollup_deltas.drop_empty, record_class.record_type, emptied)
    return total


async def _customers_swept(
    conn: AsyncConnection, connection_id: str, started: datetime
) -> set[stretch_refresh.CustomerRef]:
    """The customers of the won deals a sweep is about to delete."""
    rows = await conn.execute(
        select(Deal.account_remote_id, Deal.contact_remote_id)
        .where(
            Deal.connection_id == connection_id,
            Deal.deleted_at.is_(None),
            Deal.synced_at < started,
            Deal.status == DealStatus.WON,
        )
        .distinct()
    )
    keys = (stretch_refresh.customer_of(account, contact) for account, contact in rows)
    return {(connection_id, key) for key in keys if key is not None}


@cache
def _touch_statement(dialect_name: str, table: Table) -> Any:
    """Built once per table: ``synced_at = :now`` for the connection's rows ``:ids`` not
    stamped since."""
    now = bindparam("now", type_=table.c.synced_at.type)
    return (
        update(table)
        .where(
            table.c.connection_id == bindparam("connection"),
            among(dialect_name, table.c.remote_id),
            table.c.synced_at < now,
        )
        .values(synced_at=now)
    )


async def touch(
    conn: AsyncConnection,
    connection_id: str,
    records: Sequence[AnyRecord],
    now: datetime,
    *,
    kept: Sequence[tuple[type[Record], str]] = (),
) -> int:
    """Mark a page's records, and ``kept`` ones not read again, as seen by this run (full
    reads that sweep afterwards); returns how many rows were stamped. The rows the page
    wrote already carry ``now``: only the others are written (a first load's every row
    was written a second time)."""
    by_table: dict[str, list[str]] = {}
    for record in records:
        if isinstance(record, Record):
            by_table.setdefault(record.record_type, []).append(record.remote_id)
    for record_class, remote_id in kept:
        by_table.setdefault(record_class.record_type, []).append(remote_id)
    stamped = 0
    for record_type, ids in by_table.items():
        statement = _touch_statement(conn.dialect.name, synced_table(record_type))
        params = {"connection": connection_id, "ids": ids, "now": now}
        stamped += (await conn.execute(statement, params)).rowcount
    return stamped


__all__ = ["sweep", "touch"]

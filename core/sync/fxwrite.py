"""The writer's exchange rates: a page's FX rate records upserted into ``fx_rates``, only
those new or changed (a re-sync of unchanged rates writes nothing, and the counts say so).

Not a synced table (no remote id, no soft deletion): a rate is keyed by its workspace,
currencies and day, and the last record of a key in a page wins.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncConnection

from core.models import FxRate
from core.sqlwrite import upsert
from core.sync.records import FxRateRecord

_FX_KEY = ("base_currency", "currency", "day")


def fx_rows(
    records: Iterable[FxRateRecord], *, workspace_id: str, connection_id: str, source: str
) -> list[dict[str, Any]]:
    """The rows of a page's FX rate records, one per key (the last one read wins)."""
    added = {"workspace_id": workspace_id, "connection_id": connection_id, "source": source}
    fx: dict[tuple[Any, ...], dict[str, Any]] = {}
    for record in records:
        key = (record.base_currency, record.currency, record.day)
        fx[key] = {"base_currency": key[0], "currency": key[1], "day": key[2],
                   "rate": record.rate, **added}  # fmt: skip
    return list(fx.values())


async def write_fx(
    conn: AsyncConnection, workspace_id: str, rows: list[dict[str, Any]]
) -> tuple[int, int, int]:
    """Upsert the rows that are new or whose rate changed; returns (inserted, updated,
    unchanged). One read of the stored rates of the rows' days, one upsert (one execution
    on PostgreSQL: core.db.upsert)."""
    table: Table = FxRate.__table__  # type: ignore[assignment]
    result = await conn.execute(
        select(table.c.base_currency, table.c.currency, table.c.day, table.c.rate).where(
            table.c.workspace_id == workspace_id,
            table.c.day.in_({row["day"] for row in rows}),
        )
    )
    stored = {(b, c, d): rate for b, c, d, rate in result}
    inserted = updated = unchanged = 0
    write = []
    for row in rows:
        old = stored.get((row["base_currency"], row["currency"], row["day"]))
        if old is None:
            inserted += 1
        elif old == row["rate"]:
            unchanged += 1
            continue
        else:
            updated += 1
        write.append(row)
    if write:
        await upsert(conn, table, write, conflict_columns=["workspace_id", *_FX_KEY])
    return inserted, updated, unchanged


__all__ = ["fx_rows", "write_fx"]

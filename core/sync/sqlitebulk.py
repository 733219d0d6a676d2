"""The SQLite fast path of the writer: one executemany on the driver with pre-bound values.

SQLAlchemy's executemany spends most of a batch's CPU building and processing parameters
row by row. Here the column types' own bind processors (the same conversions SQLAlchemy
applies, so stored values are identical) run in a tight loop over plain tuples, and the
statement goes to sqlite3's C-level executemany, inside the batch's transaction (the
driver connection is the one SQLAlchemy's transaction runs on).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncConnection

_Processors = list[tuple[int, Callable[[Any], Any]]]
_CACHE: dict[tuple[str, tuple[str, ...]], tuple[str, _Processors]] = {}


def _prepare(
    conn: AsyncConnection, table: Table, columns: tuple[str, ...]
) -> tuple[str, _Processors]:
    key = (table.name, columns)
    found = _CACHE.get(key)
    if found is not None:
        return found
    dialect = conn.dialect
    processors: _Processors = []
    for i, name in enumerate(columns):
        processor = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            processors.append((i, processor))
    quoted = [f'"{c}"' for c in columns]
    updates = ", ".join(
        f"{q} = excluded.{q}"
        for c, q in zip(columns, quoted, strict=True)
        if c not in ("connection_id", "remote_id")
    )
    sql = (
        f'INSERT INTO "{table.name}" ({", ".join(quoted)}) '
        f"VALUES ({', '.join('?' * len(columns))}) "
        f"ON CONFLICT (connection_id, remote_id) DO UPDATE SET {updates}"
    )
    _CACHE[key] = (sql, processors)
    return sql, processors


async def executemany_upsert(
    conn: AsyncConnection, table: Table, rows: Sequence[dict[str, Any]]
) -> None:
    """Upsert ``rows`` (same keys each, unique remote ids) on (connection_id, remote_id)."""
    columns = tuple(rows[0].keys())
    sql, processors = _prepare(conn, table, columns)
    params = []
    for row in rows:
        values = [row[c] for c in columns]
        for i, process in processors:
            values[i] = process(values[i])
        params.append(values)
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection
    if not driver.in_transaction:
        await conn.execute(text("SELECT 1"))
    await driver.executemany(sql, params)

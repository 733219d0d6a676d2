"""The PostgreSQL fast path of the writer: COPY a batch into a staging table, then one
``INSERT .. SELECT .. ON CONFLICT DO UPDATE .. WHERE <row differs> RETURNING`` per table.

Why: with SQLAlchemy's executemany most of a batch's CPU goes to per-value bind
processing; asyncpg's binary COPY encodes rows in C, and comparing with the stored row in
SQL (instead of reading it back into Python first) saves a round trip per table and batch.
Unchanged rows are left untouched (the WHERE clause), so a re-sync writes nothing; the
RETURNING ``xmax = 0`` flag tells inserted rows from updated ones for the run's counts.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncConnection

_JSON_COLUMNS = ("remote_data", "custom")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _upsert_sql(table: Table, stage: str, columns: Sequence[str]) -> str:
    cols = ", ".join(_quote(c) for c in columns)
    compared = [c for c in columns if c not in ("connection_id", "remote_id", "synced_at")]
    differs = " OR ".join(
        "(t.deleted_at IS NULL) IS DISTINCT FROM (excluded.deleted_at IS NULL)"
        if c == "deleted_at"
        else f"t.{_quote(c)} IS DISTINCT FROM excluded.{_quote(c)}"
        for c in compared
    )
    updates = ", ".join(
        # A row deleted again keeps the time it was first seen deleted.
        "deleted_at = CASE WHEN t.deleted_at IS NOT NULL AND excluded.deleted_at IS NOT NULL "
        "THEN t.deleted_at ELSE excluded.deleted_at END"
        if c == "deleted_at"
        else f"{_quote(c)} = excluded.{_quote(c)}"
        for c in columns
        if c not in ("connection_id", "remote_id")
    )
    staged = ", ".join(f"{_quote(c)}::jsonb" if c in _JSON_COLUMNS else _quote(c) for c in columns)
    return (
        f"INSERT INTO {_quote(table.name)} AS t ({cols}) SELECT {staged} FROM {stage} "
        f"ON CONFLICT (connection_id, remote_id) DO UPDATE SET {updates} "
        f"WHERE {differs} RETURNING (xmax = 0)"
    )


#: What orjson must hand to ``default=str`` like ``json.dumps`` does, for identical JSON.
_PASSTHROUGH = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def dumps(value: Any) -> str:
    """``json.dumps(value, default=str)``'s JSON, by orjson when it can (several times
    faster); anything orjson refuses (non-string keys, integers past 64 bits) by json."""
    try:
        return orjson.dumps(value, default=str, option=_PASSTHROUGH).decode()
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json.dumps(value, default=str)


def _encode(columns: Sequence[str], rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Rows with their JSON columns as text (staged as text, cast to jsonb by the upsert); a
    row whose value is None is passed on as it is. One comprehension per JSON column, each
    row rebuilt by slicing in C: a copy through a list per row cost as much as encoding its
    JSON."""
    for at in [i for i, c in enumerate(columns) if c in _JSON_COLUMNS]:
        after = at + 1
        rows = [
            row if row[at] is None else (*row[:at], dumps(row[at]), *row[after:]) for row in rows
        ]
    return rows


def stage_of(table: Table) -> str:
    """The temporary table a batch of ``table`` is copied into: it holds the batch's rows,
    with ``table``'s columns, until the transaction ends (the daily rollups sum them:
    core.sync.upsert)."""
    return f"_crmkpi_stage_{table.name}"


async def copy_upsert(
    conn: AsyncConnection, table: Table, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> tuple[int, int]:
    """Upsert ``rows`` (value tuples in ``columns`` order, unique remote ids); returns
    (inserted, updated)."""
    columns = list(columns)
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection
    if not driver.is_in_transaction():
        # SQLAlchemy begins the driver's transaction lazily, at its first statement: make
        # it begin now, so the COPY belongs to the batch's transaction.
        await conn.execute(text("SELECT 1"))
    stage = stage_of(table)
    # Rows are emptied at commit and vanish on rollback: the table is reused by the next
    # batch on this database connection.
    # JSON columns are staged as text, cast to jsonb by the INSERT (in PostgreSQL): asyncpg
    # encodes text in C, where each jsonb value costs a call of SQLAlchemy's Python codec
    # (a bytes concatenation and an encode; two JSON columns a row).
    staged = ", ".join(
        f"{_quote(c)}::text AS {_quote(c)}" if c in _JSON_COLUMNS else _quote(c) for c in columns
    )
    await driver.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS AS "
        f"SELECT {staged} FROM {_quote(table.name)} WITH NO DATA"
    )
    await driver.copy_records_to_table(stage, records=_encode(columns, rows), columns=columns)
    flags = await driver.fetch(_upsert_sql(table, stage, columns))
    inserted = sum(1 for (flag,) in flags if flag)
    return inserted, len(flags) - inserted

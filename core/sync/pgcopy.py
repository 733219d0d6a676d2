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
#: The column a batch's rows all share one value of: a parameter of the upsert.
_SHARED = "synced_at"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _upsert_sql(table: Table, stage: str, columns: Sequence[str], shared: str | None = None) -> str:
    """The upsert from ``stage`` (holding ``columns``); ``shared``, when given, is a
    timestamptz column set to the statement's one parameter for every row."""
    staged = [f"{_quote(c)}::jsonb" if c in _JSON_COLUMNS else _quote(c) for c in columns]
    if shared is not None:
        columns, staged = [*columns, shared], [*staged, "$1::timestamptz"]
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
    return (
        f"INSERT INTO {_quote(table.name)} AS t ({cols}) SELECT {', '.join(staged)} FROM {stage} "
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


def _encode(
    columns: Sequence[str], rows: list[tuple[Any, ...]], drop: int | None = None
) -> list[tuple[Any, ...]]:
    """Rows with their JSON columns as text (staged as text, cast to jsonb by the upsert)
    and without the value at index ``drop`` if given; a JSON value None is passed on as it
    is. One comprehension per JSON column, each row rebuilt by slicing in C (a copy through
    a list per row cost as much as encoding its JSON); dropping a column after the last
    JSON one happens in the same rebuild."""
    json_at = [i for i, c in enumerate(columns) if c in _JSON_COLUMNS]
    if drop is not None and len(json_at) == 2 and drop > json_at[1]:
        # The synced tables' layout: one rebuild per row instead of three (~0.8 us each).
        a, b = json_at
        a1, b1, end = a + 1, b + 1, drop + 1
        return [
            (
                *row[:a],
                None if row[a] is None else dumps(row[a]),
                *row[a1:b],
                None if row[b] is None else dumps(row[b]),
                *row[b1:drop],
                *row[end:],
            )
            for row in rows
        ]
    fused = drop is not None and bool(json_at) and drop > json_at[-1]
    for at in json_at[:-1] if fused else json_at:
        after = at + 1
        rows = [
            row if row[at] is None else (*row[:at], dumps(row[at]), *row[after:]) for row in rows
        ]
    if drop is not None:
        end = drop + 1
        if fused:
            at = json_at[-1]
            after = at + 1
            rows = [
                (
                    *row[:at],
                    None if row[at] is None else dumps(row[at]),
                    *row[after:drop],
                    *row[end:],
                )
                for row in rows
            ]
        else:
            rows = [row[:drop] + row[end:] for row in rows]
    return rows


def stage_of(table: Table) -> str:
    """The temporary table a batch of ``table`` is copied into: it holds the batch's rows,
    with ``table``'s columns, until the transaction ends (the daily rollups sum them:
    core.sync.upsert)."""
    return f"_crmkpi_stage_{table.name}"


async def copy_upsert(
    conn: AsyncConnection, table: Table, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> tuple[int, int]:
    """Upsert ``rows`` (value tuples in ``columns`` order, unique remote ids, one shared
    ``synced_at`` object); returns (inserted, updated)."""
    columns = list(columns)
    # synced_at, the same for a whole batch (the writer's ``now``), is one parameter of the
    # upsert instead of a timestamptz encoded per row (and is not staged).
    drop: int | None = None
    shared: Any = None
    if _SHARED in columns and rows:
        drop = columns.index(_SHARED)
        shared = rows[0][drop]
        if any(row[drop] is not shared for row in rows):
            raise ValueError(f"the rows of one batch must share one {_SHARED} value")
    records = _encode(columns, rows, drop)
    if drop is not None:
        del columns[drop]
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
    await driver.copy_records_to_table(stage, records=records, columns=columns)
    if drop is None:
        flags = await driver.fetch(_upsert_sql(table, stage, columns))
    else:
        flags = await driver.fetch(_upsert_sql(table, stage, columns, _SHARED), shared)
    inserted = sum(1 for (flag,) in flags if flag)
    return inserted, len(flags) - inserted

"""The PostgreSQL path of the writer: a table's records of a page reach the server as one
JSON document, are staged in a temporary table and upserted by one ``INSERT .. SELECT .. ON
CONFLICT DO UPDATE .. WHERE <row differs>`` (one statement, one round trip per table).

Why a JSON document: orjson encodes the record dataclasses in C, nested ``remote_data``
included, and the driver sends one text parameter. Binary COPY needed a tuple per record,
its JSON columns encoded to text, then every value of every row encoded by asyncpg (half
of the writer's CPU); the server now does the parsing (``json_to_recordset``). A page with
values JSON cannot carry as they are (integers past 64 bits, non-string keys, NaN) still
goes by binary COPY, with the same upsert. Comparing with the stored row in SQL (instead
of reading it back into Python first) leaves unchanged rows untouched, so a re-sync writes
nothing; ``xmax = 0`` tells inserted rows from updated ones for the run's counts.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from functools import cache
from math import isfinite
from typing import Any

import orjson
from sqlalchemy import Float, String, Table, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

from core.sync.batches import ADDED, TableBatch, fields_of

_JSON_COLUMNS = ("remote_data", "custom")
#: The column a batch's rows all share one value of: a parameter of the upsert.
_SHARED = "synced_at"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _upsert_sql(table: Table, source: str, columns: Sequence[str], shared: str | None) -> str:
    """The upsert of ``columns`` from ``source`` (a table or a CTE), ``RETURNING (xmax = 0)
    AS inserted`` for each row written; ``shared``, when given, is a timestamptz column set
    to the statement's parameter ``$1`` for every row. JSON columns are cast to jsonb (from
    the COPY's text; a no-op from the JSON document's jsonb)."""
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
        f"INSERT INTO {_quote(table.name)} AS t ({cols}) SELECT {', '.join(staged)} "
        f"FROM {source} ON CONFLICT (connection_id, remote_id) DO UPDATE SET {updates} "
        f"WHERE {differs} RETURNING (xmax = 0) AS inserted"
    )


def _counted(ctes: str, upsert: str) -> str:
    """``upsert`` reduced to one row: (rows inserted, rows written), not a flag per row."""
    return (
        f"WITH {ctes}written AS ({upsert}) "
        "SELECT count(*) FILTER (WHERE inserted), count(*) FROM written"
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
    """The temporary table a batch of ``table`` is staged in: it holds the batch's rows,
    with ``table``'s columns but ``synced_at`` (JSON columns as text, left NULL by the JSON
    document's path), until the transaction ends (the daily rollups sum them:
    core.sync.upsert)."""
    return f"_crmkpi_stage_{table.name}"


def _stage_ddl(table: Table, columns: Sequence[str]) -> str:
    """Create the stage on this database connection unless it exists: its rows are emptied
    at commit and it vanishes with a rolled back transaction that created it; the next
    batch on the connection reuses it. JSON columns are text: asyncpg encodes text in C,
    where each jsonb value costs a call of SQLAlchemy's Python codec."""
    staged = ", ".join(
        f"{_quote(c)}::text AS {_quote(c)}" if c in _JSON_COLUMNS else _quote(c) for c in columns
    )
    return (
        f"CREATE TEMP TABLE IF NOT EXISTS {stage_of(table)} ON COMMIT DELETE ROWS AS "
        f"SELECT {staged} FROM {_quote(table.name)} WITH NO DATA"
    )


def _staged_columns(fields: Sequence[str]) -> list[str]:
    """The stage's columns for a record class's ``fields``: all written but ``synced_at``."""
    return [*fields, *(c for c in ADDED if c != _SHARED)]


def _cast(table: Table, name: str, at: int) -> str:
    """The SQL reading field ``name`` from position ``at`` of a row array ``e`` (jsonb):
    JSON columns as jsonb (a JSON null as SQL NULL), text as text (the INSERT's assignment
    cast checks a varchar's length as COPY did), other values from their JSON text by
    their column's type (a Decimal's exact text, an ISO instant with its offset)."""
    if name in _JSON_COLUMNS:
        return f"NULLIF(e->{at}, 'null'::jsonb)"
    column_type = table.c[name].type
    if isinstance(column_type, String):
        return f"e->>{at}"
    dialect: Any = postgresql.dialect()  # type: ignore[no-untyped-call]
    return f"(e->>{at})::{column_type.compile(dialect)}"


@cache
def _json_sql(table: Table, fields: tuple[str, ...]) -> str:
    """The page's upsert from its JSON document (``$4``: an array of rows, each an array of
    ``fields`` then ``deleted``), with ``$1`` its ``synced_at`` (and ``deleted_at`` of the
    records read deleted), ``$2`` and ``$3`` its workspace and connection. The document
    is parsed once (jsonb: each value is then read by its position, not searched for), and
    its rows read once (a materialized CTE) into the stage and into the table."""
    columns = _staged_columns(fields)
    read = [f"{_cast(table, f, at)} AS {_quote(f)}" for at, f in enumerate(fields)]
    page = (
        f"SELECT {', '.join(read)}, $2::varchar AS workspace_id, $3::varchar AS connection_id, "
        f"CASE WHEN (e->>{len(fields)})::boolean THEN $1::timestamptz END AS deleted_at "
        "FROM jsonb_array_elements(convert_from($4::bytea, 'UTF8')::jsonb) AS e"
    )
    plain = ", ".join(_quote(c) for c in columns if c not in _JSON_COLUMNS)
    ctes = (
        f"page AS MATERIALIZED ({page}), "
        f"staged AS (INSERT INTO {stage_of(table)} ({plain}) SELECT {plain} FROM page), "
    )
    return _counted(ctes, _upsert_sql(table, "page", columns, _SHARED))


def _default(value: Any) -> str:
    """What orjson does not encode itself: a Decimal (its exact text); anything else is
    refused, and the batch takes the COPY path (:func:`dumps`' ``default=str``)."""
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError


_FLOATS: dict[type[Any], tuple[str, ...]] = {}


def _floats(batch: TableBatch, table: Table) -> list[Any]:
    """The batch's values of its float columns (JSON has no NaN or infinity)."""
    names = _FLOATS.get(batch.record_class)
    if names is None:
        fields = fields_of(batch.record_class)
        names = _FLOATS[batch.record_class] = tuple(
            f for f in fields if isinstance(table.c[f].type, Float)
        )
    return [value for row in batch.values(names) for value in row] if names else []


#: The largest JSON document sent at once: a page of big records is split (PostgreSQL
#: refuses a jsonb value past 256 MB, and the client and the server each hold a document
#: whole). A HubSpot page of 2,000 records is about 3 MB.
DOCUMENT_BYTES = 32 << 20


def _encoded(rows: list[tuple[Any, ...]]) -> list[bytes]:
    """``rows`` as JSON arrays, in documents of at most :data:`DOCUMENT_BYTES` (or of one
    row, whatever its size)."""
    document = orjson.dumps(rows, default=_default, option=orjson.OPT_NAIVE_UTC)
    if len(document) <= DOCUMENT_BYTES or len(rows) == 1:
        return [document]
    size = -(-len(rows) // (len(document) // DOCUMENT_BYTES + 1))
    return [part for at in range(0, len(rows), size) for part in _encoded(rows[at : at + size])]


def _documents(batch: TableBatch, table: Table) -> list[bytes] | None:
    """The batch's records as JSON documents, arrays of rows (a tuple per record, one C
    call, encoded by orjson in C: Decimals by their exact text, datetimes with their
    offset, naive ones as UTC); None when JSON cannot say every value as the COPY would
    store it: values orjson refuses (integers past 64 bits, non-string keys, lone
    surrogates, other types) or a float that is not finite (JSON would make it null)."""
    if any(v is not None and not isfinite(v) for v in _floats(batch, table)):
        return None
    try:
        return _encoded(batch.values((*fields_of(batch.record_class), "deleted")))
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return None


async def _json_upsert(
    conn: AsyncConnection, table: Table, batch: TableBatch, documents: list[bytes]
) -> tuple[int, int]:
    """Upsert the batch from its JSON documents: one parameter each, where binary COPY
    encoded every value of every row in asyncpg (the writer's largest cost), and the rows
    were built as tuples for it first. Through SQLAlchemy's connection: it begins the
    transaction and keeps the prepared statement."""
    fields = fields_of(batch.record_class)
    await conn.exec_driver_sql(_stage_ddl(table, _staged_columns(fields)))
    inserted = written = 0
    for document in documents:
        result = await conn.exec_driver_sql(
            _json_sql(table, fields),
            (batch.now, batch.workspace_id, batch.connection_id, document),
        )
        new, rows = result.one()
        inserted, written = inserted + new, written + rows
    return inserted, written - inserted


async def copy_upsert(
    conn: AsyncConnection, table: Table, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> tuple[int, int]:
    """Upsert ``rows`` (value tuples in ``columns`` order, unique remote ids, one shared
    ``synced_at`` object) by binary COPY into the stage; returns (inserted, updated)."""
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
    await driver.execute(_stage_ddl(table, columns))
    stage = stage_of(table)
    await driver.copy_records_to_table(stage, records=records, columns=columns)
    if drop is None:
        upsert = _counted("", _upsert_sql(table, stage, columns, None))
        inserted, written = await driver.fetchrow(upsert)
    else:
        upsert = _counted("", _upsert_sql(table, stage, columns, _SHARED))
        inserted, written = await driver.fetchrow(upsert, shared)
    return inserted, written - inserted


async def write_batch(conn: AsyncConnection, table: Table, batch: TableBatch) -> tuple[int, int]:
    """Upsert one table's records of a page and stage them (:func:`stage_of`); returns
    (inserted, updated). By JSON documents when orjson can encode them, else (rare:
    values JSON cannot hold as they are) by binary COPY of the rows."""
    documents = _documents(batch, table)
    if documents is not None:
        return await _json_upsert(conn, table, batch, documents)
    return await copy_upsert(conn, table, batch.columns, batch.rows())

"""The dialect-aware SQL the writers share: ``IN`` a bound list (:func:`among`), the ``ON
CONFLICT`` clause (:func:`on_conflict`) and the bulk upsert (:func:`upsert`), each built
once per shape and kept in SQLAlchemy's compiled cache. core.db re-exports them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    String,
    Table,
    any_,
    bindparam,
    func,
    insert,
    select,
    true,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from core.errors import ConfigurationError


def among(dialect_name: str, column: ColumnElement[str], name: str = "ids") -> ColumnElement[bool]:
    """``column IN :name`` for a text column, the values bound at execution (``{name:
    [...]}``). On PostgreSQL one array parameter (``= ANY(:name)``): an expanding IN is
    rendered again with a bound parameter per value at every execution, and the sync's
    writer passes a page's ids, thousands (a tenth of a Salesforce sync's CPU went to
    compiling them). On SQLite an expanding IN (its bound parameters are limited: callers
    pass at most a few thousand values)."""
    if dialect_name == "postgresql":
        return column == any_(bindparam(name, type_=postgresql.ARRAY(String)))
    return column.in_(bindparam(name, expanding=True))


def among_chunks(dialect_name: str, values: Iterable[str], size: int) -> list[list[str]]:
    """``values`` in the lists one :func:`among` binds per execution: all of them at once on
    PostgreSQL (one array; a filter, so neither order nor repeats matter), else distinct and
    sorted in chunks of ``size`` (SQLite's bound parameters are limited)."""
    if dialect_name == "postgresql":
        whole = list(values)
        return [whole] if whole else []
    ordered = sorted(set(values))
    return [ordered[at : at + size] for at in range(0, len(ordered), size)]


def on_conflict(target: Sequence[str], sets: Mapping[str, str]) -> str:
    """``ON CONFLICT (target) DO UPDATE SET name = sql, ...`` (``DO NOTHING`` without
    ``sets``), the same text for PostgreSQL and SQLite, from SQL already rendered (quoted
    names, ``excluded.<name>``, expressions). It is the suffix of an ``INSERT .. SELECT``:
    SQLAlchemy keeps such a statement in its compiled cache, where the dialects'
    ``on_conflict_do_update`` has no cache key and is compiled on every execution."""
    clause = f"ON CONFLICT ({', '.join(target)})"
    if not sets:
        return f"{clause} DO NOTHING"
    return f"{clause} DO UPDATE SET {', '.join(f'{k} = {v}' for k, v in sets.items())}"


_DIALECTS: dict[str, Any] = {"postgresql": postgresql.dialect, "sqlite": sqlite.dialect}


@lru_cache(maxsize=256)
def _upsert_statement(
    dialect_name: str,
    table: Table,
    keys: tuple[str, ...],
    conflict: tuple[str, ...],
    updates: tuple[str, ...],
) -> Any:
    """``INSERT INTO table (keys) SELECT :key, ... ON CONFLICT ..``, one per shape: only
    bound parameters, typed by their columns (so their values are processed as an INSERT's
    would be). The WHERE ends the FROM-less SELECT for SQLite, which would read ``ON`` as
    a join's."""
    if dialect_name not in _DIALECTS:
        raise ConfigurationError(f"upsert is not supported on {dialect_name}")
    quote = _DIALECTS[dialect_name]().identifier_preparer.quote
    suffix = on_conflict(
        [quote(c) for c in conflict], {quote(c): f"excluded.{quote(c)}" for c in updates}
    )
    values = select(*(bindparam(k, type_=table.c[k].type) for k in keys))
    return insert(table).from_select(
        list(keys), values.where(true()).suffix_with(suffix), include_defaults=False
    )


@lru_cache(maxsize=256)
def _array_upsert_statement(
    table: Table, keys: tuple[str, ...], conflict: tuple[str, ...], updates: tuple[str, ...]
) -> Any:
    """PostgreSQL: :func:`_upsert_statement` with each column's values bound as one array,
    unnested in step: one execution for all the rows, where an executemany ran the
    statement (its foreign key checks, its ON CONFLICT) once per row."""
    quote = postgresql.dialect().identifier_preparer.quote  # type: ignore[no-untyped-call]
    suffix = on_conflict(
        [quote(c) for c in conflict], {quote(c): f"excluded.{quote(c)}" for c in updates}
    )
    values = select(
        *(func.unnest(bindparam(k, type_=postgresql.ARRAY(table.c[k].type))).label(k) for k in keys)
    )
    return insert(table).from_select(
        list(keys), values.where(true()).suffix_with(suffix), include_defaults=False
    )


def _arrays_fit(table: Table, keys: Sequence[str], rows: Sequence[Mapping[str, Any]],
                conflict: Sequence[str]) -> bool:  # fmt: skip
    """Whether the rows can go as arrays: no JSON column (its values would need encoding
    one by one), and no two rows of one key (ON CONFLICT cannot update a row twice in one
    statement; an executemany updates it twice, the last row winning)."""
    if any(isinstance(table.c[k].type, JSON) for k in keys):
        return False
    return len({tuple(row[c] for c in conflict) for row in rows}) == len(rows)


def _defaults_missing(table: Table, keys: Sequence[str]) -> bool:
    """Whether a column the rows leave out has a Python-side default (an INSERT's values
    fill it per row; the cached statement leaves it to the database)."""
    return any(c.default is not None and c.name not in keys for c in table.c)


def _insert_for(dialect_name: str, table: Table) -> Any:
    if dialect_name == "postgresql":
        return postgresql.insert(table)
    if dialect_name == "sqlite":
        return sqlite.insert(table)
    raise ConfigurationError(f"upsert is not supported on {dialect_name}")


async def upsert(
    conn: AsyncConnection | AsyncSession,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    conflict_columns: Sequence[str],
    update_columns: Sequence[str] | None = None,
) -> int:
    """INSERT ... ON CONFLICT (conflict_columns) DO UPDATE for every row, in one executemany.

    ``update_columns`` defaults to every column the rows carry except the conflict key; an
    empty list means DO NOTHING. All rows must carry the same keys. Returns rows written.

    The statement has one row of bind parameters and is executed with the list of rows
    (executemany), where a multi-row ``.values()`` would grow with the batch. It is built
    once per shape and kept in SQLAlchemy's compiled cache (:func:`on_conflict`: the
    clause as a suffix), unless the rows leave out a column with a Python-side default:
    then the dialect's INSERT fills it per row, and is compiled on every call. On
    PostgreSQL, rows of distinct keys without JSON columns go as one array per column in
    one execution (:func:`_array_upsert_statement`).
    """
    if not rows:
        return 0
    dialect = (conn.bind if isinstance(conn, AsyncSession) else conn).dialect.name
    keys = list(rows[0].keys())
    if update_columns is None:
        update_columns = [k for k in keys if k not in conflict_columns]
    if _defaults_missing(table, keys):
        stmt = _insert_for(dialect, table)
        if update_columns:
            stmt = stmt.on_conflict_do_update(
                index_elements=list(conflict_columns),
                set_={c: stmt.excluded[c] for c in update_columns},
            )
        else:
            stmt = stmt.on_conflict_do_nothing(index_elements=list(conflict_columns))
    elif (
        dialect == "postgresql"
        and len(rows) > 1
        and _arrays_fit(table, keys, rows, conflict_columns)
    ):
        stmt = _array_upsert_statement(
            table, tuple(keys), tuple(conflict_columns), tuple(update_columns)
        )
        await conn.execute(stmt, {k: [row[k] for row in rows] for k in keys})
        return len(rows)
    else:
        stmt = _upsert_statement(
            dialect, table, tuple(keys), tuple(conflict_columns), tuple(update_columns)
        )
    await conn.execute(stmt, [dict(row) for row in rows])
    return len(rows)

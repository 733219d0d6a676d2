"""Keeps the daily rollups by adding a page's signed contribution (core.metrics.rollup_refresh
recomputes whole days instead: right for a few rows, slow for a first load whose pages each
touch hundreds of days).

The contribution of a set of base rows is :func:`core.metrics.rollup_rules.rollup_rows`
restricted to them: the same rule, so no second statement of what a row sums. The sync's
writer reads the contribution of the page's stored rows before writing (:func:`contribution`),
the one of the written rows after, and :func:`apply` adds the difference to the day rows of
the keys it changed: rows updated, inserted, or deleted when their count reaches zero (a
sum whose count is zero is NULL, as the rule's SUM of no values). Only the rows of those
keys are read, whatever the number of rows the days already hold.

The workspace's row is locked (:func:`core.metrics.rollup_refresh.timezone_of`) before the
stored contribution is read and until commit: a transaction writing the same rows meanwhile
would otherwise make it stale (its write is then counted from what it replaced).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import Enum
from typing import Any

from sqlalchemy import String, bindparam, cast, delete, func, insert, select, union_all, update
from sqlalchemy.engine import Connection

from core.metrics.rollup_rules import (
    ACTIVITY_COLUMNS,
    ACTIVITY_KINDS,
    DEAL_COLUMNS,
    DEAL_KINDS,
    rollup_rows,
)
from core.models import Activity, ActivityDay, Deal, DealDay

#: A rollup row's key (workspace, connection, kind, day, dimensions) and its sums.
Key = tuple[Any, ...]
Sums = dict[Key, list[Any]]

#: The key columns of each rollup (the others are sums).
_KEYS = {"deal": 10, "activity": 6}
#: Sums that are NULL when their count is zero: (sum column, count column).
_COUNTED = {
    "deal": (
        ("amount", "amount_n"),
        ("cycle_seconds", "cycle_n"),
        ("margin", "margin_n"),
        ("margin_revenue", "margin_n"),
    ),
    "activity": (),
}
#: The count column: a row summing no record is deleted.
_ROWS = {"deal": "deals", "activity": "activities"}
#: Remote ids per contribution statement.
_IDS = 500
#: Keys per statement reading rollup rows.
_KEYS_PER_READ = 500
#: Stands for a NULL dimension in a key compared with IN; separates a key's parts.
_NULL = "\x01null"
_SEP = "\x1f"


def _text(value: Any) -> str:
    """A key part as the database's text of it."""
    if value is None:
        return _NULL
    return str(value.value if isinstance(value, Enum) else value)


def _columns(record_type: str) -> tuple[str, ...]:
    return DEAL_COLUMNS if record_type == "deal" else ACTIVITY_COLUMNS


def _model(record_type: str) -> Any:
    return DealDay if record_type == "deal" else ActivityDay


def _table(record_type: str) -> Any:
    return _model(record_type).__table__


def contribution(
    conn: Connection,
    record_type: str,
    workspace_id: str,
    connection_id: str,
    remote_ids: Iterable[str],
) -> Sums:
    """The rollup rows the live base rows of ``remote_ids`` (one connection) make up, as
    stored now."""
    base: Any = Deal if record_type == "deal" else Activity
    model = _model(record_type)
    kinds = DEAL_KINDS if record_type == "deal" else ACTIVITY_KINDS
    split = _KEYS[record_type]
    out: Sums = {}
    ids = sorted(set(remote_ids))
    for at in range(0, len(ids), _IDS):
        chunk = ids[at : at + _IDS]
        statement = union_all(
            *(
                rollup_rows(model, kind, [workspace_id]).where(
                    base.connection_id == connection_id, base.remote_id.in_(chunk)
                )
                for kind in kinds
            )
        )
        for row in conn.execute(statement):
            _add(out, tuple(row[:split]), list(row[split:]), 1)
    return out


def _add(into: Sums, key: Key, sums: Sequence[Any], sign: int) -> None:
    current = into.get(key)
    if current is None:
        current = into[key] = [None] * len(sums)
    for i, value in enumerate(sums):
        if value is None:
            continue
        held = current[i] or 0
        if isinstance(held, float) or isinstance(value, float):
            # Float columns (cycle seconds) come back as floats or, computed, as decimals.
            held, value = float(held), float(value)
        current[i] = held + sign * value


def difference(before: Sums, after: Sums) -> Sums:
    """``after - before`` for every key of either, without the keys left unchanged."""
    out: Sums = {}
    for key, sums in after.items():
        _add(out, key, sums, 1)
    for key, sums in before.items():
        _add(out, key, sums, -1)
    return {k: v for k, v in out.items() if any(x for x in v)}


def apply(conn: Connection, record_type: str, delta: Sums) -> None:
    """Add ``delta`` to the stored rollup rows of its keys (the caller holds the lock)."""
    if not delta:
        return
    model = _table(record_type).c
    table = _table(record_type)
    columns = _columns(record_type)
    split = _KEYS[record_type]
    key_names, sum_names = columns[:split], columns[split:]
    keys = sorted(delta, key=repr)
    stored: dict[Key, tuple[int, list[Any]]] = {}
    # The keys' rows, matched on one text of (kind, day, dimensions), NULL as a sentinel: one
    # statement shape whatever the keys (an OR of the keys was compiled anew every page),
    # an IN of scalars the databases hash (an IN of tuples is compared key by key with every
    # row of the days), the index on (workspace, kind, day) narrowed by the kinds and days.
    # A dimension equal to the sentinel would only read a row more: keys are compared below.
    text_key: Any = model.kind
    for column in (cast(model.day, String), *(model[n] for n in key_names[4:])):
        text_key = text_key + _SEP + func.coalesce(column, _NULL)
    for at in range(0, len(keys), _KEYS_PER_READ):
        chunk = keys[at : at + _KEYS_PER_READ]
        first = chunk[0]
        query = select(model.id, *(model[n] for n in columns)).where(
            model.workspace_id == first[0],
            model.connection_id == first[1],
            model.kind.in_(sorted({k[2] for k in chunk})),
            model.day.in_(sorted({k[3] for k in chunk})),
            text_key.in_([_SEP.join(map(_text, k[2:])) for k in chunk]),
        )
        for row_id, *found in conn.execute(query):
            stored[tuple(found[:split])] = (row_id, list(found[split:]))
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    deletes: list[int] = []
    for key in keys:
        row_id, sums = stored.get(key, (None, [None] * len(sum_names)))
        merged = {key: list(sums)}
        _add(merged, key, delta[key], 1)
        values = dict(zip(sum_names, merged[key], strict=True))
        for total, count in _COUNTED[record_type]:
            if not values[count]:
                values[total] = None
        if not values[_ROWS[record_type]]:
            if row_id is not None:
                deletes.append(row_id)
            continue
        for name in sum_names:
            if values[name] is None and name not in dict(_COUNTED[record_type]):
                values[name] = 0
        if row_id is None:
            inserts.append(dict(zip(key_names, key, strict=True)) | values)
        else:
            updates.append({"row_id": row_id} | {f"v_{n}": values[n] for n in sum_names})
    if deletes:
        conn.execute(delete(table).where(model.id.in_(deletes)))
    if updates:
        conn.execute(
            update(table)
            .where(model.id == bindparam("row_id"))
            .values({n: bindparam(f"v_{n}") for n in sum_names}),
            updates,
        )
    if inserts:
        conn.execute(insert(table), inserts)


__all__ = ["Sums", "apply", "contribution", "difference"]

"""Keeps the daily rollups by adding the contribution of the rows a sync writes, in SQL
(core.metrics.rollup_refresh recomputes whole days instead: right for a few rows, slow for a
first load whose pages each touch hundreds of days).

The contribution of a set of base rows is :func:`core.metrics.rollup_rules.rollup_rows`
restricted to them: the same rule, so no second statement of what a row sums. It is added
to the rollup tables by one ``INSERT .. SELECT <rule> .. ON CONFLICT (key) DO UPDATE``
statement per record type (:func:`add`; the key: core.models.rollups.key_of): negated for
the changed rows as stored before a write, as they are for them as written after it. The
rollup rows whose count reached zero are then deleted (:func:`drop_empty`), and a sum whose
count is zero is NULL, as the rule's SUM of no values. Nothing of the rows is read into
Python but their states, which say which rows of a page change what the rollups read
(:func:`before_write`): a re-sync of unchanged rows adds nothing, and rows not stored yet (a
first load) have nothing to take away.

The workspace's row is locked (:func:`core.metrics.rollup_refresh.timezone_of`) before the
stored rows are read and until commit: a transaction writing the same rows meanwhile would
otherwise make what is taken away stale (parallel pages of one connection's streams).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    String,
    bindparam,
    case,
    column,
    delete,
    func,
    insert,
    literal_column,
    null,
    select,
    true,
    union_all,
)
from sqlalchemy import (
    table as sql_table,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from core.metrics.rollup_refresh import MODELS, STATES, State, state_of, timezone_of
from core.metrics.rollup_rules import (
    ACTIVITY_COLUMNS,
    ACTIVITY_KINDS,
    DEAL_COLUMNS,
    DEAL_KINDS,
    rollup_rows,
)
from core.models import ActivityDay, DealDay
from core.models.rollups import key_of
from core.sqlwrite import among, among_chunks, on_conflict

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
#: The count column of each rollup: its key columns come before it.
_ROWS = {"deal": "deals", "activity": "activities"}
#: The dialects the ON CONFLICT clause is written for.
_DIALECTS = {"postgresql": postgresql.dialect, "sqlite": sqlite.dialect}
#: Ids per statement on SQLite (its bound parameters are limited); PostgreSQL binds a page's
#: ids as one array: one statement per page, whose rows are summed together.
_IDS = 500


def _model(record_type: str) -> type[DealDay] | type[ActivityDay]:
    return DealDay if record_type == "deal" else ActivityDay


def _on_conflict(dialect: Any, record_type: str) -> str:
    """``ON CONFLICT (key) DO UPDATE`` adding the inserted sums to the stored row's; a sum
    whose count becomes zero is NULL. No bound parameters: it is appended as text."""
    model = _model(record_type)
    table: Any = model.__table__
    columns = DEAL_COLUMNS if record_type == "deal" else ACTIVITY_COLUMNS
    sums = columns[columns.index(_ROWS[record_type]) :]
    zero: Any = literal_column("0")
    stored, added = table.c, table.alias("excluded").c
    updates: dict[str, Any] = {c: stored[c] + added[c] for c in sums}
    for total, count in _COUNTED[record_type]:
        updates[total] = case(
            (stored[count] + added[count] == zero, null()),
            else_=func.coalesce(stored[total], zero) + func.coalesce(added[total], zero),
        )

    def sql(element: Any, **kw: Any) -> str:
        return str(element.compile(dialect=dialect, compile_kwargs=kw))

    key = [sql(e, include_table=False) for e in key_of(model)]
    return on_conflict(key, {name: sql(value) for name, value in updates.items()})


#: Where the rows a statement sums come from: the connection's base rows of ``:ids``, or
#: the live ones not seen since ``:started`` (a sweep); any other value names a table with
#: the base table's columns holding the rows just written (their ``:ids``).
_IDS_SOURCE = "ids"
_SWEPT_SOURCE = "swept"


def _source(dialect_name: str, record_type: str, rows_from: str) -> Any:
    """The rows a statement sums, with the columns the rule reads, as a CTE: read once for
    every kind (an index probe per id, not one per id and kind)."""
    base: Any = MODELS[record_type].__table__
    names = ("workspace_id", "connection_id", *STATES[record_type])
    if rows_from in (_IDS_SOURCE, _SWEPT_SOURCE):
        rows, where = base, [base.c.connection_id == bindparam("connection_id")]
    else:
        types = {n: base.c[n].type for n in ("remote_id", *names)}
        rows, where = sql_table(rows_from, *(column(n, t) for n, t in types.items())), []
    if rows_from == _SWEPT_SOURCE:
        where += [rows.c.deleted_at.is_(None), rows.c.synced_at < bindparam("started")]
    else:
        where.append(among(dialect_name, rows.c.remote_id))
    return select(*(rows.c[n] for n in names)).where(*where).cte("page_rows")


@cache
def _add_statement(dialect_name: str, record_type: str, sign: int, rows_from: str) -> Any:
    """``INSERT .. SELECT`` the rule's rows of some base rows (:func:`_source`), sums times
    ``sign``, ``ON CONFLICT`` adding them to the stored row of their key. Built once per
    shape: bound parameters only.

    The ON CONFLICT clause is the SELECT's suffix, not SQLAlchemy's dialect ``Insert
    .on_conflict_do_update``: that construct has no cache key, and compiling this statement
    for every page cost about 20 ms."""
    model = _model(record_type)
    columns = DEAL_COLUMNS if record_type == "deal" else ACTIVITY_COLUMNS
    split = columns.index(_ROWS[record_type])
    source = _source(dialect_name, record_type, rows_from)
    kinds = DEAL_KINDS if record_type == "deal" else ACTIVITY_KINDS
    zone = bindparam("timezone", type_=String)  # the locked workspace's: no join per row
    rows = union_all(
        *(rollup_rows(model, kind, None, source=source, timezone=zone) for kind in kinds)
    )
    summed = rows.subquery()
    signed = [summed.c[c] if sign > 0 else (-summed.c[c]).label(c) for c in columns[split:]]
    # The WHERE also ends the FROM for SQLite, which would read ``ON`` as a join's.
    chosen_rows = (
        select(*(summed.c[c] for c in columns[:split]), *signed)
        .where(true())
        .suffix_with(_on_conflict(_DIALECTS[dialect_name](), record_type))
    )
    table: Any = model.__table__
    statement = insert(table).from_select(list(columns), chosen_rows)
    if sign < 0:  # the rows taken from, to delete those left empty
        statement = statement.returning(table.c.id, table.c[_ROWS[record_type]])
    return statement


def add(
    conn: Connection,
    record_type: str,
    connection_id: str,
    sign: int,
    timezone: str,
    *,
    ids: Sequence[str] = (),
    written_in: str | None = None,
    swept_before: datetime | None = None,
) -> list[int]:
    """Add to the rollups the contribution of one connection's live rows ``ids`` (read from
    ``written_in`` when given: a table holding the rows just written, with the base table's
    columns), or of those a sweep deletes (not seen since ``swept_before``), times ``sign``.
    Returns, when taking away, the rollup rows left empty (for :func:`drop_empty`). The
    caller holds the workspace's lock, and read its ``timezone`` under it."""
    rows_from = _SWEPT_SOURCE if swept_before is not None else written_in or _IDS_SOURCE
    statement = _add_statement(conn.dialect.name, record_type, sign, rows_from)
    calls: list[dict[str, Any]] = []
    if swept_before is not None:
        calls.append({"started": swept_before})
    else:
        calls += [{"ids": chunk} for chunk in among_chunks(conn.dialect.name, ids, _IDS)]
    emptied: list[int] = []
    for params in calls:
        params["timezone"] = timezone
        if written_in is None:
            params["connection_id"] = connection_id
        result = conn.execute(statement, params)
        if sign < 0:
            emptied += [row_id for row_id, count in result if count == 0]
    return emptied


def drop_empty(conn: Connection, record_type: str, row_ids: Sequence[int]) -> None:
    """Delete the rollup rows among ``row_ids`` (left empty by taking away) that still sum
    no row (adding the written rows may have filled them again)."""
    table: Any = _model(record_type).__table__
    count = table.c[_ROWS[record_type]]
    for at in range(0, len(row_ids), _IDS):
        chunk = row_ids[at : at + _IDS]
        conn.execute(delete(table).where(table.c.id.in_(chunk), count == 0))


@cache
def _stored_states_query(dialect_name: str, record_type: str) -> Any:
    """Built once per shape: bound parameters only."""
    table: Any = MODELS[record_type].__table__
    columns = [table.c[name] for name in STATES[record_type]]
    return select(table.c.remote_id, *columns).where(
        table.c.connection_id == bindparam("connection_id"),
        among(dialect_name, table.c.remote_id),
    )


def stored_states(
    conn: Connection, record_type: str, connection_id: str, ids: Collection[str]
) -> dict[str, State]:
    """What the rollups read of one connection's stored rows among ``ids``, by remote id."""
    query = _stored_states_query(conn.dialect.name, record_type)
    states: dict[str, State] = {}
    for chunk in among_chunks(conn.dialect.name, ids, _IDS):
        params = {"connection_id": connection_id, "ids": chunk}
        for remote_id, *values in conn.execute(query, params):
            states[remote_id] = state_of(values)
    return states


@dataclass(frozen=True, slots=True)
class Pending:
    """The rows of one record type whose write changes what the rollups read: ``live``, those
    the page leaves live, are added once written; ``emptied``: the rollup rows that taking
    away the stored ones left empty; ``timezone``: the workspace's, read under its lock."""

    record_type: str
    live: list[str]
    emptied: list[int]
    timezone: str


def written_states(
    rows: Iterable[Sequence[Any]], deleted: Iterable[str]
) -> dict[str, State | None]:
    """What the rollups read of a page's rows of one record type as written, by remote id;
    None for the ``deleted`` ones. Each of ``rows`` is a remote id then the row's
    :data:`State` (its STATES values, the deletion reduced to whether it is set: a record's
    ``deleted``), as one flat tuple: it is sliced, not rebuilt value by value."""
    states: dict[str, State | None] = {row[0]: tuple(row[1:]) for row in rows}
    states.update((remote_id, None) for remote_id in deleted)
    return states


def _live(state: State | None) -> bool:
    return state is not None and not state[-1]


def _changes(stored: State | None, written: State | None) -> bool:
    if written is None:  # soft-deleted by the page
        return _live(stored)
    return stored != written


@dataclass(frozen=True, slots=True)
class Before:
    """What :func:`before_write` did: the rows to add once written (:func:`after_write`),
    and the ids it found stored, by record type (the writer checks its upsert with them)."""

    pending: list[Pending]
    found: dict[str, set[str]]


def before_write(
    conn: Connection,
    workspace_id: str,
    connection_id: str,
    written: Mapping[str, Mapping[str, State | None]],
    stored_ids: Mapping[str, Collection[str]],
) -> Before:
    """Before a page's write: lock the workspace's row, find which of the page's rows
    (``written``: by record type, each row's state as written, None when the page deletes
    it) change what the rollups read, and take away the contribution of those stored.
    ``stored_ids`` may say, by record type, which rows can be stored at all (the lifecycle's
    read of the page's deals, the rows of a first load the writer knows are new): the
    others are not read, a first load's pages read nothing."""
    before = Before([], {})
    pending = before.pending
    if not any(written.values()):
        return before
    zone = timezone_of(conn, workspace_id, lock=True)
    for record_type, states in written.items():
        known = stored_ids.get(record_type)
        candidates = list(states) if known is None else [i for i in states if i in known]
        stored = stored_states(conn, record_type, connection_id, candidates) if candidates else {}
        before.found[record_type] = set(stored)
        if stored:
            changed = [i for i, state in states.items() if _changes(stored.get(i), state)]
            taken = [i for i in changed if _live(stored.get(i))]
        else:  # nothing stored (a first load): every row written is a change, none taken
            changed, taken = [i for i, state in states.items() if state is not None], []
        emptied = add(conn, record_type, connection_id, -1, zone, ids=taken) if taken else []
        live = [i for i in changed if _live(states[i])]
        if live or emptied:
            pending.append(Pending(record_type, live, emptied, zone))
    return before


def after_write(
    conn: Connection,
    connection_id: str,
    pending: Sequence[Pending],
    written_in: Mapping[str, str],
) -> None:
    """After a page's write: add the contribution of its changed live rows, read from the
    table ``written_in`` names for their record type if any (a table holding the rows just
    written: PostgreSQL's staged copy of the page; its few rows are read whatever the
    planner's statistics, where the base table's could be read whole), else from the base
    table. Then delete the rows that reached zero."""
    for page in pending:
        source = written_in.get(page.record_type)
        zone = page.timezone
        add(conn, page.record_type, connection_id, 1, zone, ids=page.live, written_in=source)
        drop_empty(conn, page.record_type, page.emptied)


def take_swept(
    conn: Connection, record_type: str, workspace_id: str, connection_id: str, started: datetime
) -> list[int]:
    """Before a sweep soft-deletes one connection's rows not seen since ``started``: lock
    the workspace's row and take their contribution away. Returns the rollup rows left
    empty (to :func:`drop_empty`: it deletes them)."""
    zone = timezone_of(conn, workspace_id, lock=True)
    return add(conn, record_type, connection_id, -1, zone, swept_before=started)


__all__ = [
    "Before",
    "Pending",
    "State",
    "add",
    "after_write",
    "before_write",
    "drop_empty",
    "stored_states",
    "take_swept",
    "written_states",
]

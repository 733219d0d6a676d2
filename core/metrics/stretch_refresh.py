"""Keeps ``customer_stretches`` equal to the stretches computed from the deals.

Every write of deals refreshes, in the same transaction, the stretches of the customers
those deals belonged to before the write and belong to after it (a deal moved to another
account changes two customers): their rows are deleted and recomputed from their won deals
with :func:`core.metrics.stretches.computed_stretches`, the one statement of the rule, so the
table cannot drift from what the metrics would compute. A change of a workspace's timezone or
inactivity days moves every day, so the workspace is rebuilt.

Writers reach this in two ways: the sync's writer (core.sync.upsert, Core statements and
COPY) reads the :func:`stored_states` of a page's deals before writing it and refreshes the
:func:`changed_customers` after (an unchanged re-sync, an amount or stage edit, an open deal
refresh nothing), and ORM flushes of deals or workspaces (tests, admin paths) are caught by
:func:`_after_flush`. An ORM bulk UPDATE or DELETE of deals (or an UPDATE of a
workspace's timezone or inactivity days) run by a session skips the flush: :func:`_bulk_write`
refreshes what it touched. Core statements on the deals table outside the sync's writer
are refused by a test (tests/core/metrics/test_stretch_bulk_writes.py).
The functions take a synchronous connection; async callers use ``run_sync``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from typing import Any

from sqlalchemy import Result, and_, bindparam, delete, event, insert, inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction
from sqlalchemy.orm.base import NO_VALUE

from core.metrics.stretches import computed_stretches
from core.models import CustomerStretch, Deal, Workspace
from core.models.enums import DealStatus
from core.sqlwrite import among, among_chunks

#: (connection id, customer key ``a:<account>`` / ``c:<contact>``)
CustomerRef = tuple[str, str]

#: Customers refreshed per statement: small enough for any bound-parameter limit.
CHUNK = 500

#: The stored columns of a customer stretch, in the order the refresh writes them.
STRETCH_COLUMNS = (
    "workspace_id",
    "connection_id",
    "customer",
    "account_remote_id",
    "source",
    "owner_remote_id",
    "pipeline_remote_id",
    "start_day",
    "end_day",
    "prev_end_day",
)


def customer_of(account_remote_id: str | None, contact_remote_id: str | None) -> str | None:
    """The customer key of a deal's account and contact (None: no customer)."""
    if account_remote_id is not None:
        return f"a:{account_remote_id}"
    if contact_remote_id is not None:
        return f"c:{contact_remote_id}"
    return None


#: The deal columns the lifecycle reads. A write that changes none of them on a won deal
#: (an amount, a stage, an open deal) leaves every stretch as it was: nothing to refresh.
LIFECYCLE_COLUMNS = (
    "account_remote_id",
    "contact_remote_id",
    "status",
    "closed_at",
    "contract_start",
    "contract_end",
    "recurring_amount",
    "source",
    "owner_remote_id",
    "pipeline_remote_id",
    "deleted_at",
)
#: A deal as the lifecycle sees it: LIFECYCLE_COLUMNS, the recurring amount and the
#: deletion time reduced to whether they are set.
DealState = tuple[Any, ...]


def deal_state(values: Sequence[Any]) -> DealState:
    """The :data:`DealState` of a deal's values in :data:`LIFECYCLE_COLUMNS` order."""
    *head, recurring, source, owner, pipeline, deleted_at = values
    return (*head, recurring is not None, source, owner, pipeline, deleted_at is not None)


#: What :func:`written_states` reads of a record: its id, the lifecycle's columns, then
#: its ``deleted`` flag where the row has ``deleted_at``.
WRITTEN_FIELDS = ("remote_id", *LIFECYCLE_COLUMNS[:-1], "deleted")


def written_states(rows: Iterable[Sequence[Any]]) -> dict[str, DealState]:
    """The :data:`DealState` of records as written, by remote id, from their
    :data:`WRITTEN_FIELDS` values: :func:`deal_state` in one comprehension (a call and two
    unpackings per deal cost more than the rest of a page's lifecycle check)."""
    return {r[0]: (*r[1:7], r[7] is not None, r[8], r[9], r[10], bool(r[11])) for r in rows}


def deleted_state(state: DealState) -> DealState:
    return (*state[:-1], True)


def _counted(state: DealState) -> bool:
    """Whether the deal is one the stretches are computed from (won, not deleted)."""
    return state[2] == DealStatus.WON and not state[-1]


@cache
def _stored_states_query(dialect_name: str) -> Any:
    """Built once per dialect: only bound parameters (the page's ids as one array on
    PostgreSQL, not an expanding IN compiled anew for every chunk)."""
    columns = [Deal.__table__.c[name] for name in LIFECYCLE_COLUMNS]
    return select(Deal.remote_id, *columns).where(
        Deal.connection_id == bindparam("connection_id"),
        among(dialect_name, Deal.__table__.c.remote_id),
    )


def stored_states(
    conn: Connection, connection_id: str, remote_ids: Iterable[str]
) -> dict[str, DealState]:
    """The stored deals of one connection among ``remote_ids``, by remote id (the sync's
    writer plans its transaction's statements for the tables as they are: see
    core.sync.upsert.RecordWriter.write_page)."""
    states: dict[str, DealState] = {}
    query = _stored_states_query(conn.dialect.name)
    for chunk in among_chunks(conn.dialect.name, remote_ids, CHUNK):
        params = {"connection_id": connection_id, "ids": chunk}
        for remote_id, *values in conn.execute(query, params):
            states[remote_id] = deal_state(values)
    return states


def changed_customers(
    connection_id: str, before: Mapping[str, DealState], after: Mapping[str, DealState]
) -> set[CustomerRef]:
    """The customers whose stretches a write may have changed: those of every counted deal
    (before or after) whose lifecycle columns changed."""
    refs: set[CustomerRef] = set()
    for remote_id, new in after.items():
        old = before.get(remote_id)
        if old == new:
            continue
        for state in (old, new):
            if state is not None and _counted(state):
                key = customer_of(state[0], state[1])
                if key is not None:
                    refs.add((connection_id, key))
    return refs


def _insert_from(stretches: Any) -> Any:
    return insert(CustomerStretch).from_select(
        list(STRETCH_COLUMNS), select(*(stretches.c[name] for name in STRETCH_COLUMNS))
    )


def _insert_computed(conn: Connection, stretches: Any) -> None:
    conn.execute(_insert_from(stretches))


@cache
def _refresh_statements(dialect_name: str, kind: str) -> tuple[Any, Any]:
    """The DELETE and INSERT refreshing some customers of one connection, all accounts
    (``kind`` ``a:``) or all contacts (``c:``), built once per shape: parameters
    ``connection_id``, ``customers`` (their keys) and ``keys`` (the keys without their
    prefix). Each kind's deals are found by its own index: an account's by (connection,
    account), a contact's by (connection, contact) among deals without an account; with
    bound parameters (one array on PostgreSQL), where a statement of literal lists was built
    and compiled again for every page."""
    table: Any = CustomerStretch.__table__
    gone = delete(table).where(
        table.c.connection_id == bindparam("connection_id"),
        among(dialect_name, table.c.customer, "customers"),
    )
    deals: Any = Deal.__table__
    if kind == "c:":
        where = and_(
            deals.c.connection_id == bindparam("connection_id"),
            deals.c.account_remote_id.is_(None),
            among(dialect_name, deals.c.contact_remote_id, "keys"),
        )
    else:
        where = and_(
            deals.c.connection_id == bindparam("connection_id"),
            among(dialect_name, deals.c.account_remote_id, "keys"),
        )
    return gone, _insert_from(computed_stretches(None, where))


def refresh(conn: Connection, refs: Iterable[CustomerRef]) -> None:
    """Recompute the stretches of these customers from their deals: accounts and contacts
    in separate statements, each found by its own index."""
    groups: dict[tuple[str, str], set[str]] = {}
    for connection_id, customer in refs:
        groups.setdefault((connection_id, customer[:2]), set()).add(customer)
    dialect = conn.dialect.name
    for (connection_id, kind), customers in sorted(groups.items()):
        if kind not in ("a:", "c:"):
            raise ValueError(f"not a customer key: {kind!r}")
        gone, computed = _refresh_statements(dialect, kind)
        for chunk in among_chunks(dialect, customers, CHUNK):
            conn.execute(gone, {"connection_id": connection_id, "customers": chunk})
            params = {"connection_id": connection_id, "keys": [key[2:] for key in chunk]}
            conn.execute(computed, params)


def rebuild(conn: Connection, workspace_ids: Sequence[str]) -> None:
    """Recompute every stretch of these workspaces (a settings change, a bulk load)."""
    conn.execute(delete(CustomerStretch).where(CustomerStretch.workspace_id.in_(workspace_ids)))
    _insert_computed(conn, computed_stretches(workspace_ids))


def rebuild_all(conn: Connection) -> None:
    """Recompute every stretch of every workspace (the migration that adds the table)."""
    conn.execute(delete(CustomerStretch))
    _insert_computed(conn, computed_stretches(None))


_LIFECYCLE_SETTINGS = ("timezone", "inactivity_days")


def _changed(obj: Any, names: Iterable[str]) -> bool:
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in names)


def _flushed_refs(obj: Deal, *, deleted: bool = False) -> set[CustomerRef]:
    """The customers a flushed deal belongs to, before and after the flush. A deleted
    row cannot be loaded again: only what the session holds of it is read."""
    state = inspect(obj)
    refs: set[CustomerRef] = set()
    for side in ("current", "before"):
        values = []
        for name in ("connection_id", "account_remote_id", "contact_remote_id"):
            attr = state.attrs[name]
            if side == "current":
                value = attr.loaded_value if deleted else attr.value
                values.append(None if value is NO_VALUE else value)
            else:
                history = attr.history
                old = history.deleted or history.unchanged or history.added
                values.append(old[0] if old else None)
        connection_id, account, contact = values
        key = customer_of(account, contact)
        if connection_id is not None and key is not None:
            refs.add((connection_id, key))
    return refs


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, flush: UOWTransaction) -> None:
    """Refresh the stretches a flush of deals (or of a workspace's lifecycle settings)
    changed, in the flush's own transaction."""
    refs: set[CustomerRef] = set()
    workspaces: set[str] = set()
    for obj in session.new:
        if isinstance(obj, Deal):
            refs |= _flushed_refs(obj)
    for obj in session.deleted:
        if isinstance(obj, Deal):
            refs |= _flushed_refs(obj, deleted=True)
    for obj in session.dirty:
        if isinstance(obj, Deal) and session.is_modified(obj):
            refs |= _flushed_refs(obj)
        elif isinstance(obj, Workspace) and _changed(obj, _LIFECYCLE_SETTINGS):
            workspaces.add(obj.id)
    if not refs and not workspaces:
        return
    conn = session.connection()
    if workspaces:
        rebuild(conn, sorted(workspaces))
    refresh(conn, refs)


def _customers_where(conn: Connection, where: Any) -> set[CustomerRef]:
    """The customers of the deals meeting ``where`` (None: every deal)."""
    found = select(Deal.connection_id, Deal.account_remote_id, Deal.contact_remote_id)
    if where is not None:
        found = found.where(where)
    refs: set[CustomerRef] = set()
    for connection_id, account, contact in conn.execute(found.distinct()):
        key = customer_of(account, contact)
        if key is not None:
            refs.add((connection_id, key))
    return refs


def _deal_customers(conn: Connection, ids: Sequence[int]) -> set[CustomerRef]:
    refs: set[CustomerRef] = set()
    for at in range(0, len(ids), CHUNK):
        refs |= _customers_where(conn, Deal.id.in_(ids[at : at + CHUNK]))
    return refs


#: Execution option of a bulk statement on deals whose caller keeps the stretches itself
#: (core.connections deletes a connection's stretches with its deals).
KEEPS_STRETCHES = "keeps_customer_stretches"


def _settings(conn: Connection, ids: Sequence[str]) -> set[tuple[Any, ...]]:
    columns = [Workspace.id, *(Workspace.__table__.c[n] for n in _LIFECYCLE_SETTINGS)]
    return {tuple(row) for row in conn.execute(select(*columns).where(Workspace.id.in_(ids)))}


@event.listens_for(Session, "do_orm_execute")
def _bulk_write(state: ORMExecuteState) -> Result[Any] | None:
    """An ORM bulk UPDATE or DELETE of deals (or an UPDATE of workspaces) bypasses the flush:
    the rows it matches are found first, and the stretches of their customers before and
    after the statement (of the workspaces whose lifecycle settings it changed) recomputed,
    in its transaction."""
    mapper = state.bind_mapper
    if not (state.is_update or state.is_delete) or mapper is None:
        return None
    if mapper.class_ not in (Deal, Workspace) or state.execution_options.get(KEEPS_STRETCHES):
        return None
    where = getattr(state.statement, "whereclause", None)
    conn = state.session.connection()
    if mapper.class_ is Workspace:
        if state.is_delete:  # its deals and stretches go with it (core.connections)
            return None
        spaces = select(Workspace.id) if where is None else select(Workspace.id).where(where)
        workspaces = list(conn.scalars(spaces))
        settings = _settings(conn, workspaces)
        result = state.invoke_statement()
        changed = {row[0] for row in settings ^ _settings(conn, workspaces)}
        if changed:
            rebuild(conn, sorted(changed))
        return result
    if state.is_delete:
        gone = _customers_where(conn, where)
        result = state.invoke_statement()
        refresh(conn, gone)
        return result
    found = select(Deal.id) if where is None else select(Deal.id).where(where)
    ids = list(conn.scalars(found))
    before = _deal_customers(conn, ids)
    result = state.invoke_statement()
    refresh(conn, before | _deal_customers(conn, ids))
    return result


__all__ = [
    "KEEPS_STRETCHES",
    "LIFECYCLE_COLUMNS",
    "STRETCH_COLUMNS",
    "CustomerRef",
    "DealState",
    "changed_customers",
    "customer_of",
    "deal_state",
    "deleted_state",
    "rebuild",
    "rebuild_all",
    "refresh",
    "stored_states",
    "written_states",
]

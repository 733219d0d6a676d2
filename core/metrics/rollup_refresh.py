"""Keeps ``deal_days`` and ``activity_days`` equal to the rollups computed from the base
tables (core.metrics.rollup_rules), in the transaction that writes the rows.

A write touches local days: those of the instants a written row had before the write and
has after it, for every time column of its rollup. The rows of those days (every kind,
every connection of the workspace) are deleted and computed again from the base tables with
:func:`core.metrics.rollup_rules.rollup_rows`, the one statement of the rule, so the tables
cannot drift from what the base tables say. A change of a workspace's timezone moves every
day: its rollups are rebuilt.

Writers reach this in three ways: the sync's writer adds the signed contribution of each
page's changed rows and takes away that of the rows a full read's sweep deletes
(core.metrics.rollup_deltas: a first load's pages touch hundreds of days each, which whole
days recomputed here made 20-30x slower); ORM flushes of deals, activities or a workspace's
timezone (tests, admin paths) and bulk ORM writes are caught by :func:`_after_flush` and
:func:`_bulk_write`. Deleting a connection or a workspace deletes its rollup rows with its
records (core.connections). The functions take a synchronous connection; async callers use
``run_sync``.

Known cost: an ORM flush of deals or activities locks the workspace's row until commit
(:func:`timezone_of`), as the sync's pages do; a long admin transaction holds the
workspace's syncs back meanwhile.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, event, insert, inspect, select
from sqlalchemy.engine import Connection, Result
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction
from sqlalchemy.orm.base import NO_VALUE

from core.metrics.periods import local_date
from core.metrics.rollup_rules import (
    ACTIVITY_COLUMNS,
    ACTIVITY_KINDS,
    DEAL_COLUMNS,
    DEAL_KINDS,
    day_number,
    day_ranges,
    rollup_rows,
)
from core.models import Activity, ActivityDay, Deal, DealDay, Workspace

RollupModel = type[DealDay] | type[ActivityDay]

#: The columns of a deal or activity its rollup reads: a write that changes none of them
#: (a name, a description) touches no day. The instant columns come first.
DEAL_STATE = (
    "remote_created_at", "closed_at", "status", "currency", "owner_remote_id",
    "pipeline_remote_id", "stage_remote_id", "deal_type", "amount", "cost", "deleted_at",
)  # fmt: skip
ACTIVITY_STATE = (
    "remote_created_at", "done_at", "due_at", "type", "owner_remote_id", "meeting_status",
    "response", "deleted_at",
)  # fmt: skip
#: How many leading columns of each state are instants whose local days a write touches
#: (an activity is done at its done time or, a held meeting, at its due time).
INSTANTS = {"deal": 2, "activity": 3}
STATES = {"deal": DEAL_STATE, "activity": ACTIVITY_STATE}
MODELS: dict[str, Any] = {"deal": Deal, "activity": Activity}

#: Days refreshed per statement (each a UTC range bound in the statement).
CHUNK = 200

#: A row as its rollup sees it: the values of its STATES columns, the deletion time reduced
#: to whether it is set.
State = tuple[Any, ...]


def state_of(values: Sequence[Any]) -> State:
    *head, deleted_at = values
    return (*head, deleted_at is not None)


def _days(instants: Iterable[datetime | None], timezone: str) -> set[int]:
    return {day_number(local_date(i, timezone)) for i in instants if i is not None}


#: Built once (every page of the sync's writer reads it).
_TIMEZONE = select(Workspace.timezone).where(Workspace.id == bindparam("workspace"))
#: FOR NO KEY UPDATE: it excludes the other refreshes and an update of the timezone as FOR
#: UPDATE did, but not the foreign key checks of rows inserted meanwhile (FOR KEY SHARE): a
#: page of contacts or exchange rates in flight does not hold the rollups' writers back
#: until it commits, nor they it.
_TIMEZONE_LOCKED = _TIMEZONE.with_for_update(key_share=True)


def timezone_of(conn: Connection, workspace_id: str, *, lock: bool = False) -> str:
    """The workspace's timezone; with ``lock``, its row is locked until the transaction
    ends (PostgreSQL; SQLite has one writer at a time).

    Refreshes of one workspace's days take the lock: two transactions writing rows of the
    same day (a connection's streams run in parallel) would otherwise each delete the day's
    rows they see and insert the rows they compute, and the second would keep the first's
    (inserted after its DELETE's snapshot) beside its own: counted twice. Serialised, the
    second deletes and recomputes after the first committed. The sync's writer updates the
    same row (the data version) just after, so the lock adds little waiting."""
    zone = conn.scalar(_TIMEZONE_LOCKED if lock else _TIMEZONE, {"workspace": workspace_id})
    assert zone is not None, f"workspace {workspace_id} not found"
    return str(zone)


def _model(record_type: str) -> RollupModel:
    return DealDay if record_type == "deal" else ActivityDay


def _insert(conn: Connection, model: RollupModel, rows: Any) -> None:
    columns = DEAL_COLUMNS if model is DealDay else ACTIVITY_COLUMNS
    conn.execute(insert(model).from_select(list(columns), rows))


def refresh(
    conn: Connection,
    record_type: str,
    workspace_id: str,
    days: Iterable[int],
    timezone: str | None = None,
) -> None:
    """Recompute the rollup rows of these local days of one workspace from the base table."""
    model = _model(record_type)
    kinds = DEAL_KINDS if model is DealDay else ACTIVITY_KINDS
    ordered = sorted(set(days))
    if not ordered:
        return
    locked = timezone_of(conn, workspace_id, lock=True)
    if timezone is not None and timezone != locked:
        # The timezone changed since the days were computed (another transaction, now
        # committed): they are not the workspace's days any more.
        rebuild(conn, [workspace_id])
        return
    timezone = locked
    for at in range(0, len(ordered), CHUNK):
        chunk = ordered[at : at + CHUNK]
        ranges = day_ranges(chunk, timezone)
        for kind in kinds:
            conn.execute(
                delete(model).where(
                    model.workspace_id == workspace_id,
                    model.kind == kind.name,
                    model.day.in_(chunk),
                )
            )
            _insert(conn, model, rollup_rows(model, kind, [workspace_id], ranges))


def rebuild(conn: Connection, workspace_ids: Sequence[str] | None) -> None:
    """Recompute every rollup row of these workspaces (all with None): a timezone change,
    a bulk load."""
    for model in (DealDay, ActivityDay):
        statement = delete(model)
        if workspace_ids is not None:
            statement = statement.where(model.workspace_id.in_(workspace_ids))
        conn.execute(statement)
        for kind in DEAL_KINDS if model is DealDay else ACTIVITY_KINDS:
            _insert(conn, model, rollup_rows(model, kind, workspace_ids))


def _flushed(obj: Any, record_type: str, *, deleted: bool = False) -> tuple[str | None, list[Any]]:
    """A flushed row's workspace and its instants before and after the flush. A deleted row
    cannot be loaded again: only what the session holds of it is read."""
    state = inspect(obj)
    instants: list[Any] = []
    workspace = None
    for name in ("workspace_id", *STATES[record_type][: INSTANTS[record_type]]):
        attr = state.attrs[name]
        current = attr.loaded_value if deleted else attr.value
        history = attr.history
        values = [current, *history.deleted, *history.unchanged, *history.added]
        values = [v for v in values if v is not None and v is not NO_VALUE]
        if name == "workspace_id":
            workspace = values[0] if values else None
        else:
            instants.extend(values)
    return workspace, instants


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, flush: UOWTransaction) -> None:
    """Refresh the rollup days a flush of deals or activities touched, and rebuild those of a
    workspace whose timezone changed, in the flush's own transaction."""
    touched: dict[tuple[str, str], list[Any]] = {}
    rebuilt: set[str] = set()

    def collect(obj: Any, *, deleted: bool = False) -> None:
        record_type = "deal" if isinstance(obj, Deal) else "activity"
        workspace, instants = _flushed(obj, record_type, deleted=deleted)
        if workspace is not None:
            touched.setdefault((record_type, workspace), []).extend(instants)

    for obj in session.new:
        if isinstance(obj, Deal | Activity):
            collect(obj)
    for obj in session.deleted:
        if isinstance(obj, Deal | Activity):
            collect(obj, deleted=True)
    for obj in session.dirty:
        if isinstance(obj, Deal | Activity) and session.is_modified(obj):
            collect(obj)
        elif isinstance(obj, Workspace) and inspect(obj).attrs.timezone.history.has_changes():
            rebuilt.add(obj.id)
    if not touched and not rebuilt:
        return
    conn = session.connection()
    if rebuilt:
        rebuild(conn, sorted(rebuilt))
    for (record_type, workspace), instants in sorted(touched.items(), key=lambda i: i[0]):
        if workspace in rebuilt or not instants:
            continue
        refresh(conn, record_type, workspace, _days(instants, timezone_of(conn, workspace)))


#: Execution option of a bulk write of deals or activities whose caller keeps the rollups
#: itself (deleting a connection deletes its rollup rows instead).
ROLLUPS_KEPT = "rollups_kept"


@event.listens_for(Session, "do_orm_execute")
def _bulk_write(state: ORMExecuteState) -> Result[Any] | None:
    """A bulk ORM update of deals or delete of activities through a session: the days of the
    rows it matches, before and after, are refreshed in its transaction."""
    if not (state.is_update or state.is_delete) or state.execution_options.get(ROLLUPS_KEPT):
        return None
    mapper = state.bind_mapper
    record_type = next(
        (t for t, m in MODELS.items() if mapper is not None and m is mapper.class_), None
    )
    if record_type is None:
        return None
    model = MODELS[record_type]
    instants = [model.__table__.c[n] for n in STATES[record_type][: INSTANTS[record_type]]]
    conn = state.session.connection()
    query = select(model.id, model.workspace_id, *instants)
    where = getattr(state.statement, "whereclause", None)
    matched = conn.execute(query if where is None else query.where(where)).all()
    result = state.invoke_statement()
    rows = list(matched)
    ids = [row[0] for row in matched]
    for at in range(0, len(ids), 500):  # after an update: where they are now
        rows += conn.execute(query.where(model.id.in_(ids[at : at + 500]))).all()
    touched: dict[str, list[Any]] = {}
    for _, workspace, *values in rows:
        touched.setdefault(workspace, []).extend(values)
    for workspace, values in sorted(touched.items()):
        zone = timezone_of(conn, workspace)
        refresh(conn, record_type, workspace, _days(values, zone), zone)
    return result


__all__ = [
    "ACTIVITY_STATE",
    "DEAL_STATE",
    "MODELS",
    "ROLLUPS_KEPT",
    "STATES",
    "State",
    "rebuild",
    "refresh",
    "state_of",
    "timezone_of",
]

"""Commits that change what an API key authenticates as, told to whoever caches viewers.

The API keeps the viewer of each recently seen key in memory (api.auth) instead of reading
the key on every request. A cached viewer goes stale when its key is revoked or changed, or
when its organization gains or loses a workspace; every such change made through an ORM
session is noticed here, wherever it is made (GraphQL mutation, CLI, tests):

- in this process, the caches registered for the session's engine are cleared right after
  the commit (:func:`on_change`);
- on PostgreSQL, the flush also sends ``NOTIFY crmkpi_viewers`` in the same transaction, so
  PostgreSQL delivers it to every listening API process when (and only if) it commits.

What this cannot see (raw SQL on ``api_keys``, another process on SQLite) is bounded by the
cache's time to live. Bumping a workspace's ``data_version`` or renaming it is not a change:
a viewer holds workspace ids only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import event, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.exc import UnboundExecutionError
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from core.models import ApiKey, Organization, Workspace

#: The PostgreSQL notification channel (payload empty: every cached viewer is dropped).
CHANNEL = "crmkpi_viewers"
#: ``Session.info`` flag: this transaction changed a viewer (cleared at commit/rollback).
_CHANGED = "crmkpi.viewers_changed"
#: What a key authenticates as (``last_used_at``, ``name`` change nothing).
_KEY_FIELDS = ("revoked_at", "role", "workspace_ids", "organization_id", "key_hash")

_VIEWER_TABLES = (ApiKey, Workspace, Organization)

_listeners: WeakKeyDictionary[Engine, list[Callable[[], None]]] = WeakKeyDictionary()


def on_change(engine: Engine, callback: Callable[[], None]) -> Callable[[], None]:
    """Call ``callback`` after every commit, through ``engine``, that changes a viewer.
    Returns the function that unregisters it."""
    callbacks = _listeners.setdefault(engine, [])
    callbacks.append(callback)

    def remove() -> None:
        if callback in callbacks:
            callbacks.remove(callback)

    return remove


def _changes_viewer(obj: object, deleted_or_new: bool) -> bool:
    if isinstance(obj, Workspace | Organization):
        return deleted_or_new
    if not isinstance(obj, ApiKey):
        return False
    if deleted_or_new:
        return True
    attrs = inspect(obj).attrs
    return any(attrs[name].history.has_changes() for name in _KEY_FIELDS)


def _mark(session: Session) -> None:
    if session.info.get(_CHANGED):
        return
    session.info[_CHANGED] = True
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        # Delivered by PostgreSQL at commit, never for a rolled-back transaction.
        connection.exec_driver_sql(f"NOTIFY {CHANNEL}")


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _flush: UOWTransaction) -> None:
    # The new/dirty/deleted collections still describe what this flush wrote.
    if (
        any(_changes_viewer(o, True) for o in session.new)
        or any(_changes_viewer(o, True) for o in session.deleted)
        or any(_changes_viewer(o, False) for o in session.dirty)
    ):
        _mark(session)


@event.listens_for(Session, "do_orm_execute")
def _bulk_change(state: ORMExecuteState) -> None:
    """``update(ApiKey)`` / ``delete(Workspace)`` statements bypass the unit of work."""
    mapper = state.bind_mapper
    if mapper is None or mapper.class_ not in _VIEWER_TABLES:
        return
    if state.is_delete or (state.is_update and mapper.class_ is ApiKey):
        _mark(state.session)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if not session.info.pop(_CHANGED, False):
        return
    try:
        bind: Any = session.get_bind()
    except UnboundExecutionError:
        return
    for callback in list(_listeners.get(bind.engine, ())):
        callback()


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_CHANGED, None)

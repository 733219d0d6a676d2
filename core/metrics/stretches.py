"""Customer stretches: computed from the won deals, or read from the maintained table.

A customer is an account (or, for deals without one, a contact) of one connection. Every
won deal with local close date ``c`` makes it active on the local days ``[c, c +
inactivityDays)``, and a won deal's recurring contract (a contract start or a recurring
amount) on ``[contract_start or c, contract_end]`` (open-ended without an end), as mrr
reads it. Overlapping or touching intervals merge into *stretches* (gaps and islands: a
window running-max of interval ends); a stretch starts on the day the account becomes a
customer (new again after being lost) and ends on the first day it is no longer active, the
day it is *lost*.

:func:`computed_stretches` is that rule in SQL over the deals. Recomputing it per request
reads every won deal of the workspace (the bulk of churn, retention and MRR at 50k
accounts), so the sync keeps its rows in ``customer_stretches``
(core.metrics.stretch_refresh, in the transaction that writes the deals) and the metrics
read :func:`customer_stretches`, the maintained table. :func:`from_base_tables` makes the
metrics read the computed rows instead: the property tests and the bench compare the two.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import (
    FromClause,
    Integer,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.sql import ColumnElement

from core.metrics import lifecycle
from core.metrics._sql import DayNumber, LocalDay
from core.metrics.lifecycle import FOREVER, customer_key
from core.models import CustomerStretch, Deal, Workspace
from core.models.enums import DealStatus

_BASE_TABLES: ContextVar[bool] = ContextVar("stretches_from_base_tables", default=False)


@contextmanager
def from_base_tables() -> Iterator[None]:
    """Within the block, customer KPIs recompute stretches from the deals (the reference
    the maintained table is checked against)."""
    token = _BASE_TABLES.set(True)
    try:
        yield
    finally:
        _BASE_TABLES.reset(token)


def reading_base_tables() -> bool:
    return _BASE_TABLES.get()


def computed_stretches(
    workspace_ids: Sequence[str] | None, where: ColumnElement[bool] | None = None
) -> FromClause:
    """One row per stretch computed from the won deals of ``workspace_ids`` (all with None)
    meeting ``where``: ``start_day`` (became a customer), ``end_day`` (lost),
    ``prev_end_day`` (the end of the customer's previous stretch, None for its first), and the
    ``source`` (the acquisition channel), owner and pipeline of the deal that began it,
    which the source, owner and pipeline segments and breakdowns of customer KPIs read.
    Intervals starting and ending on the same days are ordered by deal id, so which deal
    began a stretch never depends on the plan."""
    won = [
        Deal.deleted_at.is_(None),
        Deal.status == DealStatus.WON,
        or_(Deal.account_remote_id.is_not(None), Deal.contact_remote_id.is_not(None)),
    ]
    if workspace_ids is not None:
        won.append(Deal.workspace_id.in_(workspace_ids))
    if where is not None:
        won.append(where)
    # One row per won deal with its local close day, computed once (a CTE read twice).
    deals = (
        select(
            Deal.id.label("deal_id"),
            Deal.workspace_id,
            Deal.connection_id,
            customer_key(Deal).label("customer"),
            Deal.account_remote_id,
            Deal.source,
            Deal.owner_remote_id,
            Deal.pipeline_remote_id,
            Deal.contract_start,
            Deal.contract_end,
            Deal.recurring_amount,
            Workspace.no_contact_days,
            Workspace.inactivity_days,
            LocalDay(Deal.closed_at, Workspace.timezone).label("d"),
        )
        .join(Workspace, Workspace.id == Deal.workspace_id)
        .where(*won)
        .cte("won_deals")
    )
    w = deals.c
    common = (
        w.deal_id,
        w.workspace_id,
        w.connection_id,
        w.customer,
        w.account_remote_id,
        w.source,
        w.owner_remote_id,
        w.pipeline_remote_id,
        w.no_contact_days,
    )
    by_wins = select(*common, w.d.label("s"), (w.d + w.inactivity_days).label("e")).where(
        w.d.is_not(None)
    )
    contract_start = func.coalesce(DayNumber(w.contract_start), w.d)
    contract_end = case(
        (w.contract_end.is_(None), literal(FOREVER)),
        else_=DayNumber(w.contract_end) + 1,
    )
    by_contracts = select(*common, contract_start.label("s"), contract_end.label("e")).where(
        or_(w.contract_start.is_not(None), w.recurring_amount.is_not(None)),
        contract_start.is_not(None),
    )
    intervals = union_all(by_wins, by_contracts).subquery("customer_intervals")
    i = intervals.c
    partition = (i.connection_id, i.customer)
    order = (i.s, i.e, i.deal_id)
    reach = func.max(i.e).over(partition_by=partition, order_by=order, rows=(None, -1))
    flagged = select(
        *(i[c.name] for c in common),
        i.s,
        i.e,
        case((or_(reach.is_(None), i.s > reach), 1), else_=0).label("starts"),
    ).subquery("customer_starts")
    g = flagged.c
    stretch = func.sum(g.starts).over(
        partition_by=(g.connection_id, g.customer), order_by=(g.s, g.e, g.deal_id), rows=(None, 0)
    )
    numbered = select(
        *(g[c.name] for c in common), g.starts, g.s, g.e, stretch.label("stretch")
    ).subquery("customer_numbered")
    n = numbered.c
    # Stretches of a customer never overlap, so the previous one ended last of the earlier.
    previous_end = func.lag(func.max(n.e)).over(
        partition_by=(n.connection_id, n.customer), order_by=func.min(n.s)
    )
    return (
        select(
            n.workspace_id,
            n.connection_id,
            n.customer,
            func.max(n.account_remote_id).label("account_remote_id"),
            func.max(case((n.starts == 1, n.source))).label("source"),
            func.max(case((n.starts == 1, n.owner_remote_id))).label("owner_remote_id"),
            func.max(case((n.starts == 1, n.pipeline_remote_id))).label("pipeline_remote_id"),
            func.max(n.no_contact_days).label("no_contact_days"),
            cast(func.min(n.s), Integer).label("start_day"),
            cast(func.max(n.e), Integer).label("end_day"),
            cast(previous_end, Integer).label("prev_end_day"),
        )
        .group_by(n.workspace_id, n.connection_id, n.customer, n.stretch)
        .subquery("customers_src")
    )


def maintained_stretches(workspace_ids: Sequence[str]) -> FromClause:
    """The rows of :func:`computed_stretches` as the sync keeps them. The workspace's
    no-contact days (a setting, not derived from deals) are a correlated look-up, which a
    statement that does not read them never evaluates (a join would run for every row)."""
    s = CustomerStretch
    no_contact_days = (
        select(Workspace.no_contact_days).where(Workspace.id == s.workspace_id).scalar_subquery()
    )
    return (
        select(
            s.workspace_id,
            s.connection_id,
            s.customer,
            s.account_remote_id,
            s.source,
            s.owner_remote_id,
            s.pipeline_remote_id,
            no_contact_days.label("no_contact_days"),
            s.start_day,
            s.end_day,
            s.prev_end_day,
        )
        .where(s.workspace_id.in_(workspace_ids))
        .subquery("customers_src")
    )


def customer_stretches(workspace_ids: Sequence[str]) -> FromClause:
    """The customers source of the metrics: the maintained table, or the stretches
    recomputed from the deals inside :func:`from_base_tables`."""
    if reading_base_tables():
        return computed_stretches(workspace_ids)
    return maintained_stretches(workspace_ids)


#: Table aliases of the look-up, made once: an ORM ``aliased()`` per call cost more Python
#: time (its columns adapted on first use) than the rest of compiling churn and retention.
_ACTIVE_STRETCH = CustomerStretch.__table__.alias("active_stretch")
_ACTIVE_WORKSPACE = Workspace.__table__.alias("active_workspace")


def active_on(
    connection_id: ColumnElement[Any],
    customer: ColumnElement[Any],
    account_id: ColumnElement[Any],
    day: Any,
    *,
    before_start: ColumnElement[Any] | None = None,
) -> ColumnElement[bool]:
    """:func:`core.metrics.lifecycle.active_on` (same arguments) answered from the
    maintained table: active on a day is inside one of its stretches, one primary-key
    seek instead of a look-up of the customer's won deals.

    ``before_start``: the caller knows the day falls before this stretch start, so only
    earlier stretches are looked at. Besides being true, the inequality keeps PostgreSQL
    from turning the look-up into a hash of every stretch active that day (built once per
    statement, it cost more than the rest of churn and retention at 50k customers)."""
    if reading_base_tables():
        return lifecycle.active_on(connection_id, customer, account_id, day)
    s = _ACTIVE_STRETCH.c
    ws = _ACTIVE_WORKSPACE.c
    on = day(ws) if callable(day) else day
    found = select(literal(1)).select_from(_ACTIVE_STRETCH)
    if callable(day):
        found = found.join(_ACTIVE_WORKSPACE, ws.id == s.workspace_id)
    earlier = () if before_start is None else (s.start_day < before_start,)
    return found.where(
        s.connection_id == connection_id,
        s.customer == customer,
        s.start_day <= on,
        s.end_day > on,
        *earlier,
    ).exists()


__all__ = [
    "active_on",
    "computed_stretches",
    "customer_stretches",
    "from_base_tables",
    "maintained_stretches",
]

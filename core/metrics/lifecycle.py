"""Whether one customer is active on one local day: the look-up expansionRevenue and
customerRetentionRate need (KPIS.md "Precise conventions").

core.metrics.customers builds whole active stretches for the stock and flow customer KPIs.
Two rulings ask a narrower question of one customer at one day instead:

- *existing customer*: an expansion deal counts only when its account was active on the local
  day before the deal's local close date;
- *retention*: a customer active at the period's end is retained when it was also active on
  the day before the period, whether or not it was lost and won back in between (which one
  stretch cannot tell).

The rule is the stretches' own: active on local day ``d`` when a won deal has local close day
``c`` with ``c <= d < c + inactivityDays``, or a won deal's recurring contract covers ``d``.
It is written once here as a correlated ``EXISTS`` over the customer's won deals (found by the
``(connection_id, account_remote_id)`` index).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.orm import aliased
from sqlalchemy.sql import ColumnElement

from core.metrics._sql import DayNumber, LocalDay
from core.models import Deal, Workspace
from core.models.enums import DealStatus

#: The end of an open-ended contract: a day number far beyond any report.
FOREVER = 1_000_000


def customer_key(deal: Any) -> ColumnElement[str]:
    """``a:<account>``, or ``c:<contact>`` for a deal without an account (a Deal or a source)."""
    return case(
        (deal.account_remote_id.is_not(None), literal("a:") + deal.account_remote_id),
        else_=literal("c:") + deal.contact_remote_id,
    )


def active_on(
    connection_id: ColumnElement[Any],
    customer: ColumnElement[Any],
    account_id: ColumnElement[Any],
    day: Any,
) -> ColumnElement[bool]:
    """Whether ``customer`` (a :func:`customer_key`) of ``connection_id`` is active on local
    day number ``day``: a literal, or a function of the won deal's workspace (given as its
    ``Workspace`` alias) for a day that depends on the workspace's timezone."""
    won = aliased(Deal, name="active_deal")
    ws = aliased(Workspace, name="active_workspace")
    on = day(ws) if callable(day) else day
    close = LocalDay(won.closed_at, ws.timezone)
    contract_start = func.coalesce(DayNumber(won.contract_start), close)
    contract_end = case(
        (won.contract_end.is_(None), literal(FOREVER)), else_=DayNumber(won.contract_end) + 1
    )
    by_win = and_(won.closed_at.is_not(None), close <= on, close + ws.inactivity_days > on)
    by_contract = and_(
        or_(won.contract_start.is_not(None), won.recurring_amount.is_not(None)),
        contract_start <= on,
        contract_end > on,
    )
    return (
        select(literal(1))
        .select_from(won)
        .join(ws, ws.id == won.workspace_id)
        .where(
            won.connection_id == connection_id,
            or_(account_id.is_(None), won.account_remote_id == account_id),
            customer_key(won) == customer,
            won.deleted_at.is_(None),
            won.status == DealStatus.WON,
            or_(by_win, by_contract),
        )
        .exists()
    )


__all__ = ["FOREVER", "active_on", "customer_key"]

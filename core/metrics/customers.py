"""The customer KPIs' measures, on the active stretches of core.metrics.stretches.

All arithmetic is on day numbers (days since 1970-01-01) of the workspace's local dates;
frames contribute their local first day ``S``, and the day ``T`` at which a stock is read:
the period's last day, or the as-of day when that is earlier (a period in progress: a loss
that has not happened yet is not counted).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime

from sqlalchemy import (
    and_,
    exists,
    func,
    literal,
    or_,
)
from sqlalchemy.sql import ColumnElement

from core.metrics._sql import EPOCH_ORDINAL, EpochSeconds, LocalDay
from core.metrics.lifecycle import customer_key
from core.metrics.measures import Cols, Condition, Measure, activity_done_at
from core.metrics.periods import local_date, to_utc
from core.metrics.stretches import active_on as active_on_day
from core.metrics.types import Agg, Entity, Frame, FxDate
from core.models import Activity
from core.models.enums import DealStatus, DealType


def _day(day: date) -> int:
    return day.toordinal() - EPOCH_ORDINAL


def first_day(f: Frame) -> int:
    return _day(f.start_date)


def stock_day(f: Frame) -> int:
    """The day a frame's stocks are read: its last day, or the as-of day if earlier."""
    return min(_day(f.last_day), _day(local_date(f.as_of, f.timezone)))


# -- conditions on a stretch for a frame -------------------------------------------------


def active_on(c: Cols, day: int) -> ColumnElement[bool]:
    return and_(c.start_day <= day, c.end_day > day)


def _new(c: Cols, f: Frame) -> ColumnElement[bool]:
    return and_(c.start_day >= first_day(f), c.start_day <= stock_day(f))


def _lost(c: Cols, f: Frame) -> ColumnElement[bool]:
    return and_(c.end_day >= first_day(f), c.end_day <= stock_day(f))


def _active_start(c: Cols, f: Frame) -> ColumnElement[bool]:
    return active_on(c, first_day(f) - 1)


def _active_end(c: Cols, f: Frame) -> ColumnElement[bool]:
    return active_on(c, stock_day(f))


def _retained(c: Cols, f: Frame) -> ColumnElement[bool]:
    """Active at the end (this stretch) and on the day before the period (this stretch, or
    an earlier one: lost and won back in between still counts, KPIS.md "Retention").

    Earlier stretches all end by ``prev_end_day``, so one can hold the day before only when
    that ends after it: the look-up of the customer's stretches runs for the customers won
    back in the period, not for every customer new in it (at 50k accounts, 2,500 index
    probes became 300). ``IS NOT NULL`` first: NULL AND x evaluates x."""
    before = first_day(f) - 1
    return and_(
        _active_end(c, f),
        or_(
            c.start_day <= before,
            and_(
                c.prev_end_day.is_not(None),
                c.prev_end_day > before,
                active_on_day(
                    c.connection_id,
                    c.customer,
                    c.account_remote_id,
                    before,
                    before_start=c.start_day,
                ),
            ),
        ),
    )


def _active_any(c: Cols, f: Frame) -> ColumnElement[bool]:
    return and_(c.start_day <= stock_day(f), c.end_day > first_day(f))


def _contacted(c: Cols, after: ColumnElement[bool], before: datetime) -> ColumnElement[bool]:
    """The customer has an activity done before ``before`` and meeting ``after``: linked by
    its account, or by its contact for a contact customer."""
    return exists().where(
        Activity.connection_id == c.connection_id,
        or_(
            and_(
                c.account_remote_id.is_not(None),
                Activity.account_remote_id == c.account_remote_id,
            ),
            and_(
                c.account_remote_id.is_(None),
                literal("c:") + Activity.contact_remote_id == c.customer,
            ),
        ),
        Activity.deleted_at.is_(None),
        activity_done_at(Activity).is_not(None),
        activity_done_at(Activity) < before,
        after,
    )


def _stock_instant(f: Frame) -> datetime:
    """The end of the stock day T as an instant (never after as-of)."""
    end = to_utc(date.fromordinal(stock_day(f) + EPOCH_ORDINAL + 1), f.timezone)
    return min(end, f.as_of)


def _engaged(c: Cols, f: Frame) -> ColumnElement[bool]:
    end = _stock_instant(f)
    return and_(_active_start(c, f), _contacted(c, activity_done_at(Activity) >= f.start, end))


def _recently_contacted(c: Cols, f: Frame) -> ColumnElement[bool]:
    """Active on day T with an activity done in the workspace's last noContactDays."""
    end = _stock_instant(f)
    since = literal(end.timestamp()) - c.no_contact_days * 86400.0
    return and_(
        _active_end(c, f), _contacted(c, EpochSeconds(activity_done_at(Activity)) >= since, end)
    )


def _ever(c: Cols, f: Frame) -> ColumnElement[bool]:
    return and_(c.start_day <= stock_day(f))


def _referred(c: Cols, f: Frame) -> ColumnElement[bool]:
    return and_(_new(c, f), func.lower(c.source).like("%referr%"))


#: The customer conditions whose stretches over a frame all end after a day of the frame
#: (``end_day > D``): active on a day, lost from day S on, active somewhere in [S, T].
#: New and ever-customer stretches have no such bound (a stretch of a zero-day inactivity
#: window may end on its start day), so statements with their cells keep the ORed
#: conditions.
_ENDS_AFTER: dict[Condition, Callable[[Frame], int]] = {
    _active_start: lambda f: first_day(f) - 1,
    _lost: lambda f: first_day(f) - 1,
    _engaged: lambda f: first_day(f) - 1,
    _active_any: first_day,
    _active_end: stock_day,
    _retained: stock_day,
    _recently_contacted: stock_day,
}


def stretch_range(c: Cols, cells: Sequence[tuple[Measure, Frame]]) -> ColumnElement[bool] | None:
    """One range of ``end_day`` holding every row of the cells (see ``_ENDS_AFTER``), or
    None when a cell has no such bound.

    The compiler makes it the WHERE of a customer statement instead of the cells' ORed
    conditions, which the per-row flags compute anyway: the OR evaluated every condition
    (the retention look-ups too) a second time per row, and a prepared statement's generic
    plan turned its ranges into a BitmapOr of one index scan per cell (at 50k accounts 33
    ms before the first row, twice the rest of churn and retention)."""
    floors = [_ENDS_AFTER.get(m.condition) for m, _ in cells]
    if not floors or any(floor is None for floor in floors):
        return None
    lowest = min(floor(f) for floor, (_, f) in zip(floors, cells, strict=True) if floor)
    return c.end_day > lowest  # type: ignore[no-any-return]


C = Entity.CUSTOMERS

CUSTOMER_MEASURES: tuple[Measure, ...] = (
    Measure("customers_new", C, Agg.COUNT, _new, description="stretches begun in the frame"),
    Measure("customers_lost", C, Agg.COUNT, _lost, description="stretches ended in the frame"),
    Measure("customers_active_start", C, Agg.COUNT, _active_start, description="active day S-1"),
    Measure("customers_active_end", C, Agg.COUNT, _active_end, description="active on day T"),
    Measure("customers_retained", C, Agg.COUNT, _retained, description="active S-1 and T"),
    Measure(
        "customers_active_any",
        C,
        Agg.COUNT_DISTINCT,
        _active_any,
        lambda c, f: c.connection_id + literal(":") + c.customer,
        description="distinct accounts active on some day of [S, T] (not stretches)",
    ),
    Measure("customers_referred", C, Agg.COUNT, _referred, description="new, source referral"),
    Measure("customers_engaged", C, Agg.COUNT, _engaged, description="active at S-1, contacted"),
    Measure(
        "customers_ever",
        C,
        Agg.COUNT_DISTINCT,
        _ever,
        lambda c, f: c.connection_id + literal(":") + c.customer,
        description="distinct accounts that became customers by day T",
    ),
    Measure(
        "customers_contacted",
        C,
        Agg.COUNT,
        _recently_contacted,
        description="active on day T with a done activity in the last noContactDays",
    ),
    Measure(
        "customer_lifetime_days",
        C,
        Agg.SUM,
        _lost,
        lambda c, f: c.end_day - c.start_day,
        description="days from becoming a customer to being lost, stretches lost in the frame",
    ),
)


# -- deal measures the customer KPIs need -------------------------------------------------

_EXPANSION = (DealType.UPSELL, DealType.CROSS_SELL, DealType.UPGRADE)


def _won_in(c: Cols, f: Frame) -> ColumnElement[bool]:
    """Won: in the frame by the measures' time (``closed_at``)."""
    return c.status == DealStatus.WON  # type: ignore[no-any-return]


def _upsold(c: Cols, f: Frame) -> ColumnElement[bool]:
    return and_(_won_in(c, f), c.deal_type.in_([DealType.UPSELL, DealType.CROSS_SELL]))


def _expansion(c: Cols, f: Frame) -> ColumnElement[bool]:
    """An expansion-type deal won in the frame whose account was an active customer on the
    local day before the deal's local close date (KPIS.md "Existing customer"): the deal
    that makes its account a customer never counts."""
    return and_(
        _won_in(c, f),
        c.deal_type.in_(_EXPANSION),
        active_on_day(
            c.connection_id,
            customer_key(c),
            c.account_remote_id,
            lambda ws: LocalDay(c.closed_at, ws.timezone) - 1,
        ),
    )


def _contract_active(c: Cols, f: Frame) -> ColumnElement[bool]:
    """A won deal's recurring contract covers the frame's last local day (a contract
    without a start date starts at the close time; without an end it runs on)."""
    return and_(
        c.status == DealStatus.WON,
        c.recurring_amount.is_not(None),
        or_(
            c.contract_start <= f.last_day,
            and_(c.contract_start.is_(None), c.closed_at < f.end),
        ),
        or_(c.contract_end.is_(None), c.contract_end >= f.last_day),
    )


D = Entity.DEALS


def _customer_won_in(c: Cols, f: Frame) -> ColumnElement[bool]:
    return and_(
        _won_in(c, f), or_(c.account_remote_id.is_not(None), c.contact_remote_id.is_not(None))
    )


CUSTOMER_MEASURES += (
    Measure(
        "customers_with_win",
        D,
        Agg.COUNT_DISTINCT,
        _customer_won_in,
        lambda c, f: c.connection_id + literal(":") + customer_key(c),
        description="distinct customers with a deal won in the frame",
        time="closed_at",
    ),
    Measure(
        "deals_upsold",
        D,
        Agg.COUNT,
        _upsold,
        description="upsell/cross-sell deals won",
        time="closed_at",
    ),
    Measure(
        "expansion_amount",
        D,
        Agg.MONEY,
        _expansion,
        lambda c, f: c.amount,
        FxDate.CLOSE,
        time="closed_at",
    ),
    Measure(
        "mrr_amount",
        D,
        Agg.MONEY,
        _contract_active,
        lambda c, f: c.recurring_amount,
        FxDate.FRAME_END,
    ),
)

"""The rows of the daily rollups (``deal_days``, ``activity_days``) computed from the base
tables: the one statement of what a rollup row sums, which the refresh writes
(core.metrics.rollup_refresh) and the tests compare the maintained tables with.

A kind is a time column: a live row falls on the local day (in its workspace's timezone) of
that column's instant, and is summed with the rows of the same workspace, connection, kind,
day and dimensions. Rows whose instant is NULL are in no day of that kind.

The rule reads its rows from the base table or from any table or CTE with its columns (a
``source``): the sync's writer sums just the rows of a page (core.metrics.rollup_deltas).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, and_, case, func, literal, null, or_, select
from sqlalchemy.sql import ColumnElement

from core.metrics._sql import EPOCH_ORDINAL, EpochSeconds, LocalDay
from core.metrics.measures import activity_done_at
from core.metrics.periods import to_utc
from core.models import Activity, ActivityDay, Deal, DealDay, Workspace
from core.models.enums import MeetingStatus, Response
from core.models.rollups import ACTIVITY_DIMENSIONS, DEAL_DIMENSIONS

#: A UTC range ``[start, end)`` of instants.
Range = tuple[datetime, datetime]


@dataclass(frozen=True)
class Kind:
    """One time column of a rollup: its name in the ``kind`` column, the instant each base
    row falls on, and which base rows it sums (None: every live row), both of a source's
    columns."""

    name: str
    instant: Callable[[Any], Any]
    only: Callable[[Any], ColumnElement[bool]] | None = None
    #: The dimensions its rows keep (the others are NULL): a coarse kind (``<name>/all``)
    #: keeps only those its measures' conditions read, so a request without a segment or
    #: breakdown on the others reads a few rows per day instead of one per combination.
    keep: tuple[str, ...] | None = None

    def coarse(self, keep: tuple[str, ...]) -> Kind:
        return Kind(f"{self.name}/all", self.instant, self.only, keep)


def _responded(a: Any) -> ColumnElement[bool]:
    # ``=`` or ``=``, not IN: a constant IN list is an expanding parameter, which SQLAlchemy
    # renders into the statement's text again at every execution (the writer runs this
    # statement for every page).
    return or_(a.response == Response.POSITIVE, a.response == Response.NEGATIVE)


_DEAL_KINDS = (
    Kind("created", lambda d: d.remote_created_at),
    Kind("closed", lambda d: d.closed_at),
)
_ACTIVITY_KINDS = (
    Kind("created", lambda a: a.remote_created_at),
    Kind("done", activity_done_at),
    Kind(
        "response",
        lambda a: func.coalesce(activity_done_at(a), a.remote_created_at),
        _responded,
    ),
)
#: Every kind of each rollup: the fine ones, by every dimension, and their coarse versions.
DEAL_KINDS = _DEAL_KINDS + tuple(k.coarse(("status", "currency")) for k in _DEAL_KINDS)
ACTIVITY_KINDS = _ACTIVITY_KINDS + tuple(k.coarse(("type",)) for k in _ACTIVITY_KINDS)


#: Columns of each rollup written by :func:`rollup_rows`, in its select order.
DEAL_COLUMNS = (
    "workspace_id", "connection_id", "kind", "day", *DEAL_DIMENSIONS, "deals", "amount_n",
    "amount", "cycle_n", "cycle_seconds", "margin_n", "margin", "margin_revenue",
)  # fmt: skip
ACTIVITY_COLUMNS = (
    "workspace_id", "connection_id", "kind", "day", *ACTIVITY_DIMENSIONS, "activities",
    "accepted", "positive",
)  # fmt: skip


def _count_when(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.count(case((condition, 1)))


def _deal_sums(d: Any) -> list[ColumnElement[Any]]:
    cycle = and_(d.remote_created_at.is_not(None), d.closed_at.is_not(None))
    margin = and_(d.amount.is_not(None), d.cost.is_not(None))
    return [
        func.count().label("deals"),
        func.count(d.amount).label("amount_n"),
        func.sum(d.amount).label("amount"),
        _count_when(cycle).label("cycle_n"),
        func.sum(
            case((cycle, EpochSeconds(d.closed_at) - EpochSeconds(d.remote_created_at)))
        ).label("cycle_seconds"),
        _count_when(margin).label("margin_n"),
        func.sum(case((margin, d.amount - d.cost))).label("margin"),
        func.sum(case((margin, d.amount))).label("margin_revenue"),
    ]


def _activity_sums(a: Any) -> list[ColumnElement[Any]]:
    return [
        func.count().label("activities"),
        _count_when(
            or_(a.meeting_status == MeetingStatus.ACCEPTED, a.meeting_status == MeetingStatus.HELD)
        ).label("accepted"),
        _count_when(a.response == Response.POSITIVE).label("positive"),
    ]


def rollup_rows(
    model: type[DealDay] | type[ActivityDay],
    kind: Kind,
    workspace_ids: Sequence[str] | None,
    ranges: Sequence[Range] | None = None,
    source: Any = None,
    timezone: Any = None,
) -> Select[Any]:
    """The rows of ``model``'s ``kind`` computed from the base table (or ``source``: a table
    or CTE with the base table's columns), for ``workspace_ids`` (all with None) and, when
    given, only the days whose instants are in ``ranges``. ``timezone`` (an SQL expression,
    a bound parameter) is the workspace's when every row read is of one workspace whose
    timezone the caller holds (locked): its days are then computed without joining the
    workspace to every row."""
    table: Any = Deal.__table__ if model is DealDay else Activity.__table__
    rows: Any = table if source is None else source
    c = rows.c
    dimensions = DEAL_DIMENSIONS if model is DealDay else ACTIVITY_DIMENSIONS
    sums = _deal_sums(c) if model is DealDay else _activity_sums(c)
    instant = kind.instant(c)
    day = LocalDay(instant, Workspace.timezone if timezone is None else timezone)
    where = [c.deleted_at.is_(None), instant.is_not(None)]
    if kind.only is not None:
        where.append(kind.only(c))
    if workspace_ids is not None:
        where.append(c.workspace_id.in_(workspace_ids))
    if ranges is not None:
        where.append(or_(*(and_(instant >= start, instant < end) for start, end in ranges)))
    kept = [d for d in dimensions if kind.keep is None or d in kind.keep]
    grouped = [c[d] for d in kept]
    dims = [c[d] if d in kept else null().label(d) for d in dimensions]
    chosen = select(
        c.workspace_id, c.connection_id, literal(kind.name).label("kind"), day.label("day"),
        *dims, *sums,
    ).select_from(rows)  # fmt: skip
    if timezone is None:
        chosen = chosen.join(Workspace, Workspace.id == c.workspace_id)
    return chosen.where(*where).group_by(c.workspace_id, c.connection_id, day, *grouped)


def day_number(day: date) -> int:
    """A local date as the rollups' day number (days since 1970-01-01)."""
    return day.toordinal() - EPOCH_ORDINAL


def day_of(number: int) -> date:
    return date.fromordinal(number + EPOCH_ORDINAL)


def day_ranges(days: Sequence[int], timezone: str) -> list[Range]:
    """The UTC ranges of these local days, consecutive days merged."""
    out: list[Range] = []
    run: list[int] = []
    for number in sorted(set(days)):
        if run and number == run[-1] + 1:
            run.append(number)
            continue
        if run:
            out.append(_utc_range(run[0], run[-1], timezone))
        run = [number]
    if run:
        out.append(_utc_range(run[0], run[-1], timezone))
    return out


def _utc_range(first: int, last: int, timezone: str) -> Range:
    return to_utc(day_of(first), timezone), to_utc(day_of(last + 1), timezone)


__all__ = [
    "ACTIVITY_COLUMNS",
    "ACTIVITY_KINDS",
    "DEAL_COLUMNS",
    "DEAL_KINDS",
    "Kind",
    "day_number",
    "day_ranges",
    "rollup_rows",
]

"""Measures: the building blocks KPIs are made of, declared as data.

A measure is an entity, an aggregate, a row condition for one :class:`Frame`, for flow and
cohort measures the time column that places a row in a frame (``time``, MetricFlow's
agg_time_dimension: declared once, the frame's range on it is added for every frame, never
written in the condition) and, for sums, a per-row value. The compiler turns every (measure,
frame) pair into one conditional aggregate (``FILTER (WHERE ...)``) of its entity's single
scan.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, exists, func, literal, or_, true
from sqlalchemy.sql import ColumnElement

from core.metrics._sql import seconds_between
from core.metrics.types import Agg, Entity, Frame, FxDate
from core.models import Activity
from core.models.enums import ActivityType, DealStatus, MeetingStatus, Response

#: A source's column collection (``FromClause.c``).
Cols = Any
Condition = Callable[[Cols, Frame], ColumnElement[bool]]
Value = Callable[[Cols, Frame], ColumnElement[Any]]

DAY = 86400.0
HOUR = 3600.0


@dataclass(frozen=True, eq=False)
class Measure:
    """One aggregate of one entity under a frame-dependent condition.

    ``MONEY`` measures sum ``value`` converted to the reporting currency with the rate of
    ``fx`` (the row's local close date, or the frame's last local day).
    """

    name: str
    entity: Entity
    agg: Agg
    #: The rows' condition apart from the frame's range on ``time`` (see :attr:`where`).
    condition: Condition
    value: Value | None = None
    fx: FxDate | None = None
    description: str = ""
    #: For flow and cohort measures: the column whose value must fall in the frame, declared
    #: here only: :attr:`where` adds the frame's range on it. ``condition`` may read the
    #: frame's as-of (cohorts) but not its range, except through bounds the range implies
    #: (INDEX_RANGES), so two frames of equal as-of differ only by that range: what lets a
    #: series group rows by bucket of this column instead of one aggregate per bucket.
    time: str | None = None
    #: Reads ``stage_probability`` and the stage probability at its frames' ends of a deal,
    #: which the compiler joins only for such measures
    #: (core.metrics.sources.with_stage_probability).
    stage_probability: bool = False
    #: The whole row condition of a frame, which the compiler, series and drill-downs read:
    #: ``condition`` and, when ``time`` is declared, the frame's range on it. Built once per
    #: measure, so its identity stands for the condition (the compiler's per-row flags).
    where: Condition = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if (self.agg is Agg.COUNT) != (self.value is None):
            raise ValueError(f"measure {self.name}: only COUNT measures have no value")
        if (self.agg is Agg.MONEY) != (self.fx is not None):
            raise ValueError(f"measure {self.name}: MONEY measures, and only they, need fx")
        object.__setattr__(self, "where", _framed(self.condition, self.time))


def _framed(condition: Condition, time: str | None) -> Condition:
    """``condition`` and, for a measure with a time column, the frame's range on it."""
    if time is None:
        return condition

    def where(c: Cols, f: Frame) -> ColumnElement[bool]:
        return and_(condition(c, f), within(c[time], f))

    return where


def _any_row(c: Cols, f: Frame) -> ColumnElement[bool]:
    """No condition besides the frame's range on the measure's time column."""
    return true()


def held_before_marked(type_: Any, due_at: Any, done_at: Any) -> ColumnElement[bool]:
    """A meeting held at its start, earlier than the stored done time ``done_at`` (see
    :func:`activity_done_at`); as written here it implies the predicate of the partial index
    ``ix_activities_ws_held_early`` (migration 0011), so those few rows have a range of
    their own."""
    return and_(
        type_ == ActivityType.MEETING,
        done_at.is_not(None),
        due_at.is_not(None),
        due_at < done_at,
    )


def activity_done_at(a: Any) -> ColumnElement[Any]:
    """When an activity (the model or a source's columns) was done: a held meeting at its
    start, kept as its due time (KPIS.md "Meetings happen at their start": Salesforce stores
    an Event's end as its done time, Pipedrive the moment it was marked done), or when it was
    marked done if that was earlier; anything else when it was marked done. NULL while open.

    Never after the stored ``done_at``, so ``done_at >= start`` is an index-friendly bound
    the activities scan keeps (see ``_activities_done``).
    """
    return case((held_before_marked(a.type, a.due_at, a.done_at), a.due_at), else_=a.done_at)


def within(column: ColumnElement[Any], frame: Frame) -> ColumnElement[bool]:
    """``column`` falls in the frame's UTC range ``[start, end)``."""
    return and_(column >= frame.start, column < frame.end)


def _won(c: Cols, f: Frame) -> ColumnElement[bool]:
    return c.status == DealStatus.WON  # type: ignore[no-any-return]


def _lost(c: Cols, f: Frame) -> ColumnElement[bool]:
    return c.status == DealStatus.LOST  # type: ignore[no-any-return]


def _closed(c: Cols, f: Frame) -> ColumnElement[bool]:
    return c.status.in_([DealStatus.WON, DealStatus.LOST])  # type: ignore[no-any-return]


def open_at(c: Cols, f: Frame) -> ColumnElement[bool]:
    """Open at the frame's end: created before it, and still open or closed at/after it."""
    return and_(
        c.remote_created_at < f.end,
        or_(
            c.status == DealStatus.OPEN,
            and_(c.status.in_([DealStatus.WON, DealStatus.LOST]), c.closed_at >= f.end),
        ),
    )


def _open_any(c: Cols, f: Frame) -> ColumnElement[bool]:
    """Open at any instant of the frame: created before its end, not closed before its start."""
    return and_(
        c.remote_created_at < f.end,
        or_(
            c.status == DealStatus.OPEN,
            and_(c.status.in_([DealStatus.WON, DealStatus.LOST]), c.closed_at > f.start),
        ),
    )


def probability_column(instant: datetime) -> str:
    """The column of a deals source holding the probability of each deal's stage at
    ``instant`` by its stage history (core.metrics.sources.with_stage_probability)."""
    return f"probability_at_{int(instant.timestamp() * 1_000_000)}"


def _probability_at(c: Cols, f: Frame) -> ColumnElement[Any]:
    """Probability of the stage the deal was in at the frame's end (from stage history).

    Falls back to the deal's current stage, then its own probability, when history does not
    reach back to that instant. Both are joined to the source for the frames of the
    statement (see Measure.stage_probability), not looked up per deal.
    """
    historic = c[probability_column(f.end)]
    return func.coalesce(historic, c.stage_probability, c.probability, literal(0.0))


def _no_future_activity(link: ColumnElement[bool], f: Frame) -> ColumnElement[bool]:
    """No activity linked by ``link`` is scheduled at or after the frame's end, undone then."""
    done = activity_done_at(Activity)
    return ~exists().where(
        link,
        Activity.deleted_at.is_(None),
        Activity.due_at >= f.end,
        or_(done.is_(None), done >= f.end),
    )


def _cohort_converted(time_column: str) -> Condition:
    """Cohort entered at ``time_column`` (the measure's time) and converted by as-of (and
    within N days)."""

    def where(c: Cols, f: Frame) -> ColumnElement[bool]:
        entered = c[time_column]
        conditions = [c.conv_at <= f.as_of]
        if time_column == "created_at":
            conditions.append(c.is_lead.is_(True))
        if f.within_days is not None:
            conditions.append(seconds_between(entered, c.conv_at) <= f.within_days * DAY)
        return and_(*conditions)

    return where


def _entered(time_column: str) -> Condition:
    """Entered at ``time_column`` (the measure's time): created leads, or MQL/SQL dates."""

    def where(c: Cols, f: Frame) -> ColumnElement[bool]:
        return c.is_lead.is_(True) if time_column == "created_at" else true()

    return where


def _responded(c: Cols, f: Frame) -> ColumnElement[bool]:
    return and_(
        c.is_lead.is_(True),
        c.first_done_at <= f.as_of,
        c.first_done_at >= c.created_at,
    )


def _converted_in(c: Cols, f: Frame) -> ColumnElement[bool]:
    return and_(c.is_lead.is_(True), c.created_at.is_not(None))


def _cycle(c: Cols, f: Frame) -> ColumnElement[bool]:
    return and_(_won(c, f), c.remote_created_at.is_not(None))


def _with_cost(c: Cols, f: Frame) -> ColumnElement[bool]:
    return and_(_won(c, f), c.cost.is_not(None), c.amount.is_not(None))


def _open_deal_unscheduled(c: Cols, f: Frame) -> ColumnElement[bool]:
    link = and_(Activity.connection_id == c.connection_id, Activity.deal_remote_id == c.remote_id)
    return and_(open_at(c, f), _no_future_activity(link, f))


def _open_lead_unscheduled(c: Cols, f: Frame) -> ColumnElement[bool]:
    """An open lead with nothing scheduled among its activities: those linked to it and,
    once converted, those of the contact it became (KPIS.md "A lead's activities")."""
    link = and_(
        Activity.connection_id == c.connection_id,
        or_(
            and_(c.origin == "lead", Activity.lead_remote_id == c.remote_id),
            and_(c.origin == "lead", Activity.contact_remote_id == c.became_contact),
            and_(c.origin == "contact", Activity.contact_remote_id == c.remote_id),
        ),
    )
    return and_(
        c.is_lead.is_(True),
        c.created_at < f.end,
        or_(c.conv_at.is_(None), c.conv_at >= f.end),
        _no_future_activity(link, f),
    )


def _activities_done(c: Cols, f: Frame) -> ColumnElement[bool]:
    """Done in the frame (the measure's time); the stored time is never earlier than the
    done time, so the frame's start bounds it too, which lets the scan use the (workspace,
    done_at) index."""
    return c.marked_done_at >= f.start  # type: ignore[no-any-return]


def _activity_due_open(c: Cols, f: Frame) -> ColumnElement[bool]:
    return and_(
        or_(c.remote_created_at.is_(None), c.remote_created_at < f.end),
        c.due_at < f.end,
        or_(c.done_at.is_(None), c.done_at >= f.end),
    )


def _meetings(c: Cols, f: Frame) -> ColumnElement[bool]:
    return c.type == ActivityType.MEETING  # type: ignore[no-any-return]


def _meetings_accepted(c: Cols, f: Frame) -> ColumnElement[bool]:
    return and_(_meetings(c, f), c.meeting_status.in_([MeetingStatus.ACCEPTED, MeetingStatus.HELD]))


def _responses(c: Cols, f: Frame) -> ColumnElement[bool]:
    return and_(
        c.response.in_([Response.POSITIVE, Response.NEGATIVE]),
        within(func.coalesce(c.done_at, c.remote_created_at), f),
    )


def _positive(c: Cols, f: Frame) -> ColumnElement[bool]:
    return and_(_responses(c, f), c.response == Response.POSITIVE)


def _count(
    name: str, entity: Entity, where: Condition, description: str, time: str | None = None
) -> Measure:
    return Measure(name, entity, Agg.COUNT, where, description=description, time=time)


def _days(start: str, end: str) -> Value:
    return lambda c, f: seconds_between(c[start], c[end]) / DAY


D, P, A = Entity.DEALS, Entity.PROSPECTS, Entity.ACTIVITIES
CREATED, CLOSED = "remote_created_at", "closed_at"

#: Every measure with a time column declares it (``time=``); the others (deals open at an
#: instant, open activities, responses placed by a computed time) bound the frame themselves.
MEASURES: tuple[Measure, ...] = (
    _count("deals_created", D, _any_row, "deals created", CREATED),
    _count("deals_won", D, _won, "deals won (closed as won in the frame)", CLOSED),
    _count("deals_lost", D, _lost, "deals lost in the frame", CLOSED),
    _count("deals_closed", D, _closed, "deals won or lost in the frame", CLOSED),
    _count("deals_open_any", D, _open_any, "deals open at any instant of the frame"),
    _count("deals_open", D, open_at, "deals open at the frame's end"),
    Measure("won_amount", D, Agg.MONEY, _won, lambda c, f: c.amount, FxDate.CLOSE, time=CLOSED),
    Measure("pipeline_amount", D, Agg.MONEY, open_at, lambda c, f: c.amount, FxDate.FRAME_END),
    Measure(
        "weighted_pipeline_amount",
        D,
        Agg.MONEY,
        open_at,
        lambda c, f: c.amount * _probability_at(c, f),
        FxDate.FRAME_END,
        stage_probability=True,
    ),
    Measure("cycle_days", D, Agg.SUM, _cycle, _days(CREATED, CLOSED), time=CLOSED),
    _count("cycle_deals", D, _cycle, "won deals with a creation time", CLOSED),
    Measure(
        "margin_amount",
        D,
        Agg.MONEY,
        _with_cost,
        lambda c, f: c.amount - c.cost,
        FxDate.CLOSE,
        time=CLOSED,
    ),
    Measure(
        "margin_revenue", D, Agg.MONEY, _with_cost, lambda c, f: c.amount, FxDate.CLOSE, time=CLOSED
    ),
    _count("deals_unscheduled", D, _open_deal_unscheduled, "open deals, nothing scheduled"),
    _count("leads_created", P, _entered("created_at"), "leads created", "created_at"),
    _count(
        "leads_converted",
        P,
        _cohort_converted("created_at"),
        "leads converted by as-of",
        "created_at",
    ),
    _count("mqls", P, _entered("mql_at"), "contacts and leads that became MQL", "mql_at"),
    _count("mqls_converted", P, _cohort_converted("mql_at"), "MQLs converted by as-of", "mql_at"),
    _count("sqls", P, _entered("sql_at"), "contacts and leads that became SQL", "sql_at"),
    _count("sqls_converted", P, _cohort_converted("sql_at"), "SQLs converted by as-of", "sql_at"),
    _count(
        "leads_followed_up",
        P,
        lambda c, f: and_(_entered("created_at")(c, f), c.first_done_at <= f.as_of),
        "leads with a done activity by as-of",
        "created_at",
    ),
    Measure(
        "response_hours",
        P,
        Agg.SUM,
        _responded,
        lambda c, f: seconds_between(c.created_at, c.first_done_at) / HOUR,
        time="created_at",
    ),
    _count("responded_leads", P, _responded, "leads with a first done activity", "created_at"),
    Measure(
        "convert_days", P, Agg.SUM, _converted_in, _days("created_at", "conv_at"), time="conv_at"
    ),
    _count("leads_converted_in", P, _converted_in, "leads converted in the frame", "conv_at"),
    _count("leads_unscheduled", P, _open_lead_unscheduled, "open leads, nothing scheduled"),
    _count("activities_done", A, _activities_done, "activities done", "done_at"),
    _count("activities_due_open", A, _activity_due_open, "open activities due by the end"),
    _count("meetings", A, _meetings, "meetings created", CREATED),
    _count("meetings_accepted", A, _meetings_accepted, "meetings accepted or held", CREATED),
    _count("responses", A, _responses, "classified responses"),
    _count("responses_positive", A, _positive, "positive responses"),
    _count(
        "proposals_sent",
        Entity.PROPOSALS,
        _any_row,
        "deals entering a PROPOSAL stage for the first time",
        "first_at",
    ),
    Measure(
        "stay_days",
        Entity.STAGE_STAYS,
        Agg.SUM,
        _any_row,
        _days("entered_at", "exited_at"),
        time="exited_at",
    ),
    _count("stage_exits", Entity.STAGE_STAYS, _any_row, "stage exits", "exited_at"),
    _count(
        "stage_reached",
        Entity.STAGE_REACH,
        _any_row,
        "(deal, stage) pairs reached, deals created in the frame",
        CREATED,
    ),
    _count(
        "stage_passed",
        Entity.STAGE_REACH,
        lambda c, f: c.max_order > c.stage_order,
        "(deal, stage) pairs the deal went beyond, deals created in the frame",
        CREATED,
    ),
)

#: Measures whose frame range holds on a stored column other than their time column, and
#: whether it bounds that column above too: an activity's done time is never after its
#: stored done time (see ``activity_done_at``), so only the start bounds ``marked_done_at``.
INDEX_RANGES: dict[str, tuple[str, bool]] = {"activities_done": ("marked_done_at", False)}


#: A part of a measure's rows: a row condition (None: every row) and the stored column that
#: each of those rows over a frame has in the frame's range ``[start, end)``.
RangePart = tuple[Callable[[Cols], ColumnElement[bool]] | None, str]


def _done_as_marked(c: Cols) -> ColumnElement[bool]:
    """Done at the stored done time: not a meeting held earlier (NULL-safe; the type is
    never NULL)."""
    return or_(
        c.type != ActivityType.MEETING,
        c.due_at.is_(None),
        c.due_at >= c.marked_done_at,
    )


#: Measures whose rows over a frame are not one range of a stored column, as disjoint parts
#: that each are: an activity is done at its stored done time, or (a meeting held at its
#: start) at its due time.
RANGE_PARTS: dict[str, tuple[RangePart, ...]] = {
    "activities_done": (
        (_done_as_marked, "marked_done_at"),
        (lambda c: held_before_marked(c.type, c.due_at, c.marked_done_at), "due_at"),
    ),
}


def range_parts(measure: Measure) -> tuple[RangePart, ...] | None:
    """How the rows of ``measure`` over a frame are ranges of stored columns (disjoint parts,
    each a range of its column), or None: what lets a series read each bucket's rows as
    index ranges (core.metrics.series_sql)."""
    if measure.name in RANGE_PARTS:
        return RANGE_PARTS[measure.name]
    return None if measure.time is None else ((None, measure.time),)


def index_range(measure: Measure) -> tuple[str, bool] | None:
    """The column every row of ``measure`` over a frame has in the frame's range (start
    included; below the end too when the flag is set), or None: what lets the cells of a
    statement share one hull range instead of ORed per-cell ranges."""
    if measure.name in INDEX_RANGES:
        return INDEX_RANGES[measure.name]
    return None if measure.time is None else (measure.time, True)


#: Deal measures of deals open at an instant, and from which closing time a closed deal may
#: count: every row of them over a frame is still open (status OPEN) or closed at or after
#: the instant given for the frame (``open_at``: its end; open at any instant: its start).
#: What lets "open at t" read the still-open deals (a partial index) plus a range of closed
#: deals instead of every deal of the workspace (core.metrics.compiler).
OPEN_SINCE: dict[str, Callable[[Frame], datetime]] = {
    "deals_open": lambda f: f.end,
    "pipeline_amount": lambda f: f.end,
    "weighted_pipeline_amount": lambda f: f.end,
    "deals_unscheduled": lambda f: f.end,
    "deals_open_any": lambda f: f.start,
}


def open_since(measure: Measure) -> Callable[[Frame], datetime] | None:
    """For a deal measure of deals open at an instant, the earliest closing time of a closed
    deal it may count, per frame (see OPEN_SINCE); else None."""
    return OPEN_SINCE.get(measure.name) if measure.entity is Entity.DEALS else None


__all__ = [
    "MEASURES",
    "Measure",
    "activity_done_at",
    "index_range",
    "open_at",
    "open_since",
    "range_parts",
    "within",
]

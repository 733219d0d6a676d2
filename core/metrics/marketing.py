"""Imported data as metric sources: spend, visitors and survey responses (core.imports).

Spend and visitors are per local day, so frames select them by their local dates and spend
is converted at its own day's FX rate; survey responses are instants like CRM events. The
channel is exposed as ``source``, so the SOURCE segment and breakdown (lead source /
channel) apply to spend and visitors as they do to leads: a campaign view is costPerLead
segmented by channel.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import FromClause, and_, case, literal, select
from sqlalchemy.sql import ColumnElement

from core.metrics.formulas import Cell, Outcome, Values, _get
from core.metrics.measures import Cols, Measure
from core.metrics.types import Agg, Entity, Frame, FxDate
from core.models import Spend, SurveyResponse, Visitors


def spend_source(workspace_ids: Sequence[str]) -> FromClause:
    return (
        select(
            Spend.workspace_id,
            Spend.day,
            Spend.kind,
            Spend.channel.label("source"),
            Spend.campaign,
            Spend.amount,
            Spend.currency,
        )
        .where(Spend.workspace_id.in_(workspace_ids))
        .subquery("spend_src")
    )


def visitors_source(workspace_ids: Sequence[str]) -> FromClause:
    return (
        select(
            Visitors.workspace_id,
            Visitors.day,
            Visitors.channel.label("source"),
            Visitors.count,
        )
        .where(Visitors.workspace_id.in_(workspace_ids))
        .subquery("visitors_src")
    )


def surveys_source(workspace_ids: Sequence[str]) -> FromClause:
    return (
        select(
            SurveyResponse.workspace_id,
            SurveyResponse.kind,
            SurveyResponse.responded_at,
            SurveyResponse.score,
            SurveyResponse.account_remote_id,
        )
        .where(SurveyResponse.workspace_id.in_(workspace_ids))
        .subquery("surveys_src")
    )


def _on_days(c: Cols, f: Frame) -> ColumnElement[bool]:
    """A local ``day`` column in the frame's local dates ``[start, end)``."""
    return and_(c.day >= f.start_date, c.day < f.end_date)


def _spend(kind: str | None) -> Measure:
    def where(c: Cols, f: Frame) -> ColumnElement[bool]:
        return _on_days(c, f) if kind is None else and_(_on_days(c, f), c.kind == kind)

    name = f"{kind.lower()}_spend" if kind else "spend"
    return Measure(name, Entity.SPEND, Agg.MONEY, where, lambda c, f: c.amount, FxDate.DAY)


def _answered(kind: str) -> Measure:
    name = f"{kind.lower()}_responses"
    return Measure(
        name,
        Entity.SURVEYS,
        Agg.COUNT,
        lambda c, f: c.kind == kind,
        description=f"{kind} responses in the frame",
        time="responded_at",
    )


def _nps_points(c: Cols, f: Frame) -> ColumnElement[int]:
    """+100 for a promoter (9-10), -100 for a detractor (0-6): their mean is the NPS."""
    return case((c.score >= 9, literal(100)), (c.score <= 6, literal(-100)), else_=literal(0))


MARKETING_MEASURES: tuple[Measure, ...] = (
    _spend(None),
    _spend("MARKETING"),
    Measure("visitors", Entity.VISITORS, Agg.SUM, _on_days, lambda c, f: c.count),
    _answered("NPS"),
    _answered("CSAT"),
    Measure(
        "nps_points",
        Entity.SURVEYS,
        Agg.SUM,
        lambda c, f: c.kind == "NPS",
        _nps_points,
        time="responded_at",
    ),
    Measure(
        "csat_score",
        Entity.SURVEYS,
        Agg.SUM,
        lambda c, f: c.kind == "CSAT",
        lambda c, f: c.score,
        time="responded_at",
    ),
    Measure(
        "csat_satisfied",
        Entity.SURVEYS,
        Agg.COUNT,
        lambda c, f: and_(c.kind == "CSAT", c.score >= 4),
        time="responded_at",
    ),
)


@dataclass(frozen=True, slots=True)
class NetReturn:
    """``(gain - cost) ÷ cost`` (ROI); numerator gain - cost, denominator cost."""

    gain: str
    cost: str
    empty: str

    def measures(self) -> tuple[str, ...]:
        return (self.gain, self.cost)

    def cells(self, frame: Frame) -> list[Cell]:
        return [(self.gain, frame), (self.cost, frame)]

    def evaluate(self, values: Values, frame: Frame) -> Outcome:
        gain, cost = _get(values, (self.gain, frame)), _get(values, (self.cost, frame))
        if cost == 0:
            return Outcome(None, gain - cost, cost, self.empty)
        return Outcome((gain - cost) / cost, gain - cost, cost)

"""How a KPI's value follows from its measures' values (evaluated in Python on aggregates).

A formula lists the (measure, frame) cells it needs, then computes the value, numerator,
denominator and, when it cannot, the reason for a null value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from core.metrics.periods import Calendar, LocalPeriod, previous
from core.metrics.types import Frame

Cell = tuple[str, Frame]
#: Aggregate values by cell; a missing or None value of a sum or count means zero.
Values = Mapping[Cell, float | None]


@dataclass(frozen=True, slots=True)
class Outcome:
    value: float | None
    numerator: float | None = None
    denominator: float | None = None
    null_reason: str | None = None
    #: Named values given besides the value (e.g. the mean score of csat).
    extra: Mapping[str, float] | None = None


def previous_frame(frame: Frame) -> Frame:
    """The previous equal period of a frame (KPIS.md), followed to the same as-of."""
    period = LocalPeriod(frame.start_date, frame.end_date, Calendar(frame.timezone))
    return previous(period).frame(frame.as_of, frame.within_days)


def _get(values: Values, cell: Cell) -> float:
    value = values.get(cell)
    return 0.0 if value is None else float(value)


class Formula(Protocol):
    def measures(self) -> tuple[str, ...]: ...

    def cells(self, frame: Frame) -> list[Cell]: ...

    def evaluate(self, values: Values, frame: Frame) -> Outcome: ...


@dataclass(frozen=True, slots=True)
class Single:
    """The measure itself (a count or a sum)."""

    measure: str

    def measures(self) -> tuple[str, ...]:
        return (self.measure,)

    def cells(self, frame: Frame) -> list[Cell]:
        return [(self.measure, frame)]

    def evaluate(self, values: Values, frame: Frame) -> Outcome:
        return Outcome(_get(values, (self.measure, frame)))


@dataclass(frozen=True, slots=True)
class Total:
    """The sum of several measures (e.g. pending follow-ups across three entities)."""

    parts: tuple[str, ...]

    def measures(self) -> tuple[str, ...]:
        return self.parts

    def cells(self, frame: Frame) -> list[Cell]:
        return [(m, frame) for m in self.parts]

    def evaluate(self, values: Values, frame: Frame) -> Outcome:
        return Outcome(sum(_get(values, (m, frame)) for m in self.parts))


@dataclass(frozen=True, slots=True)
class Ratio:
    """``numerator ÷ denominator``; null with ``empty`` as the reason when it is zero."""

    numerator: str
    denominator: str
    empty: str

    def measures(self) -> tuple[str, ...]:
        return (self.numerator, self.denominator)

    def cells(self, frame: Frame) -> list[Cell]:
        return [(self.numerator, frame), (self.denominator, frame)]

    def evaluate(self, values: Values, frame: Frame) -> Outcome:
        num = _get(values, (self.numerator, frame))
        den = _get(values, (self.denominator, frame))
        if den == 0:
            return Outcome(None, num, den, self.empty)
        return Outcome(num / den, num, den)


@dataclass(frozen=True, slots=True)
class Growth:
    """``(m - m of the previous equal period) ÷ the latter``."""

    measure: str
    empty: str

    def measures(self) -> tuple[str, ...]:
        return (self.measure,)

    def cells(self, frame: Frame) -> list[Cell]:
        return [(self.measure, frame), (self.measure, previous_frame(frame))]

    def evaluate(self, values: Values, frame: Frame) -> Outcome:
        now = _get(values, (self.measure, frame))
        before = _get(values, (self.measure, previous_frame(frame)))
        if before == 0:
            return Outcome(None, now, before, self.empty)
        return Outcome((now - before) / before, now, before)


@dataclass(frozen=True, slots=True)
class Decline:
    """``(before - after) ÷ before``: the share of ``before`` that is gone (net churn)."""

    before: str
    after: str
    empty: str

    def measures(self) -> tuple[str, ...]:
        return (self.before, self.after)

    def cells(self, frame: Frame) -> list[Cell]:
        return [(self.before, frame), (self.after, frame)]

    def evaluate(self, values: Values, frame: Frame) -> Outcome:
        before = _get(values, (self.before, frame))
        after = _get(values, (self.after, frame))
        if before == 0:
            return Outcome(None, before - after, before, self.empty)
        return Outcome((before - after) / before, before - after, before)


@dataclass(frozen=True, slots=True)
class LifetimeValue:
    """Revenue per active customer per year times mean lifetime in years.

    ``revenue ÷ customers`` over the period, scaled to a year by 365 ÷ the period's days,
    times ``lifetime_days ÷ lost ÷ 365``. Numerator: revenue per customer per year;
    denominator: 1 ÷ lifetime in years, so value = numerator ÷ denominator.
    """

    revenue: str
    customers: str
    lifetime_days: str
    lost: str

    def measures(self) -> tuple[str, ...]:
        return (self.revenue, self.customers, self.lifetime_days, self.lost)

    def cells(self, frame: Frame) -> list[Cell]:
        return [(m, frame) for m in self.measures()]

    def evaluate(self, values: Values, frame: Frame) -> Outcome:
        customers = _get(values, (self.customers, frame))
        lost = _get(values, (self.lost, frame))
        if customers == 0:
            return Outcome(None, null_reason="no customers were active in the period")
        if lost == 0:
            return Outcome(None, null_reason="no customers were lost in the period")
        days = (frame.end_date - frame.start_date).days
        per_year = _get(values, (self.revenue, frame)) / customers * 365.0 / days
        years = _get(values, (self.lifetime_days, frame)) / lost / 365.0
        if years == 0:
            return Outcome(None, null_reason="lost customers had no lifetime")
        return Outcome(per_year * years, per_year, 1.0 / years)


@dataclass(frozen=True, slots=True)
class Incremental:
    """``revenue - mean revenue of the previous equal periods - spend``.

    Numerator: the revenue above the baseline; denominator: the baseline.
    """

    revenue: str
    spend: str
    baseline_periods: int = 3

    def measures(self) -> tuple[str, ...]:
        return (self.revenue, self.spend)

    def _previous(self, frame: Frame) -> list[Frame]:
        frames, current = [], frame
        for _ in range(self.baseline_periods):
            current = previous_frame(current)
            frames.append(current)
        return frames

    def cells(self, frame: Frame) -> list[Cell]:
        return [(self.revenue, frame), (self.spend, frame)] + [
            (self.revenue, f) for f in self._previous(frame)
        ]

    def evaluate(self, values: Values, frame: Frame) -> Outcome:
        revenue = _get(values, (self.revenue, frame))
        previous = [_get(values, (self.revenue, f)) for f in self._previous(frame)]
        baseline = sum(previous) / len(previous)
        spend = _get(values, (self.spend, frame))
        return Outcome(revenue - baseline - spend, revenue - baseline, baseline)


@dataclass(frozen=True, slots=True)
class RatioWithMean:
    """A :class:`Ratio` that also gives ``total ÷ denominator`` as ``extra[name]``."""

    ratio: Ratio
    total: str
    name: str

    def measures(self) -> tuple[str, ...]:
        return (*self.ratio.measures(), self.total)

    def cells(self, frame: Frame) -> list[Cell]:
        return [*self.ratio.cells(frame), (self.total, frame)]

    def evaluate(self, values: Values, frame: Frame) -> Outcome:
        outcome = self.ratio.evaluate(values, frame)
        if not outcome.denominator:
            return outcome
        mean = _get(values, (self.total, frame)) / outcome.denominator
        return Outcome(
            outcome.value, outcome.numerator, outcome.denominator, extra={self.name: mean}
        )


@dataclass(frozen=True, slots=True)
class Difference:
    """``minuend - subtrahend`` (e.g. customers ever minus those still active and in touch)."""

    minuend: str
    subtrahend: str

    def measures(self) -> tuple[str, ...]:
        return (self.minuend, self.subtrahend)

    def cells(self, frame: Frame) -> list[Cell]:
        return [(self.minuend, frame), (self.subtrahend, frame)]

    def evaluate(self, values: Values, frame: Frame) -> Outcome:
        return Outcome(_get(values, (self.minuend, frame)) - _get(values, (self.subtrahend, frame)))

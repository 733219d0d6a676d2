"""The vocabulary of the metrics core: closed sets as enums, and the evaluation frame."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum


class Unit(StrEnum):
    COUNT = "COUNT"
    MONEY = "MONEY"
    RATIO = "RATIO"
    DAYS = "DAYS"
    HOURS = "HOURS"
    SCORE = "SCORE"


class KpiKind(StrEnum):
    """flow: events in the period; stock: a state at the period's end; cohort: records
    created in the period followed up to ``asOf``."""

    FLOW = "FLOW"
    STOCK = "STOCK"
    COHORT = "COHORT"


class Entity(StrEnum):
    """What one SQL scan reads; every measure belongs to exactly one entity."""

    DEALS = "DEALS"
    #: Leads and contacts in one row set (HubSpot lead contacts, Salesforce/Pipedrive leads).
    PROSPECTS = "PROSPECTS"
    ACTIVITIES = "ACTIVITIES"
    #: One row per stay of a deal in a stage.
    STAGE_STAYS = "STAGE_STAYS"
    #: One row per deal that ever entered a PROPOSAL-kind stage, with its first entry.
    PROPOSALS = "PROPOSALS"
    #: One row per active stretch of a customer (core.metrics.customers).
    CUSTOMERS = "CUSTOMERS"
    #: One row per (deal, stage of its pipeline it reached): entered it or a later one.
    STAGE_REACH = "STAGE_REACH"
    #: Imported rows (core.metrics.marketing): spend per day, visitors per day, surveys.
    SPEND = "SPEND"
    VISITORS = "VISITORS"
    SURVEYS = "SURVEYS"
    #: Accounts (companies), for user-defined KPIs (core.metrics.user_kpis).
    ACCOUNTS = "ACCOUNTS"


class Agg(StrEnum):
    COUNT = "COUNT"
    #: Distinct values of ``value`` among the rows meeting the condition.
    COUNT_DISTINCT = "COUNT_DISTINCT"
    SUM = "SUM"
    #: A sum of amounts converted to the reporting currency (with a missing-FX count).
    MONEY = "MONEY"


class FxDate(StrEnum):
    """Which date's rate converts a money measure (KPIS.md "FX dates")."""

    CLOSE = "CLOSE"  # the record's local close date
    FRAME_END = "FRAME_END"  # the frame's last local day (stock KPIs)
    DAY = "DAY"  # the row's own local ``day`` column (imported spend)


class Granularity(StrEnum):
    DAY = "DAY"
    WEEK = "WEEK"
    MONTH = "MONTH"
    QUARTER = "QUARTER"
    YEAR = "YEAR"


class Comparison(StrEnum):
    PREVIOUS_PERIOD = "PREVIOUS_PERIOD"
    SAME_PERIOD_LAST_YEAR = "SAME_PERIOD_LAST_YEAR"


class Statistic(StrEnum):
    MEAN = "MEAN"
    MEDIAN = "MEDIAN"
    P90 = "P90"


#: The fraction each percentile statistic stands for (linear interpolation, percentile_cont).
PERCENTILES: dict[Statistic, float] = {Statistic.MEDIAN: 0.5, Statistic.P90: 0.9}


@dataclass(frozen=True, slots=True)
class Frame:
    """One evaluation window: the unit the compiler turns into conditional aggregates.

    ``start``/``end`` are UTC instants (end exclusive) computed in Python from local dates
    and the timezone, so SQL never converts timezones. ``as_of`` is where cohorts stop being
    followed; ``last_day`` is the local day whose FX rate converts stock money.
    ``within_days`` limits cohort conversions to that many days after creation.
    """

    start_date: date
    end_date: date
    timezone: str
    start: datetime
    end: datetime
    as_of: datetime
    within_days: int | None = None

    @property
    def last_day(self) -> date:
        return date.fromordinal(self.end_date.toordinal() - 1)

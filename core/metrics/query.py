"""What a caller asks the metrics core for, and what it gets back."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import Executable, Result, ScalarResult

from core.metrics.periods import PeriodSpec, Preset
from core.metrics.segments import Breakdown, Segment
from core.metrics.types import Comparison, Frame, Granularity, KpiKind, Statistic, Unit


@dataclass(frozen=True, slots=True)
class KpiRequest:
    """One KPI field of a GraphQL query with its arguments (hashable, for batching).

    ``timezone``, ``fiscal_year_start_month`` and ``week_start`` default to the workspace's.
    """

    kpi: str
    period: PeriodSpec = field(default_factory=lambda: PeriodSpec(preset=Preset.THIS_MONTH))
    timezone: str | None = None
    fiscal_year_start_month: int | None = None
    week_start: int | None = None
    segment: Segment = field(default_factory=Segment)
    compare_to: Comparison | None = None
    granularity: Granularity | None = None
    breakdown: Breakdown | None = None
    as_of: datetime | None = None
    statistic: Statistic = Statistic.MEAN
    within_days: int | None = None
    #: incrementalRevenue: how many previous equal periods make the baseline (default 3).
    baseline_periods: int | None = None


@dataclass(frozen=True, slots=True)
class Scope:
    """Whose data: the workspaces the caller may read (decided by the API) and a currency."""

    workspace_ids: tuple[str, ...]
    currency: str | None = None


@dataclass(frozen=True, slots=True)
class PeriodInfo:
    start: date
    end: date
    timezone: str
    start_utc: datetime
    end_utc: datetime
    in_progress: bool


@dataclass(frozen=True, slots=True)
class Point:
    """One bucket of a series, or one group of a breakdown (key/label)."""

    label: str
    value: float | None
    numerator: float | None
    denominator: float | None
    null_reason: str | None
    start: date | None = None
    end: date | None = None
    key: str | None = None
    #: What the drill-down of this point reads: a bucket's frame, or for a group the
    #: request's segment narrowed to the group (None for "(none)" and "other").
    frame: Frame | None = None
    segment: Segment | None = None


@dataclass(frozen=True, slots=True)
class ComparisonResult:
    value: float | None
    numerator: float | None
    denominator: float | None
    null_reason: str | None
    change: float | None
    change_ratio: float | None
    period: PeriodInfo
    #: True when the period is in progress and the comparison was cut to the same elapsed part.
    aligned: bool


@dataclass(frozen=True, slots=True)
class Freshness:
    #: Oldest last successful sync among the connections the KPI read (None: one never synced).
    synced_at: datetime | None
    stale_connections: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class KpiResult:
    name: str
    kind: KpiKind
    unit: Unit
    value: float | None
    numerator: float | None
    denominator: float | None
    null_reason: str | None
    currency: str | None
    missing_fx_count: int
    period: PeriodInfo
    statistic: Statistic
    freshness: Freshness
    comparison: ComparisonResult | None = None
    series: tuple[Point, ...] | None = None
    breakdown: tuple[Point, ...] | None = None
    extra: dict[str, float] = field(default_factory=dict)
    #: The target set for exactly this KPI, period and segment (single-workspace scopes).
    target: float | None = None
    attainment: float | None = None
    #: Run-rate forecast of a period in progress (core.metrics.target_match.projection).
    projection: float | None = None
    #: The frame and segment of the value, for its drill-down (core.metrics.drill).
    frame: Frame | None = None
    segment: Segment | None = None


class Reader(Protocol):
    """What the executor needs of a session (an AsyncSession, or the API's serialised one)."""

    async def execute(self, statement: Executable, params: Any = None) -> Result[Any]: ...

    async def scalars(self, statement: Executable, params: Any = None) -> ScalarResult[Any]: ...

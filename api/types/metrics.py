"""GraphQL types of the metrics core: inputs, the KpiResult shape, and conversions."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import cast

import strawberry
from strawberry.scalars import JSON

from api.types._convert import from_attributes
from api.types.drill import RECORDS_DESCRIPTION, DrillTarget, records_field
from api.types.filters import METRIC_FILTERS, input_filters
from core import metrics as m
from core.errors import ValidationError
from core.metrics.dimensions import METRIC_DIMENSIONS
from core.metrics.query import ComparisonResult as CoreComparison
from core.metrics.query import PeriodInfo as CorePeriodInfo
from core.metrics.query import Point as CorePoint
from core.models import UserKpi

PeriodPreset = strawberry.enum(m.Preset, name="PeriodPreset", description="Calendar presets.")
ComparisonKind = strawberry.enum(
    m.Comparison, name="Comparison", description="What a KPI is compared with."
)
Granularity = strawberry.enum(m.Granularity, name="Granularity", description="Series buckets.")
Statistic = strawberry.enum(
    m.Statistic, name="Statistic", description="MEAN, or MEDIAN / P90 (linear interpolation)."
)
#: The dimensions metrics offer, as the GraphQL enum (the catalogue's record-list-only
#: dimensions, such as STATUS, are not among them).
_MetricDimension = StrEnum(  # type: ignore[misc]
    "_MetricDimension", [(d.name, d.value) for d in METRIC_DIMENSIONS]
)
Dimension = strawberry.enum(_MetricDimension, name="Dimension", description="Segment dimensions.")
Unit = strawberry.enum(m.Unit, name="Unit", description="Unit of a KPI's value.")
KpiKind = strawberry.enum(m.KpiKind, name="KpiKind", description="flow, stock or cohort.")


@strawberry.input(description="A preset, or start and end local dates (end exclusive).")
class PeriodInput:
    preset: PeriodPreset | None = None  # type: ignore[valid-type]
    start: date | None = None
    end: date | None = strawberry.field(default=None, description="Exclusive.")
    timezone: str | None = strawberry.field(
        default=None, description="IANA timezone; default the workspace's."
    )
    fiscal_year_start_month: int | None = None
    week_start: int | None = strawberry.field(default=None, description="1 = Monday ... 7.")

    def to_core(self) -> m.PeriodSpec:
        preset = m.Preset(self.preset) if self.preset is not None else None
        return m.PeriodSpec(preset=preset, start=self.start, end=self.end)


@strawberry.input(description="A custom dimension declared through field mappings.")
class CustomFilterInput:
    field: str
    values: list[str]


@strawberry.input(
    description="Filters combine with AND, values of one filter with OR. Ids are the API's ids "
    "(users, teams, pipelines, stages, connections, workspaces); others are values."
)
class SegmentInput:
    owners: list[strawberry.ID] | None = None
    teams: list[strawberry.ID] | None = None
    pipelines: list[strawberry.ID] | None = None
    stages: list[strawberry.ID] | None = None
    sources: list[str] | None = None
    countries: list[str] | None = None
    regions: list[str] | None = None
    industries: list[str] | None = None
    deal_types: list[str] | None = None
    activity_types: list[str] | None = None
    connections: list[strawberry.ID] | None = None
    workspaces: list[strawberry.ID] | None = None
    custom: list[CustomFilterInput] | None = None

    def to_core(self) -> m.Segment:
        pairs = input_filters(self, METRIC_FILTERS)
        for custom in self.custom or []:
            pairs.append((m.DimensionRef(m.Dimension.CUSTOM, custom.field), custom.values))
        return m.Segment.of(pairs)


@strawberry.input(description="Group by one dimension (or a custom field); top N plus 'other'.")
class BreakdownInput:
    by: Dimension | None = None  # type: ignore[valid-type]
    custom: str | None = None
    top: int = 10

    def to_core(self) -> m.Breakdown:
        if (self.by is None) == (self.custom is None):
            raise ValidationError("a breakdown needs either 'by' or 'custom'")
        if self.custom is not None:
            return m.Breakdown(m.DimensionRef(m.Dimension.CUSTOM, self.custom), self.top)
        assert self.by is not None
        if self.by == m.Dimension.CUSTOM:
            raise ValidationError('use breakdown {custom: "field"} for custom dimensions')
        return m.Breakdown(m.DimensionRef(m.Dimension(self.by)), self.top)


@strawberry.type(description="The period a value covers.")
class Period:
    start: date = strawberry.field(description="First local day.")
    end: date = strawberry.field(description="Local day after the last (exclusive).")
    timezone: str
    start_utc: datetime
    end_utc: datetime = strawberry.field(
        description="Exclusive; earlier than end when the comparison is aligned."
    )
    in_progress: bool

    @classmethod
    def of(cls, info: CorePeriodInfo) -> Period:
        return from_attributes(cls, info)


@strawberry.type(description="The same KPI over the comparison period.")
class KpiComparison:
    value: float | None
    numerator: float | None
    denominator: float | None
    null_reason: str | None
    change: float | None = strawberry.field(description="value - comparison value.")
    change_ratio: float | None = strawberry.field(
        description="change ÷ |comparison value|; null when that is 0."
    )
    period: Period
    aligned: bool = strawberry.field(
        description="True when the period is in progress and the comparison period was cut to "
        "the same elapsed part (local wall-clock time)."
    )

    @classmethod
    def of(cls, c: CoreComparison) -> KpiComparison:
        return from_attributes(cls, c, period=Period.of(c.period))


@strawberry.type(description="One bucket of a series.")
class KpiPoint:
    start: date
    end: date
    label: str
    value: float | None
    numerator: float | None
    denominator: float | None
    null_reason: str | None
    partial: bool = strawberry.field(
        default=False,
        description="True when the bucket ends after now (or after asOf): the period in "
        "progress, or one still to come. Its value covers only part of the bucket, so charts "
        "draw it apart (dashed) rather than as a drop.",
    )
    drill: strawberry.Private[DrillTarget | None] = None
    records = records_field(RECORDS_DESCRIPTION + " Restricted to this bucket.")

    @classmethod
    def of(
        cls, p: CorePoint, drill: DrillTarget | None = None, as_of: datetime | None = None
    ) -> KpiPoint:
        assert p.start is not None and p.end is not None
        return from_attributes(
            cls,
            p,
            partial=_ends_after(p, as_of or datetime.now(UTC)),
            drill=drill.narrowed(p.frame, drill.segment) if drill else None,
        )


def _ends_after(p: CorePoint, moment: datetime) -> bool:
    """Whether a bucket ends after ``moment``: its frame's UTC end when it has one, else the
    local end date read as UTC midnight (the frame is the exact, timezone-aware boundary)."""
    if p.frame is not None:
        return p.frame.end > moment
    assert p.end is not None
    return datetime(p.end.year, p.end.month, p.end.day, tzinfo=UTC) > moment


@strawberry.type(description="One group of a breakdown; key null is the 'other' bucket.")
class KpiGroup:
    key: str | None = strawberry.field(description="Our id, or the value; '' when unset.")
    label: str
    value: float | None
    numerator: float | None
    denominator: float | None
    null_reason: str | None
    drill: strawberry.Private[DrillTarget | None] = None
    records = records_field(
        RECORDS_DESCRIPTION + " Restricted to this group (not for '(none)' and 'other')."
    )

    @classmethod
    def of(cls, p: CorePoint, drill: DrillTarget | None = None) -> KpiGroup:
        return from_attributes(cls, p, drill=drill.narrowed(None, p.segment) if drill else None)


@strawberry.type(
    description="The target set for exactly this KPI, period and segment (setTarget), and "
    "value ÷ target; only when one workspace is read."
)
class KpiTarget:
    value: float | None
    attainment: float | None = strawberry.field(description="value ÷ target; null for a 0 target.")


@strawberry.type(description="How current the data behind a value is.")
class Freshness:
    synced_at: datetime | None = strawberry.field(
        description="Oldest last successful sync among the connections read; null when one "
        "never synced."
    )
    stale_connections: list[strawberry.ID] = strawberry.field(
        description="Connections never synced or not synced for 24 hours."
    )


@strawberry.type(description="A named value a KPI gives besides its value.")
class KpiExtra:
    name: str
    value: float


@strawberry.type(description="A KPI value with what makes it explainable.")
class KpiResult:
    name: str
    kind: KpiKind  # type: ignore[valid-type]
    unit: Unit  # type: ignore[valid-type]
    statistic: Statistic  # type: ignore[valid-type]
    value: float | None
    numerator: float | None
    denominator: float | None
    null_reason: str | None
    currency: str | None = strawberry.field(description="Reporting currency of money values.")
    missing_fx_count: int = strawberry.field(
        description="Records left out because their currency had no FX rate."
    )
    period: Period
    comparison: KpiComparison | None
    series: list[KpiPoint] | None
    breakdown: list[KpiGroup] | None
    freshness: Freshness
    target: KpiTarget | None = None
    projection: float | None = strawberry.field(
        default=None,
        description="Run-rate forecast of a period in progress: counts and sums of flow KPIs "
        "scaled by period length ÷ time elapsed; ratios, means and stocks stay at their value. "
        "Null when the period is not in progress.",
    )
    drill: strawberry.Private[DrillTarget | None] = None
    records = records_field(RECORDS_DESCRIPTION)
    extra: list[KpiExtra] = strawberry.field(
        default_factory=list,
        description="Values given besides the value, by name (csat: meanScore, the mean 1-5 "
        "score); empty for most KPIs.",
    )

    @classmethod
    def of(
        cls, r: m.KpiResult, drill: DrillTarget | None = None, as_of: datetime | None = None
    ) -> KpiResult:
        """``as_of``: the request's asOf (default now), which decides the points' partial."""
        if drill is not None:
            drill = drill.narrowed(r.frame, r.segment)
        return cls(
            name=r.name,
            kind=r.kind,
            unit=r.unit,
            statistic=r.statistic,
            value=r.value,
            numerator=r.numerator,
            denominator=r.denominator,
            null_reason=r.null_reason,
            currency=r.currency,
            missing_fx_count=r.missing_fx_count,
            period=Period.of(r.period),
            comparison=KpiComparison.of(r.comparison) if r.comparison else None,
            series=[KpiPoint.of(p, drill, as_of) for p in r.series]
            if r.series is not None
            else None,
            breakdown=[KpiGroup.of(p, drill) for p in r.breakdown]
            if r.breakdown is not None
            else None,
            freshness=Freshness(
                synced_at=r.freshness.synced_at,
                stale_connections=[strawberry.ID(c) for c in r.freshness.stale_connections],
            ),
            target=KpiTarget(value=r.target, attainment=r.attainment)
            if r.target is not None
            else None,
            projection=r.projection,
            drill=drill,
            extra=[KpiExtra(name=k, value=v) for k, v in sorted(r.extra.items())],
        )


@strawberry.type(description="A KPI of the registry, built-in or user-defined.")
class KpiDefinition:
    name: str
    kind: KpiKind  # type: ignore[valid-type]
    unit: Unit  # type: ignore[valid-type]
    description: str
    user_defined: bool = strawberry.field(
        default=False, description="Defined by a user (defineKpi or `crmkpi kpi define`)."
    )
    workspace_id: strawberry.ID | None = strawberry.field(
        default=None, description="The workspace of a workspace KPI; null for the organization's."
    )
    definition: JSON | None = strawberry.field(
        default=None, description="The declaration of a user-defined KPI, as it was given."
    )

    @classmethod
    def of_user(cls, row: UserKpi) -> KpiDefinition:
        """A stored user-defined KPI (always a flow KPI)."""
        return cls(
            name=row.name,
            kind=m.KpiKind.FLOW,
            unit=m.Unit(row.unit),
            description=row.description,
            user_defined=True,
            workspace_id=strawberry.ID(row.workspace_id) if row.workspace_id else None,
            definition=cast(JSON, row.definition),
        )

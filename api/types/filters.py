"""Inputs of the record lists: a segment mirroring the metrics' SegmentInput, and a period."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import strawberry

from core.errors import ValidationError
from core.metrics.dimensions import CATALOGUE, Dimension, DimensionRef, DimensionSpec, ValueKind
from core.records import Period, Segment, TimeField, parse_record_id


def input_filters(
    given: object, specs: Iterable[DimensionSpec]
) -> list[tuple[DimensionRef, list[str]]]:
    """The filters of a segment input, whose fields are the catalogue's keys (snake_case):
    one conversion for the metrics' SegmentInput and the record lists' RecordSegmentInput."""
    pairs = []
    for spec in specs:
        values = getattr(given, spec.attr)
        if values:
            pairs.append((DimensionRef(spec.dimension), [str(v) for v in values]))
    return pairs


#: The dimensions of RecordSegmentInput, and of SegmentInput's plain fields (not custom).
RECORD_DIMENSIONS = tuple(s for s in CATALOGUE.values() if s.records)
METRIC_FILTERS = tuple(
    s for s in CATALOGUE.values() if s.metrics and s.dimension is not Dimension.CUSTOM
)


@strawberry.input(
    description=(
        "Optional filters on the records listed, like the metrics' segment: dimensions "
        "combine with AND, values within one dimension with OR. Ids are record ids."
    )
)
class RecordSegmentInput:
    connections: list[strawberry.ID] | None = strawberry.field(
        default=None, description="CRM connections."
    )
    owners: list[strawberry.ID] | None = strawberry.field(default=None, description="Users.")
    teams: list[strawberry.ID] | None = strawberry.field(default=None, description="Teams.")
    pipelines: list[strawberry.ID] | None = strawberry.field(default=None, description="Pipelines.")
    stages: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Current stages."
    )
    sources: list[str] | None = strawberry.field(
        default=None, description="Lead sources or channels."
    )
    countries: list[str] | None = strawberry.field(default=None, description="Account countries.")
    regions: list[str] | None = strawberry.field(default=None, description="Account regions.")
    industries: list[str] | None = strawberry.field(default=None, description="Account industries.")
    deal_types: list[str] | None = strawberry.field(
        default=None, description="NEW_BUSINESS, UPSELL, CROSS_SELL, RENEWAL, UPGRADE."
    )
    statuses: list[str] | None = strawberry.field(
        default=None, description="Deal status (OPEN, WON, LOST) or lead status."
    )
    activity_types: list[str] | None = strawberry.field(
        default=None, description="CALL, EMAIL, MEETING, NOTE, TASK."
    )

    def to_segment(self) -> Segment:
        pairs = input_filters(self, RECORD_DIMENSIONS)
        for ref, values in pairs:
            spec = CATALOGUE[ref.dimension]
            for value in values:
                if spec.kind is ValueKind.ID and parse_record_id(value) is None:
                    raise ValidationError(f"segment.{spec.key}: {value[:40]!r} is not a record id")
        return Segment.of(pairs)


RecordTimeField = strawberry.enum(
    TimeField,
    name="RecordTimeField",
    description="The timestamp a period applies to (CLOSED: deals; DONE and DUE: activities).",
)


@strawberry.input(description="Local dates [start, end): the end is exclusive.")
class RecordPeriodInput:
    start: date = strawberry.field(description="First day (ISO date).")
    end: date = strawberry.field(description="Day after the last (ISO date).")
    timezone: str | None = strawberry.field(
        default=None, description="IANA timezone; default: each workspace's own."
    )
    field: TimeField = strawberry.field(
        default=TimeField.CREATED,
        description="Which timestamp must fall in the period.",
    )

    def to_period(self) -> Period:
        return Period(
            start=self.start,
            end=self.end,
            timezone=self.timezone,
            field=self.field,
        ).validate()

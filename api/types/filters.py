"""Inputs of the record lists: a segment mirroring the metrics' SegmentInput, and a period."""

from __future__ import annotations

from datetime import date

import strawberry

from core.errors import ValidationError
from core.records import Period, Segment, TimeField, parse_record_id


def _ids(values: list[strawberry.ID] | None, what: str) -> list[int]:
    out = []
    for value in values or []:
        number = parse_record_id(str(value))
        if number is None:
            raise ValidationError(f"segment.{what}: {str(value)[:40]!r} is not a record id")
        out.append(number)
    return out


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
        return Segment(
            connections=[str(c) for c in self.connections or []],
            owners=_ids(self.owners, "owners"),
            teams=_ids(self.teams, "teams"),
            pipelines=_ids(self.pipelines, "pipelines"),
            stages=_ids(self.stages, "stages"),
            sources=list(self.sources or []),
            countries=list(self.countries or []),
            regions=list(self.regions or []),
            industries=list(self.industries or []),
            deal_types=list(self.deal_types or []),
            statuses=list(self.statuses or []),
            activity_types=list(self.activity_types or []),
        ).validate()


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

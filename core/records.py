"""Filtering synced records for drill-down lists: segments and periods as SQL conditions.

The record lists of the API (deals, contacts, leads, accounts, activities) accept the same
segment dimensions as the metrics (KPIS.md "Segment": values within one dimension OR,
dimensions AND) and a period of local dates. Everything here builds SQLAlchemy conditions;
the caller's workspaces are *not* checked here: ``core.tenancy`` scopes every query.

The segment is the metrics' own :class:`~core.metrics.segments.Segment` and its filters the
catalogue's (core.metrics.dimensions), applied to the record table's columns: a record list
and the KPI it drills into select rows by the same conditions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, or_, true
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.expression import ColumnCollection

from core import validation
from core.errors import ValidationError
from core.metrics.dimensions import CATALOGUE, DimensionSpec, parse_record_id
from core.metrics.segments import Segment
from core.models import Account, Activity, Contact, Deal, Lead, SyncedMixin

__all__ = [
    "Period",
    "Segment",
    "TimeField",
    "live",
    "parse_record_id",
    "period_condition",
    "plural",
    "record_columns",
    "segment_conditions",
]

Condition = ColumnElement[bool]


class TimeField(StrEnum):
    """Which timestamp of a record a period applies to."""

    CREATED = "CREATED"
    UPDATED = "UPDATED"
    CLOSED = "CLOSED"
    DONE = "DONE"
    DUE = "DUE"


@dataclass(frozen=True)
class Period:
    """Local dates ``[start, end)``; ``timezone`` None means each workspace's own."""

    start: date
    end: date
    timezone: str | None = None
    field: TimeField = TimeField.CREATED

    def validate(self) -> Period:
        if self.end <= self.start:
            raise ValidationError(
                f"period end {self.end.isoformat()} must be after its start "
                f"{self.start.isoformat()} (the end is exclusive)"
            )
        if self.timezone is not None:
            validation.timezone(self.timezone)
        return self

    def bounds(self, timezone: str) -> tuple[datetime, datetime]:
        """UTC instants of local midnight at start and end (DST-correct through zoneinfo)."""
        zone = ZoneInfo(self.timezone or timezone)
        start = datetime.combine(self.start, time(), zone).astimezone(UTC)
        end = datetime.combine(self.end, time(), zone).astimezone(UTC)
        return start, end


def record_columns(model: type[SyncedMixin]) -> ColumnCollection[str, Any]:
    """A record table's columns under the names of the metric sources (core.metrics.sources),
    so the catalogue's filters (core.metrics.dimensions) apply to record lists unchanged: an
    account is its own account (``account_remote_id`` is its ``remote_id``)."""
    table = model.__table__  # type: ignore[attr-defined]
    columns = [(c.name, c) for c in table.c]
    if model is Account:
        columns.append(("account_remote_id", table.c.remote_id))
    return ColumnCollection(columns)


def _supported(columns: ColumnCollection[str, Any]) -> list[DimensionSpec]:
    """The catalogue's record-list dimensions a table of ``columns`` can be filtered by."""
    return [s for s in CATALOGUE.values() if s.records and s.column in columns]


#: The timestamp each period field means, per record type.
TIME_COLUMNS: dict[type[SyncedMixin], dict[TimeField, str]] = {
    Deal: {
        TimeField.CREATED: "remote_created_at",
        TimeField.UPDATED: "remote_updated_at",
        TimeField.CLOSED: "closed_at",
    },
    Lead: {TimeField.CREATED: "remote_created_at", TimeField.UPDATED: "remote_updated_at"},
    Contact: {TimeField.CREATED: "remote_created_at", TimeField.UPDATED: "remote_updated_at"},
    Account: {TimeField.CREATED: "remote_created_at", TimeField.UPDATED: "remote_updated_at"},
    Activity: {
        TimeField.CREATED: "remote_created_at",
        TimeField.UPDATED: "remote_updated_at",
        TimeField.DONE: "done_at",
        TimeField.DUE: "due_at",
    },
}


def plural(model: type[SyncedMixin]) -> str:
    """The record type's name in messages and cursors: ``deals``, ``activities``..."""
    return str(model.__table__.name)  # type: ignore[attr-defined]


def segment_conditions(model: type[SyncedMixin], segment: Segment) -> list[Condition]:
    """One condition per filter of the segment; a dimension the record type lacks is an
    error."""
    columns = record_columns(model)
    supported = _supported(columns)
    conditions: list[Condition] = []
    for ref, values in segment.filters:
        spec = CATALOGUE[ref.dimension]
        if spec not in supported:
            raise ValidationError(
                f"segment.{spec.key} does not apply to {plural(model)}; "
                f"use one of {', '.join(sorted(s.key for s in supported))}"
            )
        conditions.append(spec.filter(columns, ref, values))
    return conditions


def period_condition(
    model: type[SyncedMixin], period: Period, timezones: dict[str, str]
) -> Condition:
    """Records whose period field falls in the period, in each workspace's timezone.

    ``timezones`` maps the workspaces to read to their IANA timezone; with an explicit
    period timezone every workspace shares the same bounds.
    """
    period.validate()
    columns = TIME_COLUMNS[model]
    name = columns.get(period.field)
    if name is None:
        raise ValidationError(
            f"period.field {period.field.value} does not apply to {plural(model)}; "
            f"use one of {', '.join(f.value for f in columns)}"
        )
    column: InstrumentedAttribute[datetime | None] = getattr(model, name)
    if period.timezone is not None or not timezones:
        start, end = period.bounds(period.timezone or "UTC")
        return and_(column >= start, column < end)
    by_zone: dict[str, list[str]] = {}
    for workspace_id, zone in timezones.items():
        by_zone.setdefault(zone, []).append(workspace_id)
    parts = []
    for zone, workspace_ids in sorted(by_zone.items()):
        start, end = period.bounds(zone)
        parts.append(and_(model.workspace_id.in_(workspace_ids), column >= start, column < end))
    return or_(*parts) if parts else true()


def live(model: type[SyncedMixin]) -> Condition:
    """Deleted records (archived, recycle bin, IsDeleted) are never listed."""
    return model.deleted_at.is_(None)

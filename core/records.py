"""Filtering synced records for drill-down lists: segments and periods as SQL conditions.

The record lists of the API (deals, contacts, leads, accounts, activities) accept the same
segment dimensions as the metrics (KPIS.md "Segment": values within one dimension OR,
dimensions AND) and a period of local dates. Everything here builds SQLAlchemy conditions;
the caller's workspaces are *not* checked here: ``core.tenancy`` scopes every query.

References between records are remote ids within one connection, so a segment on users,
pipelines, stages or accounts (given by their integer ids) becomes a correlated ``EXISTS``
on the referenced table that matches ``connection_id`` and the remote id.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, exists, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute

from core import validation
from core.errors import ValidationError
from core.models import (
    Account,
    Activity,
    Contact,
    Deal,
    Lead,
    Pipeline,
    Stage,
    SyncedMixin,
    Team,
    User,
)

#: Most values one segment dimension accepts: a bigger list is a mistake or an abuse.
MAX_SEGMENT_VALUES = 100


@dataclass(frozen=True)
class Segment:
    """Optional filters; ids are the integer ids of synced records, the rest plain values."""

    connections: Sequence[str] = ()
    owners: Sequence[int] = ()
    teams: Sequence[int] = ()
    pipelines: Sequence[int] = ()
    stages: Sequence[int] = ()
    sources: Sequence[str] = ()
    countries: Sequence[str] = ()
    regions: Sequence[str] = ()
    industries: Sequence[str] = ()
    deal_types: Sequence[str] = ()
    statuses: Sequence[str] = ()
    activity_types: Sequence[str] = ()

    def used(self) -> list[str]:
        """Names of the dimensions given (non-empty)."""
        return [f.name for f in fields(self) if getattr(self, f.name)]

    def validate(self) -> Segment:
        for name in self.used():
            if len(getattr(self, name)) > MAX_SEGMENT_VALUES:
                raise ValidationError(
                    f"segment.{_camel(name)} has more than {MAX_SEGMENT_VALUES} values"
                )
        return self


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


#: Ids are 64-bit integers; anything else cannot name a record (and must not reach SQL).
_MAX_ID = 2**63 - 1


def parse_record_id(value: str) -> int | None:
    """The integer id in ``value``, or None when it cannot be a record id."""
    try:
        number = int(value)
    except ValueError:
        return None
    return number if 0 < number <= _MAX_ID else None


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


Condition = ColumnElement[bool]
_Builder = Callable[[type[Any], Sequence[Any]], Condition]


def _refers(target: type[Any], column: str) -> _Builder:
    """``model.<column>`` names a ``target`` row (same connection) whose id is in the values."""

    def build(model: type[Any], ids: Sequence[Any]) -> Condition:
        return exists(
            select(target.id).where(
                target.id.in_(ids),
                target.connection_id == model.connection_id,
                target.remote_id == getattr(model, column),
            )
        )

    return build


def _team(model: type[Any], ids: Sequence[Any]) -> Condition:
    return exists(
        select(User.id).where(
            User.connection_id == model.connection_id,
            User.remote_id == model.owner_remote_id,
            exists(
                select(Team.id).where(
                    Team.id.in_(ids),
                    Team.connection_id == User.connection_id,
                    Team.remote_id == User.team_remote_id,
                )
            ),
        )
    )


def _account_field(column: str, *, own: bool = False) -> _Builder:
    """An account attribute: the row's own column for accounts, its account's otherwise."""

    def build(model: type[Any], values: Sequence[Any]) -> Condition:
        if own:
            return getattr(model, column).in_(values)  # type: ignore[no-any-return]
        return exists(
            select(Account.id).where(
                Account.connection_id == model.connection_id,
                Account.remote_id == model.account_remote_id,
                getattr(Account, column).in_(values),
            )
        )

    return build


def _column(column: str) -> _Builder:
    def build(model: type[Any], values: Sequence[Any]) -> Condition:
        return getattr(model, column).in_(values)  # type: ignore[no-any-return]

    return build


def _connection(model: type[Any], values: Sequence[Any]) -> Condition:
    return model.connection_id.in_(values)  # type: ignore[no-any-return]


_OWNED = {"owners": _refers(User, "owner_remote_id"), "teams": _team}
_ACCOUNT = {
    "countries": _account_field("country"),
    "regions": _account_field("region"),
    "industries": _account_field("industry"),
}

#: The segment dimensions each record type supports, and how.
DIMENSIONS: dict[type[SyncedMixin], dict[str, _Builder]] = {
    Deal: {
        "connections": _connection,
        **_OWNED,
        "pipelines": _refers(Pipeline, "pipeline_remote_id"),
        "stages": _refers(Stage, "stage_remote_id"),
        "sources": _column("source"),
        **_ACCOUNT,
        "deal_types": _column("deal_type"),
        "statuses": _column("status"),
    },
    Lead: {
        "connections": _connection,
        **_OWNED,
        "sources": _column("source"),
        **_ACCOUNT,
        "statuses": _column("status"),
    },
    Contact: {
        "connections": _connection,
        **_OWNED,
        "sources": _column("source"),
        **_ACCOUNT,
    },
    Account: {
        "connections": _connection,
        **_OWNED,
        "sources": _column("source"),
        "countries": _account_field("country", own=True),
        "regions": _account_field("region", own=True),
        "industries": _account_field("industry", own=True),
    },
    Activity: {
        "connections": _connection,
        **_OWNED,
        **_ACCOUNT,
        "activity_types": _column("type"),
    },
}

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
    """One condition per dimension given; a dimension the record type lacks is an error."""
    supported = DIMENSIONS[model]
    conditions: list[Condition] = []
    for name in segment.validate().used():
        builder = supported.get(name)
        if builder is None:
            raise ValidationError(
                f"segment.{_camel(name)} does not apply to {plural(model)}; "
                f"use one of {', '.join(sorted(_camel(n) for n in supported))}"
            )
        conditions.append(builder(model, list(getattr(segment, name))))
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

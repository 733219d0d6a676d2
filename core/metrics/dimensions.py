"""The one catalogue of segment dimensions: for metrics, user KPIs, record lists and the API.

Each dimension is declared once (:data:`CATALOGUE`): its name, the key the API and user-KPI
declarations spell it with (``owners``, ``dealTypes``...), its value kind, the column a row
set needs to be filtered or grouped by it, how it filters rows and how it groups a breakdown.
Metric sources (core.metrics.sources) and record tables (core.records) expose the same
column names, so one filter serves both.

Segment values are our own ids as strings for the dimensions that point at synced rows
(owner = ``users.id``, team, pipeline, stage) and plain values for the others (connection and
workspace ids, source, country, region, industry, deal type, activity type, status, custom
fields). References between synced rows are remote ids within one connection, so filters
compare ``(connection_id, remote_id)`` pairs with an uncorrelated sub-select.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import String, and_, cast, select, tuple_
from sqlalchemy.sql import ColumnElement, FromClause

from core.errors import ValidationError
from core.models import Account, Connection, Pipeline, Stage, Team, User, Workspace


class Dimension(StrEnum):
    OWNER = "OWNER"
    TEAM = "TEAM"
    PIPELINE = "PIPELINE"
    STAGE = "STAGE"
    SOURCE = "SOURCE"
    COUNTRY = "COUNTRY"
    REGION = "REGION"
    INDUSTRY = "INDUSTRY"
    DEAL_TYPE = "DEAL_TYPE"
    ACTIVITY_TYPE = "ACTIVITY_TYPE"
    CONNECTION = "CONNECTION"
    WORKSPACE = "WORKSPACE"
    CUSTOM = "CUSTOM"
    #: A deal's or lead's status: a filter of record lists only (metrics count by status in
    #: their measures, so a status segment would contradict them).
    STATUS = "STATUS"


class ValueKind(StrEnum):
    """What a dimension's segment values are."""

    #: Our numeric row ids (``users.id``...), as the API gives them.
    ID = "ID"
    #: Plain values compared as they are (a country, a connection id...).
    VALUE = "VALUE"


@dataclass(frozen=True, slots=True)
class DimensionRef:
    """A dimension, with the custom field's name when it is ``CUSTOM``."""

    dimension: Dimension
    field: str | None = None

    def __post_init__(self) -> None:
        if (self.dimension is Dimension.CUSTOM) != (self.field is not None):
            raise ValidationError("a custom dimension needs a field name, and only it")

    @property
    def label(self) -> str:
        return f"custom field {self.field!r}" if self.field else self.dimension.value


#: A row set's column collection (``FromClause.c``, or core.records' view of a table).
Cols = Any
Condition = ColumnElement[bool]


@dataclass(frozen=True, slots=True)
class Grouping:
    """How a breakdown groups one source: joins to add, then key and label expressions."""

    from_clause: FromClause
    key: Any
    label: Any


Filter = Callable[[Cols, DimensionRef, Sequence[str]], Condition]
Group = Callable[[FromClause, DimensionRef], Grouping]


@dataclass(frozen=True, slots=True)
class DimensionSpec:
    """One dimension of the catalogue."""

    dimension: Dimension
    #: How the GraphQL segment inputs and user-KPI filters name it (lowerCamelCase).
    key: str
    kind: ValueKind
    #: The column a row set must expose to be filtered or grouped by it.
    column: str
    filter: Filter
    group: Group
    #: Offered to metrics (segments and breakdowns) and user KPIs.
    metrics: bool = True
    #: Offered to record lists (their ``RecordSegmentInput``).
    records: bool = True

    @property
    def attr(self) -> str:
        """The key as a Python attribute name (``deal_types``), as the inputs declare it."""
        return "".join(f"_{ch.lower()}" if ch.isupper() else ch for ch in self.key)


#: Ids are 64-bit integers; anything else cannot name a record (and must not reach SQL).
_MAX_ID = 2**63 - 1


def parse_record_id(value: str) -> int | None:
    """The integer id in ``value`` (decimal digits only), or None when it cannot be a record
    id."""
    if not (value.isascii() and value.isdigit()):
        return None
    number = int(value)
    return number if 0 < number <= _MAX_ID else None


def _int_ids(values: Sequence[str], what: str) -> list[int]:
    try:
        return [int(v) for v in values]
    except ValueError:
        raise ValidationError(f"{what} ids must be the numeric ids of the API") from None


def _custom(c: Cols, name: str) -> ColumnElement[Any]:
    expression: ColumnElement[Any] = c.custom[name].as_string()
    return expression


# -- filters --------------------------------------------------------------------------------


def _owner_filter(c: Cols, ref: DimensionRef, values: Sequence[str]) -> Condition:
    ids = _int_ids(values, "owner")
    return tuple_(c.connection_id, c.owner_remote_id).in_(
        select(User.connection_id, User.remote_id).where(User.id.in_(ids))
    )


def _team_filter(c: Cols, ref: DimensionRef, values: Sequence[str]) -> Condition:
    ids = _int_ids(values, "team")
    members = select(User.connection_id, User.remote_id).join(
        Team,
        and_(Team.connection_id == User.connection_id, Team.remote_id == User.team_remote_id),
    )
    return tuple_(c.connection_id, c.owner_remote_id).in_(members.where(Team.id.in_(ids)))


def _refers(table: Any, column: str) -> Filter:
    """``c.<column>`` names a ``table`` row of the same connection whose id is a value."""

    def build(c: Cols, ref: DimensionRef, values: Sequence[str]) -> Condition:
        ids = _int_ids(values, ref.dimension.value.lower())
        return tuple_(c.connection_id, c[column]).in_(
            select(table.connection_id, table.remote_id).where(table.id.in_(ids))
        )

    return build


def _account_filter(field: str) -> Filter:
    """An attribute of the row's (live) account."""

    def build(c: Cols, ref: DimensionRef, values: Sequence[str]) -> Condition:
        return tuple_(c.connection_id, c.account_remote_id).in_(
            select(Account.connection_id, Account.remote_id).where(
                getattr(Account, field).in_(list(values)), Account.deleted_at.is_(None)
            )
        )

    return build


def _custom_filter(c: Cols, ref: DimensionRef, values: Sequence[str]) -> Condition:
    assert ref.field is not None
    return _custom(c, ref.field).in_(list(values))


def _plain_filter(column: str) -> Filter:
    def build(c: Cols, ref: DimensionRef, values: Sequence[str]) -> Condition:
        return c[column].in_(list(values))  # type: ignore[no-any-return]

    return build


# -- groupings ------------------------------------------------------------------------------
# Joins use plain table aliases, not ORM entities, so that no ORM loader criteria (the API's
# tenancy hook) can move into the WHERE clause and turn an outer join into an inner one: rows
# without an owner or account must stay, in the "(none)" group.


def _with_owner(src: FromClause) -> tuple[FromClause, Any]:
    user = User.__table__.alias("bd_user")
    joined = src.outerjoin(
        user,
        and_(
            user.c.connection_id == src.c.connection_id,
            user.c.remote_id == src.c.owner_remote_id,
            user.c.deleted_at.is_(None),
        ),
    )
    return joined, user


def _owner_group(src: FromClause, ref: DimensionRef) -> Grouping:
    joined, user = _with_owner(src)
    return Grouping(joined, cast(user.c.id, String), user.c.name)


def _team_group(src: FromClause, ref: DimensionRef) -> Grouping:
    joined, user = _with_owner(src)
    team = Team.__table__.alias("bd_team")
    joined = joined.outerjoin(
        team,
        and_(
            team.c.connection_id == user.c.connection_id,
            team.c.remote_id == user.c.team_remote_id,
        ),
    )
    return Grouping(joined, cast(team.c.id, String), team.c.name)


def _referred_group(table: Any, column: str) -> Group:
    def build(src: FromClause, ref: DimensionRef) -> Grouping:
        alias = table.__table__.alias("bd_ref")
        joined = src.outerjoin(
            alias,
            and_(
                alias.c.connection_id == src.c.connection_id,
                alias.c.remote_id == src.c[column],
            ),
        )
        return Grouping(joined, cast(alias.c.id, String), alias.c.name)

    return build


def _account_group(field: str) -> Group:
    def build(src: FromClause, ref: DimensionRef) -> Grouping:
        account = Account.__table__.alias("bd_account")
        joined = src.outerjoin(
            account,
            and_(
                account.c.connection_id == src.c.connection_id,
                account.c.remote_id == src.c.account_remote_id,
                account.c.deleted_at.is_(None),
            ),
        )
        value = account.c[field]
        return Grouping(joined, value, value)

    return build


def _named_group(model: Any, column: str) -> Group:
    """Our own id (a connection's, a workspace's), labelled with the row's name."""

    def build(src: FromClause, ref: DimensionRef) -> Grouping:
        named = model.__table__.alias("bd_named")
        key = src.c[column]
        joined = src.outerjoin(named, named.c.id == key)
        return Grouping(joined, key, named.c.name)

    return build


def _custom_group(src: FromClause, ref: DimensionRef) -> Grouping:
    assert ref.field is not None
    extracted = _custom(src.c, ref.field)
    return Grouping(src, extracted, extracted)


def _plain_group(column: str) -> Group:
    def build(src: FromClause, ref: DimensionRef) -> Grouping:
        plain = src.c[column]
        return Grouping(src, plain, plain)

    return build


# -- the catalogue --------------------------------------------------------------------------


def _id(dim: Dimension, key: str, column: str, filter: Filter, group: Group) -> DimensionSpec:
    return DimensionSpec(dim, key, ValueKind.ID, column, filter, group)


def _account(dim: Dimension, key: str, field: str) -> DimensionSpec:
    return DimensionSpec(
        dim,
        key,
        ValueKind.VALUE,
        "account_remote_id",
        _account_filter(field),
        _account_group(field),
    )


def _plain(dim: Dimension, key: str, column: str, **offered: bool) -> DimensionSpec:
    return DimensionSpec(
        dim, key, ValueKind.VALUE, column, _plain_filter(column), _plain_group(column), **offered
    )


D = Dimension
#: Every segment dimension, in the API's order.
CATALOGUE: dict[Dimension, DimensionSpec] = {
    spec.dimension: spec
    for spec in (
        _id(D.OWNER, "owners", "owner_remote_id", _owner_filter, _owner_group),
        _id(D.TEAM, "teams", "owner_remote_id", _team_filter, _team_group),
        _id(
            D.PIPELINE,
            "pipelines",
            "pipeline_remote_id",
            _refers(Pipeline, "pipeline_remote_id"),
            _referred_group(Pipeline, "pipeline_remote_id"),
        ),
        _id(
            D.STAGE,
            "stages",
            "stage_remote_id",
            _refers(Stage, "stage_remote_id"),
            _referred_group(Stage, "stage_remote_id"),
        ),
        _plain(D.SOURCE, "sources", "source"),
        _account(D.COUNTRY, "countries", "country"),
        _account(D.REGION, "regions", "region"),
        _account(D.INDUSTRY, "industries", "industry"),
        _plain(D.DEAL_TYPE, "dealTypes", "deal_type"),
        _plain(D.ACTIVITY_TYPE, "activityTypes", "type"),
        DimensionSpec(
            D.CONNECTION,
            "connections",
            ValueKind.VALUE,
            "connection_id",
            _plain_filter("connection_id"),
            _named_group(Connection, "connection_id"),
        ),
        # Record lists take their workspaces as an argument of their own (workspaceIds).
        DimensionSpec(
            D.WORKSPACE,
            "workspaces",
            ValueKind.VALUE,
            "workspace_id",
            _plain_filter("workspace_id"),
            _named_group(Workspace, "workspace_id"),
            records=False,
        ),
        DimensionSpec(
            D.CUSTOM,
            "custom",
            ValueKind.VALUE,
            "custom",
            _custom_filter,
            _custom_group,
            records=False,
        ),
        _plain(D.STATUS, "statuses", "status", metrics=False),
    )
}
#: The catalogue by API key (``owners``, ``dealTypes``...).
BY_KEY: dict[str, DimensionSpec] = {spec.key: spec for spec in CATALOGUE.values()}
#: The dimensions metrics offer (segments and breakdowns), in the catalogue's order.
METRIC_DIMENSIONS: tuple[Dimension, ...] = tuple(d for d, s in CATALOGUE.items() if s.metrics)
#: The source column each dimension needs (see core.metrics.sources).
REQUIRED_COLUMN: dict[Dimension, str] = {d: s.column for d, s in CATALOGUE.items()}


def filter_clause(src: FromClause, ref: DimensionRef, values: Sequence[str]) -> Condition:
    """``src`` rows whose ``ref`` is one of ``values`` (OR within one filter)."""
    return CATALOGUE[ref.dimension].filter(src.c, ref, values)


def grouping(src: FromClause, ref: DimensionRef) -> Grouping:
    """The key (our id or the value) and label a breakdown groups ``src`` rows by."""
    return CATALOGUE[ref.dimension].group(src, ref)


__all__ = [
    "BY_KEY",
    "CATALOGUE",
    "METRIC_DIMENSIONS",
    "Dimension",
    "DimensionRef",
    "DimensionSpec",
    "Grouping",
    "ValueKind",
    "filter_clause",
    "grouping",
    "parse_record_id",
]

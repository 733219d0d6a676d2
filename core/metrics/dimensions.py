"""The segment dimensions: how each one filters a source and how it groups a breakdown.

Segment values are our own ids as strings for the dimensions that point at synced rows
(owner = ``users.id``, team, pipeline, stage, connection, workspace) and plain values for
free-text ones (source, country, region, industry, deal type, activity type, custom fields).
References between synced rows are remote ids within one connection, so filters compare
``(connection_id, remote_id)`` pairs with an uncorrelated sub-select.
"""

from __future__ import annotations

from collections.abc import Sequence
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


#: The source column each dimension needs (see core.metrics.sources).
REQUIRED_COLUMN: dict[Dimension, str] = {
    Dimension.OWNER: "owner_remote_id",
    Dimension.TEAM: "owner_remote_id",
    Dimension.PIPELINE: "pipeline_remote_id",
    Dimension.STAGE: "stage_remote_id",
    Dimension.SOURCE: "source",
    Dimension.COUNTRY: "account_remote_id",
    Dimension.REGION: "account_remote_id",
    Dimension.INDUSTRY: "account_remote_id",
    Dimension.DEAL_TYPE: "deal_type",
    Dimension.ACTIVITY_TYPE: "type",
    Dimension.CONNECTION: "connection_id",
    Dimension.WORKSPACE: "workspace_id",
    Dimension.CUSTOM: "custom",
}

_ACCOUNT_FIELD = {
    Dimension.COUNTRY: Account.country,
    Dimension.REGION: Account.region,
    Dimension.INDUSTRY: Account.industry,
}
_ID_TABLES: dict[Dimension, Any] = {Dimension.PIPELINE: Pipeline, Dimension.STAGE: Stage}


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


def _int_ids(values: Sequence[str], what: str) -> list[int]:
    try:
        return [int(v) for v in values]
    except ValueError:
        raise ValidationError(f"{what} ids must be the numeric ids of the API") from None


def _custom(src: FromClause, name: str) -> ColumnElement[Any]:
    expression: ColumnElement[Any] = src.c.custom[name].as_string()
    return expression


def filter_clause(src: FromClause, ref: DimensionRef, values: Sequence[str]) -> ColumnElement[bool]:
    """``src`` rows whose ``ref`` is one of ``values`` (OR within one filter)."""
    dim = ref.dimension
    pair = (
        tuple_(src.c.connection_id, src.c.owner_remote_id)
        if dim
        in (
            Dimension.OWNER,
            Dimension.TEAM,
        )
        else None
    )
    if dim is Dimension.OWNER and pair is not None:
        ids = _int_ids(values, "owner")
        return pair.in_(select(User.connection_id, User.remote_id).where(User.id.in_(ids)))
    if dim is Dimension.TEAM and pair is not None:
        ids = _int_ids(values, "team")
        members = select(User.connection_id, User.remote_id).join(
            Team,
            and_(Team.connection_id == User.connection_id, Team.remote_id == User.team_remote_id),
        )
        return pair.in_(members.where(Team.id.in_(ids)))
    if dim in _ID_TABLES:
        table = _ID_TABLES[dim]
        column = src.c[REQUIRED_COLUMN[dim]]
        ids = _int_ids(values, dim.value.lower())
        return tuple_(src.c.connection_id, column).in_(
            select(table.connection_id, table.remote_id).where(table.id.in_(ids))
        )
    if dim in _ACCOUNT_FIELD:
        return tuple_(src.c.connection_id, src.c.account_remote_id).in_(
            select(Account.connection_id, Account.remote_id).where(
                _ACCOUNT_FIELD[dim].in_(list(values)), Account.deleted_at.is_(None)
            )
        )
    if dim is Dimension.CUSTOM:
        assert ref.field is not None
        return _custom(src, ref.field).in_(list(values))
    return src.c[REQUIRED_COLUMN[dim]].in_(list(values))


@dataclass(frozen=True, slots=True)
class Grouping:
    """How a breakdown groups one source: joins to add, then key and label expressions."""

    from_clause: FromClause
    key: Any
    label: Any


def grouping(src: FromClause, ref: DimensionRef) -> Grouping:
    """The key (our id or the value) and label a breakdown groups ``src`` rows by.

    Joins use plain table aliases, not ORM entities, so that no ORM loader criteria (the
    API's tenancy hook) can move into the WHERE clause and turn an outer join into an inner
    one: rows without an owner or account must stay, in the "(none)" group.
    """
    dim = ref.dimension
    if dim in (Dimension.OWNER, Dimension.TEAM):
        user = User.__table__.alias("bd_user")
        joined = src.outerjoin(
            user,
            and_(
                user.c.connection_id == src.c.connection_id,
                user.c.remote_id == src.c.owner_remote_id,
                user.c.deleted_at.is_(None),
            ),
        )
        if dim is Dimension.OWNER:
            return Grouping(joined, cast(user.c.id, String), user.c.name)
        team = Team.__table__.alias("bd_team")
        joined = joined.outerjoin(
            team,
            and_(
                team.c.connection_id == user.c.connection_id,
                team.c.remote_id == user.c.team_remote_id,
            ),
        )
        return Grouping(joined, cast(team.c.id, String), team.c.name)
    if dim in _ID_TABLES:
        table = _ID_TABLES[dim].__table__.alias("bd_ref")
        joined = src.outerjoin(
            table,
            and_(
                table.c.connection_id == src.c.connection_id,
                table.c.remote_id == src.c[REQUIRED_COLUMN[dim]],
            ),
        )
        return Grouping(joined, cast(table.c.id, String), table.c.name)
    if dim in _ACCOUNT_FIELD:
        account = Account.__table__.alias("bd_account")
        joined = src.outerjoin(
            account,
            and_(
                account.c.connection_id == src.c.connection_id,
                account.c.remote_id == src.c.account_remote_id,
                account.c.deleted_at.is_(None),
            ),
        )
        value = account.c[_ACCOUNT_FIELD[dim].key]
        return Grouping(joined, value, value)
    if dim in (Dimension.CONNECTION, Dimension.WORKSPACE):
        model = Connection if dim is Dimension.CONNECTION else Workspace
        column = src.c.connection_id if dim is Dimension.CONNECTION else src.c.workspace_id
        named = model.__table__.alias("bd_named")
        joined = src.outerjoin(named, named.c.id == column)
        return Grouping(joined, column, named.c.name)
    if dim is Dimension.CUSTOM:
        assert ref.field is not None
        extracted = _custom(src, ref.field)
        return Grouping(src, extracted, extracted)
    plain = src.c[REQUIRED_COLUMN[dim]]
    return Grouping(src, plain, plain)


__all__ = ["Dimension", "DimensionRef", "Grouping", "filter_clause", "grouping"]

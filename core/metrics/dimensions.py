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
from sqlalchemy.orm import aliased
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
    """The key (our id or the value) and label a breakdown groups ``src`` rows by."""
    dim = ref.dimension
    if dim in (Dimension.OWNER, Dimension.TEAM):
        user = aliased(User)
        joined = src.outerjoin(
            user,
            and_(
                user.connection_id == src.c.connection_id,
                user.remote_id == src.c.owner_remote_id,
                user.deleted_at.is_(None),
            ),
        )
        if dim is Dimension.OWNER:
            return Grouping(joined, cast(user.id, String), user.name)
        team = aliased(Team)
        joined = joined.outerjoin(
            team,
            and_(team.connection_id == user.connection_id, team.remote_id == user.team_remote_id),
        )
        return Grouping(joined, cast(team.id, String), team.name)
    if dim in _ID_TABLES:
        table = aliased(_ID_TABLES[dim])
        joined = src.outerjoin(
            table,
            and_(
                table.connection_id == src.c.connection_id,
                table.remote_id == src.c[REQUIRED_COLUMN[dim]],
            ),
        )
        return Grouping(joined, cast(table.id, String), table.name)
    if dim in _ACCOUNT_FIELD:
        account = aliased(Account)
        joined = src.outerjoin(
            account,
            and_(
                account.connection_id == src.c.connection_id,
                account.remote_id == src.c.account_remote_id,
                account.deleted_at.is_(None),
            ),
        )
        value = getattr(account, _ACCOUNT_FIELD[dim].key)
        return Grouping(joined, value, value)
    if dim is Dimension.CONNECTION:
        joined = src.outerjoin(Connection, Connection.id == src.c.connection_id)
        return Grouping(joined, src.c.connection_id, Connection.name)
    if dim is Dimension.WORKSPACE:
        joined = src.outerjoin(Workspace, Workspace.id == src.c.workspace_id)
        return Grouping(joined, src.c.workspace_id, Workspace.name)
    if dim is Dimension.CUSTOM:
        assert ref.field is not None
        value = _custom(src, ref.field)
        return Grouping(src, value, value)
    column = src.c[REQUIRED_COLUMN[dim]]
    return Grouping(src, column, column)


__all__ = ["Dimension", "DimensionRef", "Grouping", "filter_clause", "grouping"]

"""Declarative base, shared column types and the mixin every synced row carries."""

# No `from __future__ import annotations`: the columns' annotations are evaluated once, here
# (core.models says why).

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Integer,
    MetaData,
    Numeric,
    String,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: JSON everywhere; JSONB on PostgreSQL so custom fields can be indexed and compared.
JSONType = JSON().with_variant(JSONB(), "postgresql")
#: 64-bit keys on PostgreSQL; SQLite only auto-increments an ``INTEGER PRIMARY KEY``.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")
#: Money: exact decimals, never floats.
Money = Numeric(20, 4)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware.

    SQLite has no timezone type, so values are normalised to UTC before they are written
    and tagged as UTC when read; PostgreSQL stores ``timestamptz``.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: timestamps must carry a timezone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def new_id(prefix: str) -> str:
    """A random, prefixed public id such as ``ws_5f0c...`` (unguessable across tenants)."""
    return f"{prefix}_{uuid.uuid4().hex}"


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: UTCDateTime(),
        Decimal: Money,
        dict[str, Any]: JSONType,
        list[Any]: JSONType,
    }


class SyncedMixin:
    """Columns every row copied from a CRM carries (DESIGN.md, "Normalized model").

    A row is identified by ``(connection_id, remote_id)``; references to other CRM records are
    kept as remote ids (``*_remote_id``) resolved within the same connection, so streams can
    be written in any order and a page never waits for a lookup.
    """

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        return (UniqueConstraint("connection_id", "remote_id"),)

    @declared_attr
    def workspace_id(cls) -> Mapped[str]:
        return mapped_column(String(40), nullable=False)

    @declared_attr
    def connection_id(cls) -> Mapped[str]:
        return mapped_column(String(40), nullable=False)

    remote_id: Mapped[str] = mapped_column(String(255), nullable=False)
    remote_created_at: Mapped[datetime | None]
    remote_updated_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]
    synced_at: Mapped[datetime] = mapped_column(nullable=False)
    remote_data: Mapped[dict[str, Any] | None]
    custom: Mapped[dict[str, Any] | None]


#: Columns the sync engine owns on every synced table (never taken from a mapping).
SYNCED_COLUMNS = (
    "workspace_id",
    "connection_id",
    "remote_id",
    "remote_created_at",
    "remote_updated_at",
    "deleted_at",
    "synced_at",
    "remote_data",
    "custom",
)

"""Tenancy: organizations own workspaces; API keys belong to an organization."""

# No `from __future__ import annotations`: the columns' annotations are evaluated once, here
# (core.models says why).

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, new_id, utcnow


class Organization(Base):
    """The tenant: a company, or an agency serving several client businesses."""

    __tablename__ = "organizations"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("org"))
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Workspace(Base):
    """One client business, with its own calendar and reporting currency."""

    __tablename__ = "workspaces"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("ws"))
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    fiscal_year_start_month: Mapped[int] = mapped_column(Integer, default=1)
    #: ISO weekday the week starts on: 1 = Monday ... 7 = Sunday.
    week_start: Mapped[int] = mapped_column(Integer, default=1)
    inactivity_days: Mapped[int] = mapped_column(Integer, default=365)
    no_contact_days: Mapped[int] = mapped_column(Integer, default=90)
    #: Bumped by every committed sync batch; part of every metrics cache key.
    data_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiKey(Base):
    """A bearer key. Only its SHA-256 is stored; the key itself is shown once."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("key"))
    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200), default="")
    #: The first characters of the key, to recognise it in lists without revealing it.
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16), default="viewer")
    #: None: every workspace of the organization; otherwise only these.
    workspace_ids: Mapped[list[Any] | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


Index("ix_workspaces_org_name", Workspace.organization_id, Workspace.name)

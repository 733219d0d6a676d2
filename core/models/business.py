"""What CRMs do not hold: FX rates, spend, visitors, surveys and targets."""

# No `from __future__ import annotations`: the columns' annotations are evaluated once, here
# (core.models says why).

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, ForeignKey, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, BigIntPK, utcnow


class FxRate(Base):
    """``1 currency = rate base_currency`` on ``day``; workspace None means global."""

    __tablename__ = "fx_rates"
    __table_args__ = (UniqueConstraint("workspace_id", "base_currency", "currency", "day"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str | None] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE")
    )
    connection_id: Mapped[str | None] = mapped_column(String(40))
    base_currency: Mapped[str] = mapped_column(String(3))
    currency: Mapped[str] = mapped_column(String(3))
    day: Mapped[date] = mapped_column(Date)
    rate: Mapped[Decimal] = mapped_column(Numeric(24, 10))
    source: Mapped[str] = mapped_column(String(32), default="import")


class Spend(Base):
    """Marketing or sales spend for one day, channel and campaign."""

    __tablename__ = "spend"
    __table_args__ = (UniqueConstraint("workspace_id", "day", "kind", "channel", "campaign"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16))  # MARKETING | SALES
    channel: Mapped[str] = mapped_column(String(200), default="")
    campaign: Mapped[str] = mapped_column(String(200), default="")
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))


class Visitors(Base):
    """Website visitors for one day and channel."""

    __tablename__ = "visitors"
    __table_args__ = (UniqueConstraint("workspace_id", "day", "channel"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    channel: Mapped[str] = mapped_column(String(200), default="")
    count: Mapped[int] = mapped_column(Integer)


class SurveyResponse(Base):
    """An NPS (0-10) or CSAT (1-5) answer."""

    __tablename__ = "survey_responses"
    __table_args__ = (UniqueConstraint("workspace_id", "kind", "external_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))  # NPS | CSAT
    external_id: Mapped[str] = mapped_column(String(255))
    responded_at: Mapped[datetime]
    score: Mapped[int] = mapped_column(Integer)
    account_remote_id: Mapped[str | None] = mapped_column(String(255))
    contact_email: Mapped[str | None] = mapped_column(String(300))


class Target(Base):
    """A target value for one KPI, period and (optional) segment."""

    __tablename__ = "targets"
    __table_args__ = (
        UniqueConstraint("workspace_id", "kpi", "period_start", "period_end", "segment_key"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    kpi: Mapped[str] = mapped_column(String(100))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    #: Canonical JSON of the segment ("" for none), so equal segments collide.
    segment_key: Mapped[str] = mapped_column(String(2000), default="")
    segment: Mapped[dict[str, Any] | None]
    value: Mapped[Decimal] = mapped_column(Numeric(24, 6))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class UserKpi(Base):
    """A user-defined KPI of an organization (``workspace_id`` None) or of one workspace.

    ``definition`` is the declaration as given (core.metrics.user_kpis compiles it). Names are
    unique per organization, so a name means one thing in every workspace and roll-up of it.
    """

    __tablename__ = "user_kpis"
    __table_args__ = (UniqueConstraint("organization_id", "name"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    workspace_id: Mapped[str | None] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(100))
    unit: Mapped[str] = mapped_column(String(8))
    description: Mapped[str] = mapped_column(Text)
    definition: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

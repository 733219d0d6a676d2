"""Daily rollups of deals and activities, maintained from the synced tables in the same
transaction as the rows they sum (never stale, no separate job).

A row sums the live rows of one workspace and connection that fall on one local day (in the
workspace's timezone) of one time column (``kind``) and share the rollup's dimensions. The
metrics answer flow KPIs from them when a request's frames are whole local days and its
segment and breakdown read only these dimensions (core.metrics.rollups); they are written
only by core.metrics.rollup_refresh. Like ``customer_stretches`` they carry no foreign keys:
rows go with their connection or workspace (core.connections).

Each kind also has a coarse version, ``<kind>/all``, keeping only the dimensions its
measures' conditions read (a deal's status and currency, an activity's type; the others
NULL): what requests without a segment or breakdown read (core.metrics.rollups).

Dimensions are nullable (a deal without an owner is a row of the "(none)" owner). A row's key
is unique by an index on expressions (:func:`key_of`) in which NULL equals NULL, as neither
database's plain UNIQUE has it (PostgreSQL 15's NULLS NOT DISTINCT, SQLite none): the sync
adds a page's contribution with one ``INSERT .. ON CONFLICT (key) DO UPDATE``
(core.metrics.rollup_deltas). Requests find rows by its leading ``(workspace_id, kind, day)``.
"""

# No `from __future__ import annotations`: the columns' annotations are evaluated once, here
# (core.models says why).

from decimal import Decimal
from typing import Any

from sqlalchemy import Float, Index, Integer, Numeric, String, func, literal_column
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, BigIntPK

#: Sums of money columns: Money's scale, room for a workspace's total.
RollupMoney = Numeric(28, 4)


class _DayKey:
    """What locates a rollup row, whatever it sums: workspace, connection, kind and day
    (its dimensions are the rollup's own)."""

    # First in the table, as a mixin's columns are not by default.
    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True, sort_order=-1)
    workspace_id: Mapped[str] = mapped_column(String(40), nullable=False, sort_order=-1)
    connection_id: Mapped[str] = mapped_column(String(40), nullable=False, sort_order=-1)
    kind: Mapped[str] = mapped_column(String(16), nullable=False, sort_order=-1)
    day: Mapped[int] = mapped_column(Integer, nullable=False, sort_order=-1)


class DealDay(_DayKey, Base):
    """Deals of one local day of ``kind`` (``created``: remote_created_at; ``closed``:
    closed_at) by status, currency, owner, pipeline, stage and deal type."""

    __tablename__ = "deal_days"

    status: Mapped[str] = mapped_column(String(8), nullable=False)
    currency: Mapped[str | None] = mapped_column(String(3))
    owner_remote_id: Mapped[str | None] = mapped_column(String(255))
    pipeline_remote_id: Mapped[str | None] = mapped_column(String(255))
    stage_remote_id: Mapped[str | None] = mapped_column(String(255))
    deal_type: Mapped[str | None] = mapped_column(String(32))
    #: Rows summed.
    deals: Mapped[int] = mapped_column(Integer, nullable=False)
    #: Deals with an amount, and their amounts.
    amount_n: Mapped[int] = mapped_column(Integer, nullable=False)
    amount: Mapped[Decimal | None] = mapped_column(RollupMoney)
    #: Deals with a creation and a close time, and the seconds between them.
    cycle_n: Mapped[int] = mapped_column(Integer, nullable=False)
    cycle_seconds: Mapped[float | None] = mapped_column(Float)
    #: Deals with an amount and a cost: amount - cost, and their amounts.
    margin_n: Mapped[int] = mapped_column(Integer, nullable=False)
    margin: Mapped[Decimal | None] = mapped_column(RollupMoney)
    margin_revenue: Mapped[Decimal | None] = mapped_column(RollupMoney)


class ActivityDay(_DayKey, Base):
    """Activities of one local day of ``kind`` (``created``: remote_created_at; ``done``:
    when done, a held meeting at its start; ``response``: a classified response's done or
    creation time) by type and owner."""

    __tablename__ = "activity_days"

    type: Mapped[str] = mapped_column(String(16), nullable=False)
    owner_remote_id: Mapped[str | None] = mapped_column(String(255))
    #: Rows summed; meetings accepted or held; positive responses.
    activities: Mapped[int] = mapped_column(Integer, nullable=False)
    accepted: Mapped[int] = mapped_column(Integer, nullable=False)
    positive: Mapped[int] = mapped_column(Integer, nullable=False)


#: The dimensions of each rollup (the columns a row is grouped by besides its key's).
DEAL_DIMENSIONS = (
    "status",
    "currency",
    "owner_remote_id",
    "pipeline_remote_id",
    "stage_remote_id",
    "deal_type",
)
ACTIVITY_DIMENSIONS = ("type", "owner_remote_id")

#: A rollup row's key, in its unique index's order: requests read a workspace's days of one
#: kind (its leading columns), the sync adds to the row of a key, refreshes delete a few days
#: of one kind. The one index of each rollup: every other would be written by every page.
KEY_ORDER = ("workspace_id", "kind", "day", "connection_id")


def key_of(model: type[DealDay] | type[ActivityDay]) -> list[Any]:
    """The expressions of a rollup row's unique key: :data:`KEY_ORDER`, then the dimensions,
    a nullable one as ``COALESCE('=' || value, '')`` (NULL and every value distinct, NULLs
    equal). An ``ON CONFLICT`` names these same expressions to find the index."""
    table: Any = model.__table__
    out: list[Any] = [table.c[n] for n in KEY_ORDER]
    for name in DEAL_DIMENSIONS if model is DealDay else ACTIVITY_DIMENSIONS:
        column = table.c[name]
        if column.nullable:
            marked = literal_column("'='", String).concat(column)
            out.append(func.coalesce(marked, literal_column("''", String)))
        else:
            out.append(column)
    return out


Index("uq_deal_days_key", *key_of(DealDay), unique=True)
Index("uq_activity_days_key", *key_of(ActivityDay), unique=True)

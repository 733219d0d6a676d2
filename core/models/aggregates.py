"""Aggregates maintained from the synced tables, in the same transaction as the rows they
are derived from (never stale, no separate job): the metrics read them instead of
recomputing the same figures from the base tables on every request.

``customer_stretches`` holds the customer lifecycle of KPIS.md ("Precise conventions"): one
row per active stretch of a customer (an account, or a contact for deals without one) of
one connection. It is written only by :mod:`core.metrics.stretch_refresh`; like the synced
tables it carries no foreign keys (rows are keyed by connection, deleted with it).
"""

# No `from __future__ import annotations`: the columns' annotations are evaluated once, here
# (core.models says why).

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base


class CustomerStretch(Base):
    """One active stretch: became a customer on ``start_day``, lost on ``end_day`` (day
    numbers of local dates, days since 1970-01-01); ``source``, owner and pipeline are those
    of the deal that began it."""

    __tablename__ = "customer_stretches"

    connection_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    #: ``a:<account remote id>`` or ``c:<contact remote id>`` (core.metrics.lifecycle).
    customer: Mapped[str] = mapped_column(String(300), primary_key=True)
    start_day: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    end_day: Mapped[int] = mapped_column(Integer, nullable=False)
    workspace_id: Mapped[str] = mapped_column(String(40), nullable=False)
    account_remote_id: Mapped[str | None] = mapped_column(String(255))
    source: Mapped[str | None] = mapped_column(String(200))
    owner_remote_id: Mapped[str | None] = mapped_column(String(255))
    pipeline_remote_id: Mapped[str | None] = mapped_column(String(255))
    #: The day the customer's previous stretch ended (None: its first stretch). Retention
    #: asks whether a customer new in a period was active on the day before it; only when
    #: this day falls after that day can an earlier stretch hold it, so the look-up of the
    #: customer's other stretches is skipped for nearly every row.
    prev_end_day: Mapped[int | None] = mapped_column(Integer)


#: The frame conditions of the customer KPIs are ranges on the days of one workspace.
Index(
    "ix_customer_stretches_ws_days",
    CustomerStretch.workspace_id,
    CustomerStretch.end_day,
    CustomerStretch.start_day,
)

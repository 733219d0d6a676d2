"""Rate-limit state shared by the worker processes of one CRM account (PostgreSQL)."""

# No `from __future__ import annotations`: the columns' annotations are evaluated once, here
# (core.models says why).

from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base


class RateBudget(Base):
    """The start times of the last requests of one budget of one account: a sliding-window
    log every process updates under a row lock (see core.sync.sharedlimit)."""

    __tablename__ = "rate_budgets"

    account_key: Mapped[str] = mapped_column(String(500), primary_key=True)
    budget: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: Epoch seconds of the database clock, oldest first; at most the budget's allowance.
    starts: Mapped[list[Any]]

"""Columns whose values a row set's WHERE already bounds, so that conditions over them fold
to TRUE or FALSE when those bounds decide them.

A measure's condition is written once for every deal (``measures.open_at``: created before
t, and still open or closed at or after t). Read from a row set that is, by its WHERE, only
still-open deals, or only deals closed at or after every instant of a statement, most of
that condition is known before any row is read; left in, the database evaluates it for
every row and every aggregate (deals open at t at 1M deals: eight FILTERs over 140k rows).
A :class:`Known` column stands for the real one in such a row set: each comparison it can
decide from the bounds becomes ``true()``/``false()`` (which SQLAlchemy's ``and_``/``or_``
then drop or short-circuit), and any other is the real column's own comparison, so a
condition over it keeps the value it has over the real column on every row of the set.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import false, true
from sqlalchemy.sql import ColumnElement


class Known:
    """The column ``real`` over rows whose value is one of ``among`` (when given) and lies
    in ``[at_least, below)`` (each bound when given); never NULL when any is given."""

    def __init__(
        self,
        real: ColumnElement[Any],
        among: Collection[Any] | None = None,
        at_least: datetime | None = None,
        below: datetime | None = None,
    ) -> None:
        self.real = real
        self.among = None if among is None else frozenset(among)
        self.at_least = at_least
        self.below = below
        self._not_null = among is not None or at_least is not None or below is not None

    def __eq__(self, value: Any) -> Any:
        if self.among is not None and value is not None:
            if value not in self.among:
                return false()
            if self.among == {value}:
                return true()
        return self.real == value

    def __ne__(self, value: Any) -> Any:
        if self.among is not None and value is not None:
            if value not in self.among:
                return true()
            if self.among == {value}:
                return false()
        return self.real != value

    def __hash__(self) -> int:
        return id(self)

    def in_(self, values: Collection[Any]) -> Any:
        if self.among is not None:
            if self.among <= set(values):
                return true()
            if not self.among & set(values):
                return false()
        return self.real.in_(values)

    def __ge__(self, value: Any) -> Any:
        if isinstance(value, datetime):
            if self.at_least is not None and self.at_least >= value:
                return true()
            if self.below is not None and self.below <= value:
                return false()
        return self.real >= value

    def __gt__(self, value: Any) -> Any:
        if isinstance(value, datetime):
            if self.at_least is not None and self.at_least > value:
                return true()
            if self.below is not None and self.below <= value:
                return false()
        return self.real > value

    def __lt__(self, value: Any) -> Any:
        if isinstance(value, datetime):
            if self.below is not None and self.below <= value:
                return true()
            if self.at_least is not None and self.at_least >= value:
                return false()
        return self.real < value

    def __le__(self, value: Any) -> Any:
        if isinstance(value, datetime):
            if self.below is not None and self.below <= value:
                return true()
            if self.at_least is not None and self.at_least > value:
                return false()
        return self.real <= value

    def is_(self, value: Any) -> Any:
        if value is None and self._not_null:
            return false()
        return self.real.is_(value)

    def is_not(self, value: Any) -> Any:
        if value is None and self._not_null:
            return true()
        return self.real.is_not(value)

    def __getattr__(self, name: str) -> Any:
        # Anything else (another operator, a function of the column) is the real column's.
        return getattr(self.real, name)

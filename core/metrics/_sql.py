"""Small dialect-specific SQL pieces the compiler needs (PostgreSQL and SQLite)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float, Integer
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement


class EpochSeconds(FunctionElement[float]):
    """Seconds since 1970 of a stored UTC timestamp, as a float.

    Durations are differences of these, so they are exact fractional days/hours on both
    databases without any timezone conversion in SQL.
    """

    type = Float()
    inherit_cache = True
    name = "epoch_seconds"


@compiles(EpochSeconds, "postgresql")
def _epoch_pg(element: EpochSeconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})"


@compiles(EpochSeconds, "sqlite")
def _epoch_sqlite(element: EpochSeconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"((julianday({compiler.process(element.clauses, **kw)}) - 2440587.5) * 86400.0)"


def seconds_between(start: ColumnElement[Any], end: ColumnElement[Any]) -> ColumnElement[float]:
    """``end - start`` in seconds."""
    return EpochSeconds(end) - EpochSeconds(start)


#: ``date.toordinal()`` of 1970-01-01: day numbers are days since then.
EPOCH_ORDINAL = 719163


class LocalDay(FunctionElement[int]):
    """Local date of a stored UTC timestamp in a timezone (a column or a literal), as a day
    number (days since 1970-01-01).

    The customer lifecycle is defined on local dates of each workspace (KPIS.md), so this is
    the one place a timestamp's timezone is converted in SQL: natively on PostgreSQL, and on
    SQLite with the ``crmkpi_local_day`` function core.db registers on every connection.
    """

    type = Integer()
    inherit_cache = True
    name = "local_day"


@compiles(LocalDay, "postgresql")
def _local_day_pg(element: LocalDay, compiler: SQLCompiler, **kw: Any) -> str:
    instant, zone = (compiler.process(c, **kw) for c in element.clauses)
    return f"(CAST(timezone({zone}, {instant}) AS DATE) - DATE '1970-01-01')"


@compiles(LocalDay, "sqlite")
def _local_day_sqlite(element: LocalDay, compiler: SQLCompiler, **kw: Any) -> str:
    return f"crmkpi_local_day({compiler.process(element.clauses, **kw)})"


class DayNumber(FunctionElement[int]):
    """A DATE column as a day number (days since 1970-01-01)."""

    type = Integer()
    inherit_cache = True
    name = "day_number"


@compiles(DayNumber, "postgresql")
def _day_number_pg(element: DayNumber, compiler: SQLCompiler, **kw: Any) -> str:
    return f"({compiler.process(element.clauses, **kw)} - DATE '1970-01-01')"


@compiles(DayNumber, "sqlite")
def _day_number_sqlite(element: DayNumber, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(julianday({compiler.process(element.clauses, **kw)}) - 2440587.5 AS INTEGER)"

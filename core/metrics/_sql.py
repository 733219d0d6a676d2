"""Small dialect-specific SQL pieces the compiler needs (PostgreSQL and SQLite)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float
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

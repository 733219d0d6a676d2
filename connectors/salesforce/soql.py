"""SOQL text builders: the only place query strings are assembled.

Incremental reads use ``SystemModstamp >= since`` (never ``>``: rows sharing a second would
be skipped) ordered by ``SystemModstamp, Id`` so the engine's (time, id) cursor only grows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime


def literal(value: object) -> str:
    """A SOQL literal: datetimes unquoted ISO-8601 in UTC (seconds), strings quoted."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("SOQL datetimes must be timezone-aware")
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int | float):
        return str(value)
    text = str(value).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{text}'"


def select(
    sobject: str,
    fields: Sequence[str],
    *,
    where: Sequence[str] = (),
    order_by: Sequence[str] = (),
    limit: int | None = None,
    children: Sequence[str] = (),
) -> str:
    """``SELECT fields[, (child subqueries)] FROM sobject [WHERE a AND b] [ORDER BY] [LIMIT]``."""
    if not fields:
        raise ValueError(f"no fields to select from {sobject}")
    columns = [*fields, *(f"({child})" for child in children)]
    parts = [f"SELECT {', '.join(columns)} FROM {sobject}"]
    if where:
        parts.append("WHERE " + " AND ".join(where))
    if order_by:
        parts.append("ORDER BY " + ", ".join(order_by))
    if limit is not None:
        parts.append(f"LIMIT {limit}")
    return " ".join(parts)


def since_clause(since: datetime | None, field: str = "SystemModstamp") -> list[str]:
    """The incremental filter, or nothing on a full read."""
    return [] if since is None else [f"{field} >= {literal(since)}"]

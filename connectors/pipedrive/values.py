"""Value parsers shared by the mapping and the simulator: Pipedrive timestamps, dates,
money and ids, each failing with a :class:`~core.sync.connector.MappingError` that says
what was wrong."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from core.sync.connector import MappingError


def parse_time(value: Any, what: str = "timestamp") -> datetime | None:
    """A v1 (``YYYY-MM-DD HH:MM:SS``, UTC) or v2 (RFC 3339) timestamp as aware UTC."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise MappingError(f"{what}: expected a string, got {value!r}")
    text = value.strip().replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise MappingError(f"{what}: unparseable timestamp {value!r}") from exc
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_date(value: Any, what: str = "date") -> date | None:
    if value is None or value == "":
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError as exc:
        raise MappingError(f"{what}: unparseable date {value!r}") from exc


#: What JSON decodes most values to: no Mapping, so the ABC check (several times the cost
#: of the rest of a read) is skipped for them.
_SCALARS = frozenset((str, int, float))


def parse_money(value: Any, what: str = "amount") -> Decimal | None:
    """Money as Decimal (via ``str`` so 0.1 stays 0.1); None stays None."""
    if value is None or value == "":
        return None
    if type(value) not in _SCALARS and isinstance(value, Mapping):
        value = value.get("value", value.get("amount"))
        if value is None:
            return None
    if isinstance(value, bool):
        raise MappingError(f"{what}: not a number: {value!r}")
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise MappingError(f"{what}: not a number: {value!r}") from exc


def foreign_id(value: Any) -> str | None:
    """A foreign id as a string; v1 sometimes expands it to ``{"value": 3, "name": ...}``."""
    if type(value) not in _SCALARS and isinstance(value, Mapping):
        value = value.get("value", value.get("id"))
    if value is None or value == "" or value == 0:
        return None
    return str(value)


def remote_id_of(raw: Mapping[str, Any], kind: str) -> str:
    value = raw.get("id")
    if value is None or value == "":
        raise MappingError(f"{kind} without an id")
    return str(value)


def named_custom(decoded: dict[str, Any], labels: list[str] | None = None) -> dict[str, Any] | None:
    """Named custom values (plus the label names under ``labels``), None when empty."""
    out = dict(decoded)
    if labels:
        out["labels"] = labels
    return out or None

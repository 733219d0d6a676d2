"""Parsing of HubSpot property values, which are all strings (or null) in JSON.

Dates come as ISO-8601 UTC (``2024-05-01T10:00:00.123Z``), date-only (``2024-05-01``) or,
for some calculated properties, epoch milliseconds. A value that cannot be read raises
MappingError naming the property, so the engine quarantines the record with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from core.sync.connector import MappingError

_ZERO = timedelta(0)
_from_iso = datetime.fromisoformat


def text(props: Mapping[str, Any], name: str) -> str | None:
    """A property as stripped text; empty and null are None. (Called for most properties
    of every record: the common case, a string, takes no conversion.)"""
    value = props.get(name)
    if value is None:
        return None
    if type(value) is not str:
        value = str(value)
    return value.strip() or None


def timestamp(props: Mapping[str, Any], name: str) -> datetime | None:
    """A property as an aware UTC datetime (``text`` inlined: several per record)."""
    value = props.get(name)
    if value is None:
        return None
    if type(value) is str and value[-1:] == "Z":
        # HubSpot's own UTC ISO-8601 text, the usual value: parsed as it is (what the
        # path below answers for it); what fromisoformat refuses (a space) goes on below.
        try:
            return _from_iso(value)
        except ValueError:
            pass
    if type(value) is not str:
        value = str(value)
    value = value.strip()
    return parse_datetime(value, name) if value else None


def parse_datetime(value: str, name: str) -> datetime:
    if value[-1:] == "Z":  # UTC ISO-8601, the usual value: no digits-only check, no offset
        try:
            return _from_iso(value)
        except ValueError:
            pass
    if value.isdigit():
        return datetime.fromtimestamp(int(value) / 1000, UTC)
    try:
        parsed = datetime.fromisoformat(value)  # 3.11 reads "Z" and fractions itself
    except ValueError:
        raise MappingError(f"{name}: {value!r} is not a date") from None
    tz = parsed.tzinfo
    if tz is UTC:  # "...Z" and "+00:00": the usual case, nothing to convert
        return parsed
    if tz is None:
        return parsed.replace(tzinfo=UTC)
    return parsed if parsed.utcoffset() == _ZERO else parsed.astimezone(UTC)


def day(props: Mapping[str, Any], name: str) -> date | None:
    """A date property (HubSpot stores dates as midnight UTC)."""
    value = timestamp(props, name)
    return None if value is None else value.date()


def decimal(props: Mapping[str, Any], name: str) -> Decimal | None:
    """A number property as Decimal; tolerates thousands separators and spaces."""
    value = text(props, name)
    if value is None:
        return None
    try:
        number = Decimal(value.replace(",", "").replace(" ", ""))
    except InvalidOperation:
        raise MappingError(f"{name}: {value!r} is not a number") from None
    if not number.is_finite():
        raise MappingError(f"{name}: {value!r} is not a finite number")
    return number


def number(props: Mapping[str, Any], name: str) -> float | None:
    value = decimal(props, name)
    return None if value is None else float(value)


def flag(props: Mapping[str, Any], name: str) -> bool | None:
    """A boolean property ("true"/"false"); None when absent. (HubSpot's own spelling, the
    usual value, is answered before any conversion: two flags are read per deal.)"""
    value = props.get(name)
    if value == "true":
        return True
    if value == "false":
        return False
    value = text(props, name)
    if value is None:
        return None
    lowered = value.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise MappingError(f"{name}: {value!r} is not a boolean")


def identifier(value: Any) -> str | None:
    """An id as text (HubSpot sends ids as strings, owners' team ids as numbers)."""
    if value is None or value == "":
        return None
    return str(value)

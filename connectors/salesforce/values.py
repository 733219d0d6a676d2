"""Salesforce field values as Python values: UTC datetimes, dates, decimals, flags, ids.

Datetimes are UTC text (``2013-05-20T20:49:32.000+0000``), ``CloseDate``-like fields plain
dates, probabilities percents, and record ids tell their object by a 3-character prefix.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from connectors.salesforce import settings
from core.sync.connector import MappingError


def parse_datetime(value: Any, field: str = "datetime") -> datetime | None:
    """A Salesforce dateTime as an aware UTC datetime."""
    if value is None or value == "":
        return None
    try:
        parsed = datetime.fromisoformat(value if value[-1] != "Z" else value[:-1] + "+00:00")
    except (TypeError, ValueError, IndexError) as exc:
        raise MappingError(f"{field}: not a datetime: {value!r}") from exc
    if parsed.tzinfo is UTC:  # ``+0000``: fromisoformat already gives the UTC singleton
        return parsed
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_date(value: Any, field: str = "date") -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError as exc:
        raise MappingError(f"{field}: not a date: {value!r}") from exc


def midnight_utc(day: date | None) -> datetime | None:
    return None if day is None else datetime(day.year, day.month, day.day, tzinfo=UTC)


def local_midnight(day: date | None, zone: tzinfo) -> datetime | None:
    """The start of ``day`` in ``zone``, as a UTC instant."""
    return None if day is None else _local_midnight(day, zone)


@lru_cache(maxsize=4096)
def _local_midnight(day: date, zone: tzinfo) -> datetime:
    """Remembered: a page of tasks is due on a few hundred days, and each conversion asks
    the zone for its offset (a sixth of a task's mapping)."""
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


def parse_decimal(value: Any, field: str) -> Decimal | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        raise MappingError(f"{field}: not a number: {value!r}")
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise MappingError(f"{field}: not a number: {value!r}") from exc
    if not number.is_finite():
        raise MappingError(f"{field}: not a finite number: {value!r}")
    return number


def percent(value: Any, field: str) -> float | None:
    number = parse_decimal(value, field)
    return None if number is None else float(number) / 100.0


def flag(value: Any) -> bool:
    """Booleans as JSON gives them, or as Bulk API CSV text."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


def text(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def id_with_prefix(value: Any, *prefixes: str) -> str | None:
    """The id when it points at one of the objects with ``prefixes`` (polymorphic lookups)."""
    return str(value) if isinstance(value, str) and value[:3] in prefixes else None


def custom_fields(raw: Mapping[str, Any]) -> dict[str, Any] | None:
    found = {k: v for k, v in raw.items() if k[-3:] == "__c"}
    return found or None


_NOT_DATA = frozenset(
    {"attributes", settings.HISTORY_RELATIONSHIP, settings.LEAD_HISTORY_RELATIONSHIP}
)


def remote_data(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The raw record without the per-row ``attributes`` and child relationships."""
    data = dict(raw)
    for key in _NOT_DATA:
        data.pop(key, None)
    return data

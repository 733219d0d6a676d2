"""Validators shared by the CLI, GraphQL and imports; each raises a precise ValidationError."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.errors import ValidationError

_CURRENCY = re.compile(r"^[A-Z]{3}$")


def timezone(value: str) -> str:
    """An IANA timezone name such as ``Europe/Madrid``."""
    try:
        if not value or len(value) > 64:  # the longest IANA name is 32 characters
            raise ValueError(value)
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError):
        raise ValidationError(
            f"unknown timezone {value[:64]!r}: use an IANA name such as 'Europe/Madrid'"
        ) from None
    return value


def currency(value: str) -> str:
    """An ISO 4217 code: three capital letters."""
    if not _CURRENCY.match(value or ""):
        raise ValidationError(f"invalid currency {value!r}: use an ISO 4217 code such as 'EUR'")
    return value


def month(value: int) -> int:
    if not 1 <= value <= 12:
        raise ValidationError(f"fiscal-year start month must be 1..12, not {value}")
    return value


def weekday(value: int) -> int:
    if not 1 <= value <= 7:
        raise ValidationError(
            f"week start must be an ISO weekday 1 (Monday)..7 (Sunday), not {value}"
        )
    return value


def positive_days(name: str, value: int) -> int:
    if not 1 <= value <= 3650:
        raise ValidationError(f"{name} must be between 1 and 3650 days, not {value}")
    return value


def name(value: str, what: str = "name") -> str:
    value = value.strip()
    if not value or len(value) > 200:
        raise ValidationError(f"{what} must be 1..200 characters")
    return value

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from connectors.salesforce import values
from core.sync.connector import MappingError


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-01T10:00:00.000+0000", _utc(2026, 1, 1, 10)),
        ("2026-01-01T10:00:00.000+0200", _utc(2026, 1, 1, 8)),
        ("2026-01-01T10:00:00Z", _utc(2026, 1, 1, 10)),
        ("2026-01-01T10:00:00", _utc(2026, 1, 1, 10)),
        (None, None),
    ],
)
def test_datetimes_are_aware_utc(text: str | None, expected: datetime | None) -> None:
    parsed = values.parse_datetime(text)
    assert parsed == expected
    assert parsed is None or parsed.utcoffset() is not None


def test_numbers_dates_flags_and_prefixed_ids() -> None:
    assert values.parse_decimal(12.5, "Amount") == Decimal("12.5")
    for bad in ("NaN", "twelve", True):
        with pytest.raises(MappingError, match="Amount"):
            values.parse_decimal(bad, "Amount")
    assert values.parse_date("2026-02-03", "CloseDate") == date(2026, 2, 3)
    with pytest.raises(MappingError, match="CloseDate"):
        values.parse_date("03/02/2026", "CloseDate")
    assert values.flag("true") and values.flag(True) and not values.flag("false")
    assert values.id_with_prefix("003ABC", "003", "00Q") == "003ABC"
    assert (
        values.id_with_prefix("001ABC", "003") is None
        and values.id_with_prefix(None, "003") is None
    )
    raw = {"attributes": {}, "Id": "1", "OpportunityHistories": {"records": []}, "X__c": 1}
    assert values.remote_data(raw) == {"Id": "1", "X__c": 1}
    assert values.custom_fields(raw) == {"X__c": 1} and values.custom_fields({"Id": "1"}) is None

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from connectors.salesforce import soql


def test_literals() -> None:
    paris = timezone(timedelta(hours=1))
    assert (
        soql.literal(datetime(2026, 11, 1, 10, 0, 5, 999999, tzinfo=paris))
        == "2026-11-01T09:00:05Z"
    )
    assert soql.literal(date(2026, 1, 2)) == "2026-01-02"
    assert soql.literal("O'Brien \\ Co") == "'O\\'Brien \\\\ Co'"
    assert (soql.literal(True), soql.literal(None), soql.literal(3)) == ("true", "null", "3")
    with pytest.raises(ValueError, match="timezone-aware"):
        soql.literal(datetime(2026, 1, 1))


def test_select_with_children_where_order_and_limit() -> None:
    child = soql.select("OpportunityHistories", ["StageName"], order_by=["CreatedDate"])
    text = soql.select(
        "Opportunity",
        ["Id", "Name"],
        where=["IsDeleted = false", *soql.since_clause(datetime(2026, 1, 1, tzinfo=UTC))],
        order_by=["SystemModstamp", "Id"],
        limit=10,
        children=[child],
    )
    assert text == (
        "SELECT Id, Name, (SELECT StageName FROM OpportunityHistories ORDER BY CreatedDate) "
        "FROM Opportunity WHERE IsDeleted = false AND SystemModstamp >= 2026-01-01T00:00:00Z "
        "ORDER BY SystemModstamp, Id LIMIT 10"
    )
    assert soql.since_clause(None) == []
    with pytest.raises(ValueError, match="no fields"):
        soql.select("Account", [])

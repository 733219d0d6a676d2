"""MQL, SQL and customer times of Salesforce contacts and leads: Salesforce has no lifecycle
of its own, so orgs keep them in custom date fields (``MQL_Date__c`` ... by default, other
names through the connection's ``*_date_fields`` options)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from connectors.salesforce import mapping
from connectors.salesforce.connector import SalesforceConnector
from connectors.salesforce.state import SalesforceRun
from tests.connectors.salesforce.conftest import load_fixture

DEFAULTS = SalesforceRun().date_fields()
MADRID = ZoneInfo("Europe/Madrid")


def _contacts() -> list[dict]:
    return load_fixture("contacts_qualified.json")["records"]


def test_contacts_read_the_default_date_fields() -> None:
    grace, alan, edsger = (mapping.map_contact(r, DEFAULTS, MADRID) for r in _contacts())
    # DateTime fields are instants.
    assert grace.mql_at == datetime(2026, 8, 20, 14, 30, tzinfo=UTC)
    assert grace.sql_at == datetime(2026, 9, 10, 12, tzinfo=UTC)
    assert grace.customer_at is None
    # Date fields are days of the org's calendar: from their local midnight.
    assert alan.sql_at == datetime(2026, 6, 30, 22, tzinfo=UTC)
    assert alan.customer_at == datetime(2026, 9, 30, 22, tzinfo=UTC)
    assert alan.mql_at is None  # Became_MQL__c is not a default field
    assert (edsger.mql_at, edsger.sql_at, edsger.customer_at) == (None, None, None)
    assert not grace.is_lead  # leads are Lead records
    # Without date fields (the mapping's default) nothing is read.
    assert mapping.map_contact(_contacts()[0]).mql_at is None


def test_options_name_the_orgs_own_fields_first_set_wins() -> None:
    run = SalesforceRun(options={"mql_date_fields": " Became_MQL__c , MQL_Date__c"})
    fields = run.date_fields()
    assert fields["mql_at"] == ("Became_MQL__c", "MQL_Date__c")
    assert fields["sql_at"] == ("SQL_Date__c",)  # unset: the default
    grace, alan, _ = (mapping.map_contact(r, fields, MADRID) for r in _contacts())
    assert alan.mql_at == datetime(2026, 6, 14, 22, tzinfo=UTC)  # Became_MQL__c
    assert grace.mql_at == datetime(2026, 8, 20, 14, 30, tzinfo=UTC)  # falls back
    options = {f.name: f.description for f in SalesforceConnector.option_fields}
    assert "default MQL_Date__c" in options["mql_date_fields"]
    assert "default Customer_Date__c" in options["customer_date_fields"]


def _classify(status: str | None) -> str | None:
    return {"Working - Contacted": "mql", "Closed - Converted": "sql"}.get(status or "")


def test_a_lead_is_qualified_at_the_earlier_of_its_status_and_its_date_field() -> None:
    converted = load_fixture("leads.json")["records"][0]
    by_status = mapping.map_lead(converted, _classify, DEFAULTS)
    assert by_status.mql_at == datetime(2026, 7, 22, 10, tzinfo=UTC)  # LeadHistory
    earlier = {**converted, "MQL_Date__c": "2026-07-21T08:00:00.000+0000"}
    assert mapping.map_lead(earlier, _classify, DEFAULTS).mql_at == datetime(
        2026, 7, 21, 8, tzinfo=UTC
    )
    later = {**converted, "MQL_Date__c": "2026-07-30T08:00:00.000+0000"}
    assert mapping.map_lead(later, _classify, DEFAULTS).mql_at == by_status.mql_at
    # No status mapping at all: the field alone.
    assert mapping.map_lead(later, None, DEFAULTS).mql_at == datetime(2026, 7, 30, 8, tzinfo=UTC)

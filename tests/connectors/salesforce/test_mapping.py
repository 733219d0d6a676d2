from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from connectors.salesforce import activities, mapping
from connectors.salesforce.metadata import SalesProcesses
from core.sync.connector import MappingError
from core.sync.records import DealRecord, DealStageHistoryRecord, stage_history_id
from tests.connectors.salesforce.conftest import load_fixture


def _records(name: str) -> list[dict]:
    return load_fixture(name)["records"]


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_won_opportunity_multi_currency_with_custom_fields_and_history() -> None:
    raw = _records("opportunities_page_1.json")[0]
    deal, *history = mapping.map_opportunity(raw, default_currency="USD")
    assert isinstance(deal, DealRecord)
    assert deal.remote_id == "006RO00000Ab1cDYAR"
    assert deal.amount == Decimal("48000.5")
    assert deal.currency == "EUR"  # the record's currency wins over the org default
    assert deal.status == "WON"
    assert deal.stage_remote_id == "Closed Won"
    assert deal.probability == pytest.approx(1.0)
    assert deal.deal_type == "NEW_BUSINESS"
    assert deal.source == "Web"
    assert deal.expected_close_date == date(2026, 10, 15)
    # closed_at is when the deal entered its closing stage, not midnight of CloseDate
    assert deal.closed_at == _utc(2026, 10, 15, 16, 40, 12)
    assert deal.remote_updated_at == _utc(2026, 10, 15, 16, 40, 12)
    assert deal.custom == {"Loss_Reason__c": None, "Region__c": "EMEA"}
    assert "OpportunityHistories" not in (deal.remote_data or {})
    assert "attributes" not in (deal.remote_data or {})
    # the two Prospecting rows (an amount change) are one stay
    assert [(h.stage_remote_id, h.entered_at, h.exited_at) for h in history] == [
        ("Prospecting", _utc(2026, 8, 1, 9, 15), _utc(2026, 9, 2, 13, 30)),
        ("Proposal/Price Quote", _utc(2026, 9, 2, 13, 30), _utc(2026, 9, 28, 8, 5)),
        ("Negotiation/Review", _utc(2026, 9, 28, 8, 5), _utc(2026, 10, 15, 16, 40, 12)),
        ("Closed Won", _utc(2026, 10, 15, 16, 40, 12), None),
    ]
    assert all(isinstance(h, DealStageHistoryRecord) for h in history)
    assert history[0].remote_id == stage_history_id(
        deal.remote_id, "Prospecting", history[0].entered_at
    )
    assert {h.deal_remote_id for h in history} == {deal.remote_id}


def test_lost_opportunity_without_history_closes_at_close_date() -> None:
    raw = _records("opportunities_page_1.json")[1]
    records = mapping.map_opportunity(raw)
    assert len(records) == 1
    deal = records[0]
    assert isinstance(deal, DealRecord)
    assert deal.status == "LOST"
    assert deal.lost_reason == "Price"
    assert deal.closed_at == _utc(2026, 9, 30)
    assert deal.deal_type == "RENEWAL"
    assert deal.contact_remote_id is None


def test_open_opportunity_null_amount_queue_owner_unknown_stage_and_type() -> None:
    raw = _records("opportunities_page_1.json")[2]
    deal, history = mapping.map_opportunity(raw)
    assert isinstance(deal, DealRecord)
    assert deal.amount is None
    assert deal.status == "OPEN"
    assert deal.closed_at is None
    assert deal.lost_reason is None
    assert deal.owner_remote_id is None  # a queue (00G) is not a user
    assert deal.stage_remote_id == "Custom Discovery Stage"
    assert deal.deal_type is None  # "Partner Deal" is no DealType; raw value stays in remote_data
    assert deal.remote_data is not None and deal.remote_data["Type"] == "Partner Deal"
    assert deal.probability == pytest.approx(0.15)
    assert isinstance(history, DealStageHistoryRecord) and history.exited_at is None


def test_single_currency_org_uses_the_org_currency() -> None:
    raw = _records("opportunities_single_currency.json")[0]
    deal = mapping.map_opportunity(raw, default_currency="CAD")[0]
    assert isinstance(deal, DealRecord)
    assert deal.currency == "CAD"
    assert deal.amount == Decimal("9900.99")
    assert deal.deal_type == "NEW_BUSINESS"


@pytest.mark.parametrize(
    ("index", "reason"),
    [(0, "Amount: not a number: 'twelve'"), (1, "Opportunity without StageName")],
)
def test_unmappable_opportunities_raise_precise_errors(index: int, reason: str) -> None:
    raw = _records("opportunities_page_2.json")[index]
    with pytest.raises(MappingError, match=reason):
        mapping.map_opportunity(raw)


def test_history_row_without_date_is_a_mapping_error() -> None:
    raw = dict(_records("opportunities_page_1.json")[2])
    raw["OpportunityHistories"] = {"totalSize": 1, "done": True, "records": [{"StageName": "X"}]}
    with pytest.raises(MappingError, match="OpportunityHistory"):
        mapping.map_opportunity(raw)


def test_record_without_id_is_a_mapping_error() -> None:
    with pytest.raises(MappingError, match="without Id"):
        mapping.map_account({"Name": "no id"})


def test_bad_datetime_is_a_mapping_error() -> None:
    raw = {**_records("accounts.json")[0], "SystemModstamp": "yesterday"}
    with pytest.raises(MappingError, match="SystemModstamp"):
        mapping.map_account(raw)


def test_stages_kinds_and_order_from_metadata() -> None:
    stages = {s.remote_id: s for s in map(mapping.map_stage, _records("stages.json"))}
    assert stages["Prospecting"].kind is None  # open stages: the engine guesses
    assert stages["Prospecting"].probability == pytest.approx(0.1)
    assert stages["Prospecting"].display_order == 1
    assert (stages["Closed Won"].kind, stages["Closed Won"].is_won) == ("WON", True)
    assert (stages["Closed Lost"].kind, stages["Closed Lost"].is_closed) == ("LOST", True)
    retired = stages["Old_Qualification"]
    assert retired.deleted and retired.name == "Qualification (retired)"
    assert retired.probability is None
    assert {s.pipeline_remote_id for s in stages.values()} == {"Opportunity"}


def test_leads_conversion_and_queue_owner() -> None:
    converted, queued, no_opp = map(mapping.map_lead, _records("leads.json"))
    assert converted.converted_at == _utc(2026, 8, 1)
    assert converted.converted_deal_remote_id == "006RO00000Ab1cDYAR"
    assert converted.converted_account_remote_id == "001RO00000Xy7zQYAR"
    assert converted.contact_remote_id == "003RO00000Pq8rSYAR"
    assert converted.status == "Closed - Converted"
    assert converted.custom == {"Score__c": 87}
    assert queued.owner_remote_id is None and queued.converted_at is None
    assert queued.name == "Queue Owned"
    assert no_opp.converted_at == _utc(2026, 9, 9) and no_opp.converted_deal_remote_id is None


def test_users_roles_accounts_contacts() -> None:
    active, former = map(mapping.map_user, _records("users.json"))
    assert (active.name, active.team_remote_id, active.active) == (
        "Grace Hopper",
        "00ERO000000RoleAAA",
        True,
    )
    assert former.active is False
    account = mapping.map_account(_records("accounts.json")[0])
    assert (account.country, account.region, account.industry, account.source) == (
        "Germany",
        "Bavaria",
        "Manufacturing",
        "Web",
    )
    assert account.custom == {"Tier__c": "Gold"}
    contact = mapping.map_contact(_records("contacts.json")[0])
    assert contact.name == "Ada Lovelace"  # Name null: built from first and last name
    assert contact.account_remote_id == "001RO00000Xy7zQYAR"


def test_tasks_types_links_and_outcomes() -> None:
    call, email, todo, legacy = map(activities.map_task, _records("tasks.json"))
    assert (call.type, call.outcome, call.direction) == ("CALL", "LEFT_VOICEMAIL", "OUTBOUND")
    assert call.done_at == _utc(2026, 10, 2, 14, 3)
    assert call.due_at == _utc(2026, 10, 2)
    assert (call.contact_remote_id, call.deal_remote_id, call.account_remote_id) == (
        "003RO00000Pq8rSYAR",
        "006RO00000Ab1cDYAR",
        "001RO00000Xy7zQYAR",
    )
    assert email.type == "EMAIL" and email.lead_remote_id == "00QRO00000Lx1aCYAR"
    assert email.done_at == _utc(2026, 10, 3, 9)  # no CompletedDateTime: last modified
    assert todo.type == "TASK" and todo.done_at is None and todo.deal_remote_id is None
    assert todo.account_remote_id == "001RO00000Xy7zRYAR"
    # no TaskSubtype (older API versions): the Type decides; unknown dispositions kept as text
    assert legacy.type == "CALL" and legacy.outcome == "Spoke to assistant"
    assert legacy.direction is None


def test_events_are_meetings_held_once_ended_done_at_their_start() -> None:
    now = _utc(2026, 11, 25)
    past, future = (activities.map_event(r, now=now) for r in _records("events.json"))
    # KPIS.md: a held meeting happens at its start (StartDateTime), not when it ends
    assert (past.type, past.meeting_status, past.done_at) == (
        "MEETING",
        "HELD",
        _utc(2026, 10, 5, 15),
    )
    assert past.due_at == _utc(2026, 10, 5, 15)
    assert future.done_at is None and future.meeting_status is None
    assert future.lead_remote_id == "00QRO00000Lx1aCYAR"


@pytest.mark.parametrize(
    ("field", "value", "status"),
    [
        ("Meeting_Outcome__c", "No Show", "NO_SHOW"),
        ("Outcome__c", "Canceled", "CANCELLED"),
        ("Meeting_Outcome__c", "Rescheduled", "ACCEPTED"),
        ("Meeting_Status__c", "Completed", "HELD"),
        ("Meeting_Outcome__c", "Rain check", "HELD"),  # unknown: held once ended
    ],
)
def test_an_events_outcome_field_says_whether_it_was_held(
    field: str, value: str, status: str
) -> None:
    """Event has no status: an org's custom outcome field, where it has one, decides."""
    past = {**_records("events.json")[0], field: value}
    event = activities.map_event(past, now=_utc(2026, 11, 25))
    assert (event.meeting_status, event.outcome) == (status, value)
    held = _utc(2026, 10, 5, 15) if status == "HELD" else None
    assert event.done_at == held


def test_currency_rates_are_inverted_to_corporate_units() -> None:
    _usd, eur, jpy = _records("currency_types.json")
    rate = mapping.map_currency_type(eur, corporate="USD", day=date(2026, 11, 25))
    assert (rate.base_currency, rate.currency, rate.day) == ("USD", "EUR", date(2026, 11, 25))
    assert rate.rate == Decimal("1.25")  # 0.8 EUR per USD -> 1 EUR = 1.25 USD
    with pytest.raises(MappingError, match="ConversionRate must be positive"):
        mapping.map_currency_type(jpy, corporate="USD", day=date(2026, 11, 25))
    first, second = (
        mapping.map_dated_rate(r, corporate="USD") for r in _records("dated_rates.json")
    )
    assert first.day == date(1, 1, 1) and second.day == date(2026, 10, 1)
    assert second.rate == (Decimal(1) / Decimal("0.9")).quantize(Decimal("0.0000000001"))


def _classify(status: str | None) -> str | None:
    return {
        "Working - Contacted": "mql",
        "Closed - Converted": "sql",
        "Open - Not Contacted": "lead",
    }.get(status or "")


def test_lead_mql_and_sql_times_come_from_status_history() -> None:
    converted, queued, _ = (mapping.map_lead(r, _classify) for r in _records("leads.json"))
    assert converted.mql_at == _utc(2026, 7, 22, 10)
    assert converted.sql_at == _utc(2026, 8, 1, 9, 15)
    assert "Histories" not in (converted.remote_data or {})
    # no history rows: the current status is held since creation
    assert queued.mql_at is None and queued.sql_at is None
    no_history = {**_records("leads.json")[0], "Histories": None}
    lead = mapping.map_lead(no_history, _classify)
    assert lead.sql_at == _utc(2026, 7, 20, 8)  # Closed - Converted since CreatedDate
    assert mapping.map_lead(_records("leads.json")[0]).mql_at is None  # no classifier
    broken = {**_records("leads.json")[0]}
    broken["Histories"] = {"records": [{"Field": "Status", "NewValue": "X"}]}
    with pytest.raises(MappingError, match="LeadHistory"):
        mapping.map_lead(broken, _classify)


def test_record_types_place_deals_in_their_sales_process_pipeline() -> None:
    raw = _records("opportunities_page_1.json")[0]  # in "Closed Won", two history rows
    processes = SalesProcesses(
        names={"019A": "New Business", "019B": "Renewals"},
        record_types={"012A": "019A", "012B": "019B"},
        stages={"019A": frozenset({"Prospecting", "Closed Won"}), "019B": frozenset({"Renew"})},
    )
    deal, *history = mapping.map_opportunity({**raw, "RecordTypeId": "012A"}, processes=processes)
    assert isinstance(deal, DealRecord)
    assert (deal.pipeline_remote_id, deal.stage_remote_id) == ("019A", "019A:Closed Won")
    assert all(isinstance(h, DealStageHistoryRecord) for h in history)
    placed = {(h.pipeline_remote_id, h.stage_remote_id) for h in history}  # type: ignore[union-attr]
    assert ("019A", "019A:Closed Won") in placed
    # a stage its process does not offer, the master record type (null), an unknown one, and
    # an org without record types (no RecordTypeId at all): the default pipeline
    for changed in ({"RecordTypeId": "012B"}, {"RecordTypeId": None}, {"RecordTypeId": "012Z"}):
        other = mapping.map_opportunity({**raw, **changed}, processes=processes)[0]
        assert isinstance(other, DealRecord)
        assert (other.pipeline_remote_id, other.stage_remote_id) == ("Opportunity", "Closed Won")
    plain = mapping.map_opportunity(raw)[0]
    assert isinstance(plain, DealRecord) and plain.pipeline_remote_id == "Opportunity"
    assert processes.processes_with("Closed Won") == ["019A"]

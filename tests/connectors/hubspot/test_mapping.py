"""Mapping of recorded HubSpot payloads, including null, odd, custom and unknown values."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from connectors.hubspot import mapping
from core.sync.connector import MappingError
from core.sync.records import (
    DealRecord,
    DealStageHistoryRecord,
    PipelineRecord,
    StageRecord,
    TeamRecord,
    UserRecord,
)
from tests.connectors.hubspot.fixtures import load


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture(scope="module")
def stages() -> dict[str, mapping.StageInfo]:
    return mapping.stage_infos(load("pipelines.json")["results"])


def _deal(stages: dict[str, mapping.StageInfo], deal_id: str) -> list:
    raw = next(r for r in load("deals.json")["results"] if r["id"] == deal_id)
    return mapping.map_deal(raw, stages, custom=["customer_tier"])


def test_owner_with_teams_takes_primary_team() -> None:
    records = mapping.map_owner(load("owners.json")["results"][0])
    teams = [r for r in records if isinstance(r, TeamRecord)]
    (user,) = [r for r in records if isinstance(r, UserRecord)]
    assert [(t.remote_id, t.name) for t in teams] == [("7201", "Inbound"), ("7202", "Enterprise")]
    assert user.remote_id == "41629779"
    assert user.name == "Ana López"
    assert user.email == "ana.lopez@example.com"
    assert user.team_remote_id == "7202"
    assert user.active is True
    assert user.remote_updated_at == datetime(2024, 6, 2, 16, 40, 5, 981000, tzinfo=UTC)


def test_owner_without_name_or_teams_and_archived_owner() -> None:
    queue = mapping.map_owner(load("owners.json")["results"][1])
    assert len(queue) == 1 and isinstance(queue[0], UserRecord)
    assert queue[0].name is None and queue[0].team_remote_id is None
    (team, gone) = mapping.map_owner(load("owners_archived.json")["results"][0])
    assert isinstance(team, TeamRecord) and team.remote_id == "7201"
    assert isinstance(gone, UserRecord) and gone.active is False and gone.deleted is False
    assert gone.team_remote_id == "7201"


def test_pipeline_stages_kinds_from_metadata() -> None:
    records = mapping.map_pipeline(load("pipelines.json")["results"][0])
    pipeline = records[0]
    assert isinstance(pipeline, PipelineRecord)
    assert (pipeline.remote_id, pipeline.name, pipeline.display_order) == (
        "default",
        "Sales Pipeline",
        0,
    )
    by_id = {r.remote_id: r for r in records if isinstance(r, StageRecord)}
    assert by_id["appointmentscheduled"].kind == "LEAD_IN"  # a default stage id
    assert by_id["presentationscheduled"].kind == "PROPOSAL"
    assert by_id["1139420"].kind is None  # a custom open stage: the engine guesses
    assert by_id["appointmentscheduled"].probability == pytest.approx(0.2)
    assert by_id["appointmentscheduled"].is_closed is False
    won, lost = by_id["closedwon"], by_id["closedlost"]
    assert (won.kind, won.is_closed, won.is_won, won.display_order) == ("WON", True, True, 5)
    assert (lost.kind, lost.is_closed, lost.is_won) == ("LOST", True, False)
    assert by_id["1139420"].deleted is True  # archived stage
    assert all(r.pipeline_remote_id == "default" for r in by_id.values())


def test_stage_probability_out_of_range_is_a_mapping_error() -> None:
    raw = {"id": "p", "label": "P", "stages": [{"id": "s", "metadata": {"probability": "40"}}]}
    with pytest.raises(MappingError, match=r"probability 40\.0 outside"):
        mapping.map_pipeline(raw)


def test_company_with_custom_property_and_nulls() -> None:
    acme, nameless, _ = load("companies.json")["results"]
    account = mapping.map_company(acme, custom=["customer_tier", "not_requested_here"])
    assert (account.name, account.country, account.region) == ("Acme Iberia SL", "Spain", "Madrid")
    assert account.industry == "COMPUTER_SOFTWARE"
    assert account.owner_remote_id == "41629779"
    assert account.source == "Referrals"
    assert account.custom == {"customer_tier": "gold"}
    assert account.remote_created_at == datetime(2023, 4, 11, 8, 15, 2, 210000, tzinfo=UTC)
    other = mapping.map_company(nameless, custom=["customer_tier"])
    assert other.name == "nameless.io"  # falls back on the domain
    assert other.country is None and other.region is None and other.custom is None
    assert other.source == "SOMETHING_NEW"  # unknown source values kept as they are


def test_company_with_unreadable_date_is_a_mapping_error() -> None:
    with pytest.raises(MappingError, match="createdate: 'last tuesday' is not a date"):
        mapping.map_company(load("companies.json")["results"][2])


def test_contact_lifecycle_dates() -> None:
    contact = mapping.map_contact(load("contacts.json")["results"][0], custom=["customer_tier"])
    assert contact.name == "María García"
    assert contact.account_remote_id == "9854512001"
    assert contact.lifecycle_stage == "customer"
    assert contact.source == "Organic Search"
    assert contact.is_lead is True
    assert contact.lead_at == utc(2024, 1, 5, 10)  # the subscriber date is earlier
    assert contact.mql_at == utc(2024, 2, 1, 8)
    assert contact.sql_at == utc(2024, 3, 15, 14, 45)
    assert contact.customer_at == utc(2024, 6, 30, 16, 20)
    assert contact.custom == {"customer_tier": "silver"}
    assert contact.remote_updated_at == utc(2024, 7, 1, 9, 30)


def test_contact_sparse_and_company_from_primary_association() -> None:
    contact = mapping.map_contact(load("contacts.json")["results"][1])
    assert contact.name == "Smith" and contact.email is None
    assert contact.account_remote_id == "9854512003"  # primary before unlabeled
    assert contact.is_lead is True and contact.lead_at is None
    assert contact.mql_at is None and contact.customer_at is None


def test_contact_custom_lifecycle_stage_mapped_by_the_connection() -> None:
    raw = load("contacts.json")["results"][2]
    unmapped = mapping.map_contact(raw)
    assert unmapped.lifecycle_stage == "1034567" and unmapped.mql_at is None
    mapped = mapping.map_contact(raw, lifecycle_kinds={"1034567": "mql"})
    assert mapped.mql_at == utc(2024, 5, 6, 10)


def test_lead_object_qualified_into_a_deal() -> None:
    lead = mapping.map_lead(load("leads.json")["results"][0])
    assert lead.name == "María García"
    assert lead.status == "Qualified"
    assert lead.source == "Paid Search"
    assert lead.contact_remote_id == "151"
    assert lead.account_remote_id == "9854512001"
    assert lead.converted_deal_remote_id == "18000001"
    assert lead.converted_account_remote_id == "9854512001"
    assert lead.converted_at == utc(2024, 3, 1, 9)
    assert lead.remote_created_at == utc(2024, 2, 1, 9)


def test_lead_object_open_and_custom_stage() -> None:
    _, open_lead, custom = load("leads.json")["results"]
    first = mapping.map_lead(open_lead)
    assert first.status == "Attempting" and first.converted_at is None
    assert first.converted_deal_remote_id is None and first.name is None
    assert mapping.map_lead(custom).status == "987654"


def test_won_deal_with_history_associations_and_custom(stages) -> None:
    deal, *history = _deal(stages, "18000001")
    assert isinstance(deal, DealRecord)
    assert deal.status == "WON"
    assert deal.amount == Decimal("12500.50")
    assert deal.currency == "EUR"
    assert deal.closed_at == datetime(2024, 6, 28, 15, 4, tzinfo=UTC)
    assert deal.expected_close_date == date(2024, 6, 28)
    assert deal.account_remote_id == "9854512001"  # the primary company
    assert deal.contact_remote_id == "151"
    assert deal.lead_remote_id == "330001"
    assert deal.deal_type == "NEW_BUSINESS"
    assert deal.source == "Referrals"
    assert deal.recurring_amount == Decimal("1041.71")
    assert deal.probability == 1.0
    assert deal.lost_reason is None
    assert deal.custom == {"customer_tier": "gold"}
    assert [(h.stage_remote_id, h.entered_at, h.exited_at) for h in history] == [
        ("appointmentscheduled", utc(2024, 3, 2, 10), utc(2024, 4, 10, 9)),
        ("qualifiedtobuy", utc(2024, 4, 10, 9), utc(2024, 6, 28, 15, 4)),
        ("closedwon", utc(2024, 6, 28, 15, 4), None),
    ]
    assert all(h.pipeline_remote_id == "default" for h in history)
    entered = int(utc(2024, 3, 2, 10).timestamp())
    assert history[0].remote_id == f"18000001:appointmentscheduled:{entered}"


def test_lost_deal_with_thousands_separator(stages) -> None:
    (deal,) = _deal(stages, "18000002")
    assert deal.status == "LOST"
    assert deal.amount == Decimal("1250.00")
    assert deal.currency is None
    assert deal.lost_reason == "Competitor"
    assert deal.closed_at == utc(2024, 5, 1)
    assert deal.deal_type == "UPSELL"


def test_open_deal_keeps_expected_close_but_no_close_time(stages) -> None:
    deal, history = _deal(stages, "18000003")
    assert deal.status == "OPEN" and deal.closed_at is None
    assert deal.amount is None
    assert deal.expected_close_date == date(2024, 12, 31)
    assert deal.deal_type is None  # a custom deal type value stays out of the closed set
    assert history.entered_at == utc(2024, 6, 2)  # epoch milliseconds


def test_deal_in_unknown_stage_is_kept(stages) -> None:
    (deal,) = _deal(stages, "18000004")
    assert deal.stage_remote_id == "5551234" and deal.pipeline_remote_id == "555"
    assert deal.status == "OPEN"


def test_deal_closed_by_its_stage_when_flags_are_missing(stages) -> None:
    deal, first, last = _deal(stages, "18000005")
    assert deal.status == "LOST"
    assert deal.pipeline_remote_id == "8852307"
    assert deal.closed_at == utc(2024, 2, 1)  # no closedate: entry into the closed stage
    assert first.exited_at == last.entered_at


def test_bad_amount_and_won_deal_without_close_time_are_mapping_errors(stages) -> None:
    with pytest.raises(MappingError, match="amount: '12k' is not a number"):
        _deal(stages, "18000006")
    with pytest.raises(MappingError, match="won but has no closedate"):
        _deal(stages, "18000007")


def test_stage_history_from_properties_with_history_keeps_every_visit(stages) -> None:
    _, *history = mapping.map_deal(load("deal_with_history.json"), stages)
    assert [h.stage_remote_id for h in history] == [
        "appointmentscheduled",
        "qualifiedtobuy",
        "presentationscheduled",
        "qualifiedtobuy",
    ]
    assert all(isinstance(h, DealStageHistoryRecord) for h in history)
    assert history[1].exited_at == utc(2024, 2, 1) and history[-1].exited_at is None
    assert len({h.remote_id for h in history}) == 4


def test_stage_history_writes_of_an_unchanged_stage_are_no_new_visit(stages) -> None:
    raw = load("deal_with_history.json")
    visits = raw["propertiesWithHistory"]["dealstage"]
    repeated = {
        "value": "qualifiedtobuy",
        "timestamp": "2024-03-05T00:00:00Z",
        "sourceType": "IMPORT",
    }
    raw["propertiesWithHistory"]["dealstage"] = [repeated, *visits]
    _, *history = mapping.map_deal(raw, stages)
    assert [(h.stage_remote_id, h.entered_at) for h in history][-2:] == [
        ("presentationscheduled", utc(2024, 2, 1)),
        ("qualifiedtobuy", utc(2024, 3, 1)),
    ]
    assert history[-1].exited_at is None


def test_calls() -> None:
    done, queued = load("engagements.json")["calls"]
    call = mapping.map_engagement("calls", done)
    assert (call.type, call.subject, call.direction) == ("CALL", "Discovery call", "OUTBOUND")
    assert call.outcome == "CONNECTED"
    assert call.due_at == call.done_at == utc(2024, 6, 10, 14)
    assert (call.deal_remote_id, call.contact_remote_id, call.account_remote_id) == (
        "18000001",
        "151",
        "9854512001",
    )
    pending = mapping.map_engagement("calls", queued)
    assert pending.done_at is None and pending.due_at == utc(2024, 7, 10, 14)
    assert pending.outcome == "0b5e7a00-custom-disposition"
    assert pending.direction is None and pending.lead_remote_id == "330002"


def test_emails_meetings_notes_tasks() -> None:
    data = load("engagements.json")
    incoming, scheduled = (mapping.map_engagement("emails", r) for r in data["emails"])
    assert incoming.direction == "INBOUND" and incoming.done_at == utc(2024, 6, 11, 8)
    assert scheduled.direction == "OUTBOUND" and scheduled.done_at is None
    held, no_show = (mapping.map_engagement("meetings", r) for r in data["meetings"])
    assert (held.outcome, held.meeting_status, held.done_at) == (
        "COMPLETED",
        "HELD",
        utc(2024, 6, 12, 10),
    )
    assert (no_show.meeting_status, no_show.done_at) == ("NO_SHOW", None)
    note = mapping.map_engagement("notes", data["notes"][0])
    assert note.subject == "Budget approved , next step: legal"
    assert note.done_at == utc(2024, 6, 13, 10) and note.due_at is None  # never due
    completed, open_task = (mapping.map_engagement("tasks", r) for r in data["tasks"])
    assert completed.due_at == utc(2024, 6, 14, 17) and completed.done_at == utc(2024, 6, 14, 9)
    assert open_task.done_at is None and open_task.subject == "Call back"


def test_records_without_id_or_with_bad_properties_are_mapping_errors() -> None:
    with pytest.raises(MappingError, match="missing id"):
        mapping.map_company({"properties": {"name": "x"}})
    with pytest.raises(MappingError, match="properties is not an object"):
        mapping.map_contact({"id": "1", "properties": ["x"]})
    with pytest.raises(MappingError, match="not an engagement"):
        mapping.map_engagement("tickets", {"id": "1"})


def test_archived_records_are_deleted() -> None:
    raw = {**load("companies.json")["results"][0], "archived": True}
    raw["archivedAt"] = "2024-10-01T00:00:00Z"
    assert mapping.map_company(raw).deleted is True


def test_exchange_rates_to_the_company_currency() -> None:
    eur, mxn, zero, undated = load("exchange_rates.json")["results"]
    rate = mapping.map_exchange_rate(eur)
    assert (rate.base_currency, rate.currency, rate.day) == ("USD", "EUR", date(2024, 6, 1))
    assert rate.rate == Decimal("1.084512")
    assert mapping.map_exchange_rate(mxn).currency == "MXN"
    assert mapping.map_exchange_rate(mxn).rate == Decimal("0.055")
    with pytest.raises(MappingError, match="not positive"):
        mapping.map_exchange_rate(zero)
    with pytest.raises(MappingError, match="effectiveAt"):
        mapping.map_exchange_rate(undated)


def _without(raw: dict, drop_nulls: bool) -> dict:
    """``raw`` with its null properties left out (one reading of the docs) or kept (the
    other): HubSpot documents properties as strings and answers empty ones as null."""
    props = {k: v for k, v in raw["properties"].items() if not (drop_nulls and v is None)}
    return {**raw, "properties": props}


def _fields(records) -> list:
    """Records without ``remote_data`` (which keeps the raw answer as it came)."""
    return [dataclasses.replace(r, remote_data=None) for r in records]


def _raws(kind: str) -> list[tuple[str, dict]]:
    loaded = load(f"{kind}.json")
    if kind == "engagements":
        return [(name, raw) for name, items in loaded.items() for raw in items]
    return [(kind, raw) for raw in loaded["results"]]


@pytest.mark.parametrize("kind", ["deals", "contacts", "companies", "engagements"])
def test_null_and_absent_properties_map_alike(stages, kind: str) -> None:
    for name, raw in _raws(kind):
        nulls = _without(raw, drop_nulls=False)
        nulls["properties"] = {**nulls["properties"], "closed_lost_reason": None, "hs_mrr": None}
        absent = _without(nulls, drop_nulls=True)

        def read(reading: dict, name: str = name) -> list | str:
            try:
                if kind == "deals":
                    return _fields(mapping.map_deal(reading, stages))
                if kind == "contacts":
                    return _fields([mapping.map_contact(reading, [], {})])
                if kind == "companies":
                    return _fields([mapping.map_company(reading, [])])
                return _fields([mapping.map_engagement(name, reading, [])])
            except MappingError as exc:  # the fixtures' deliberately broken records
                return str(exc)

        one, other = read(nulls), read(absent)
        assert "hs_mrr" not in absent["properties"]
        assert one == other


def test_a_deal_without_currency_takes_the_company_currency(stages) -> None:
    raw = next(r for r in load("deals.json")["results"] if r["properties"].get("amount"))
    single = {**raw, "properties": {**raw["properties"], "deal_currency_code": None}}
    props = {k: v for k, v in single["properties"].items() if k != "deal_currency_code"}
    for reading in (single, {**raw, "properties": props}):
        deal = mapping.map_deal(reading, stages, company_currency="EUR")[0]
        assert isinstance(deal, DealRecord) and deal.currency == "EUR"
    assert mapping.map_deal(single, stages)[0].currency is None  # unknown without it

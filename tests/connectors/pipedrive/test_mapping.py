"""Mapping of recorded Pipedrive payloads: custom fields, nulls, odd values, deletions."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from connectors.pipedrive import mapping
from connectors.pipedrive.custom_fields import FieldCatalog
from core.sync.connector import MappingError
from core.sync.records import DealRecord, DealStageHistoryRecord, stage_history_id
from tests.connectors.pipedrive.conftest import load


def _deals() -> dict[int, dict]:
    return {d["id"]: d for d in load("deals_v2")["data"]}


def test_won_deal_with_custom_fields_labels_and_channel(deal_catalog: FieldCatalog) -> None:
    records = mapping.map_deal(_deals()[101], deal_catalog)
    assert len(records) == 1  # moved deal: its stays come from the flow
    deal = records[0]
    assert isinstance(deal, DealRecord)
    assert deal.status == "WON"
    assert deal.closed_at == datetime(2026, 3, 2, 10, tzinfo=UTC)
    assert deal.amount == Decimal("12500.1")
    assert deal.currency == "EUR"
    assert deal.deal_type == "RENEWAL"
    assert deal.cost == Decimal("4000.5")
    assert deal.recurring_amount == Decimal("1041.68")
    assert deal.source == "Referral"
    assert deal.lead_remote_id == "adf21080-0e10-11eb-879b-05d71fb426ec"
    assert deal.lost_reason is None
    assert deal.expected_close_date == date(2026, 3, 15)
    assert deal.custom is not None
    assert deal.custom["labels"] == ["Hot", "Strategic"]
    assert deal.custom["Competitors"] == ["Acme", "Globex"]
    assert "Region" not in deal.custom  # null values are dropped
    assert deal.remote_data is not None and deal.remote_data["id"] == 101


def test_lost_deal_never_moved_yields_its_stay_then_its_close(deal_catalog: FieldCatalog) -> None:
    deal, stay, close = mapping.map_deal(_deals()[102], deal_catalog)
    assert isinstance(deal, DealRecord) and isinstance(stay, DealStageHistoryRecord)
    assert isinstance(close, DealStageHistoryRecord)
    assert (deal.status, deal.lost_reason, deal.probability) == ("LOST", "Price", 0.35)
    assert deal.closed_at == datetime(2026, 2, 20, 8, tzinfo=UTC)
    assert deal.amount == Decimal("0")
    assert deal.deal_type == "UPSELL"
    assert deal.account_remote_id is None and deal.contact_remote_id is None
    assert deal.source == "API"  # no channel: the origin
    created = datetime(2026, 2, 10, 8, tzinfo=UTC)
    assert stay.remote_id == stage_history_id("102", "1", created)
    # Pipedrive has no lost stage: the close ends the stay and enters pipeline 1's own.
    lost = datetime(2026, 2, 20, 8, tzinfo=UTC)
    assert (stay.stage_remote_id, stay.entered_at, stay.exited_at) == ("1", created, lost)
    assert (close.stage_remote_id, close.entered_at, close.exited_at) == ("1:lost", lost, None)
    assert close.pipeline_remote_id == "1"


def test_open_deal_with_nulls_and_unknown_custom_key(deal_catalog: FieldCatalog) -> None:
    deal = mapping.map_deal(_deals()[103], deal_catalog)[0]
    assert isinstance(deal, DealRecord)
    assert (deal.status, deal.closed_at, deal.amount, deal.currency) == ("OPEN", None, None, None)
    assert deal.source == "ManuallyCreated"  # channel 99 is not a known option
    assert deal.custom == {"ffffffffffffffffffffffffffffffffffffffff": "field deleted since"}


def test_deleted_deal_is_soft_deleted_and_string_value_parsed(deal_catalog: FieldCatalog) -> None:
    deal, stay = mapping.map_deal(_deals()[106], deal_catalog)
    assert deal.deleted and stay.deleted
    assert isinstance(deal, DealRecord) and deal.amount == Decimal("99.90")


@pytest.mark.parametrize(
    ("deal_id", "reason"), [(104, "without won_time"), (105, "unknown status")]
)
def test_unmappable_deals_raise_precise_reasons(
    deal_catalog: FieldCatalog, deal_id: int, reason: str
) -> None:
    with pytest.raises(MappingError, match=reason):
        mapping.map_deal(_deals()[deal_id], deal_catalog)


def test_monetary_custom_values_are_flattened_for_mappings(deal_catalog: FieldCatalog) -> None:
    deal = mapping.map_deal(_deals()[101], deal_catalog)[0]
    assert deal.custom is not None
    assert (deal.custom["Cost"], deal.custom["Cost currency"]) == (4000.5, "EUR")
    assert deal.custom["MRR"] == 1041.68


def test_stage_history_from_flow_changes() -> None:
    deal = _deals()[101]
    changes = [item["data"] for item in load("deal_flow_v1")["data"]]
    stays = mapping.map_stage_history(deal, changes, {"1": "1", "2": "1", "3": "1"})
    t0 = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
    t1 = datetime(2026, 1, 10, 16, 45, 30, tzinfo=UTC)
    t2 = datetime(2026, 2, 1, 12, tzinfo=UTC)
    won = datetime(2026, 3, 2, 10, tzinfo=UTC)  # won_time: the last stay ends there
    assert [(s.stage_remote_id, s.entered_at, s.exited_at) for s in stays] == [
        ("1", t0, t1),
        ("2", t1, t2),
        ("3", t2, won),
        ("1:won", won, None),
    ]
    assert {s.pipeline_remote_id for s in stays} == {"1"}
    # The first stay has the id a never-moved deal's single stay had: no duplicate rows.
    assert stays[0].remote_id == stage_history_id("101", "1", t0)


def test_stage_history_of_an_open_deal_leaves_its_last_stay_open() -> None:
    deal = {**_deals()[101], "status": "open", "won_time": None, "close_time": None}
    changes = [item["data"] for item in load("deal_flow_v1")["data"]]
    stays = mapping.map_stage_history(deal, changes, {})
    assert [s.stage_remote_id for s in stays] == ["1", "2", "3"]
    assert stays[-1].exited_at is None


def test_a_close_logged_before_the_last_move_starts_no_stay_before_it() -> None:
    deal = {**_deals()[101], "won_time": "2026-01-20T00:00:00Z"}  # before the move to 3
    changes = [item["data"] for item in load("deal_flow_v1")["data"]]
    stays = mapping.map_stage_history(deal, changes, {})
    last, close = stays[-2:]
    assert close.entered_at == last.entered_at == last.exited_at
    assert close.stage_remote_id == "1:won"


def test_each_pipeline_gets_a_won_and_a_lost_stage_after_its_last() -> None:
    won, lost = mapping.closed_stages("7", 4)
    assert (won.remote_id, won.kind, won.is_closed, won.is_won) == ("7:won", "WON", True, True)
    assert (lost.remote_id, lost.kind, lost.is_closed, lost.is_won) == (
        "7:lost",
        "LOST",
        True,
        False,
    )
    assert (won.display_order, lost.display_order) == (5, 6)
    assert (won.probability, lost.probability) == (1.0, 0.0)
    assert won.pipeline_remote_id == lost.pipeline_remote_id == "7"


def test_stage_history_rejects_changes_without_time() -> None:
    changes = [{"field_key": "stage_id", "old_value": "1", "new_value": "2", "log_time": None}]
    with pytest.raises(MappingError, match="without new stage or time"):
        mapping.map_stage_history(_deals()[101], changes, {})


def test_organization_address_and_industry_option() -> None:
    catalog = FieldCatalog.from_metadata(load("organization_fields")["data"])
    acme, gone = (mapping.map_organization(o, catalog) for o in load("organizations_v2")["data"])
    assert (acme.country, acme.region, acme.industry) == ("Germany", "Bavaria", "Manufacturing")
    assert acme.owner_remote_id == "7" and not acme.deleted
    assert gone.deleted and gone.country is None and gone.custom is None


def test_person_primary_email_lifecycle_fields_and_name_fallback() -> None:
    catalog = FieldCatalog.from_metadata(load("person_fields")["data"])
    ana_raw, bo_raw = load("persons_v2")["data"]
    ana = mapping.map_person(ana_raw, catalog)
    assert (ana.email, ana.account_remote_id, ana.source) == ("ana@acme.example", "201", "Referral")
    assert (ana.lifecycle_stage, ana.sql_at) == ("MQL", None)
    assert ana.mql_at == datetime(2025, 12, 1, tzinfo=UTC)
    with pytest.raises(MappingError, match="MQL date"):  # not a date: quarantined
        mapping.map_person(bo_raw, catalog)
    bo = mapping.map_person({**bo_raw, "custom_fields": {}}, catalog)
    assert (bo.name, bo.email, bo.account_remote_id, bo.mql_at) == ("Bo", None, None, None)


def test_lead_with_labels_channel_and_conversion(deal_catalog: FieldCatalog) -> None:
    labels = {x["id"]: x["name"] for x in load("lead_labels")["data"]}
    converted_at = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
    conversions = {"adf21080-0e10-11eb-879b-05d71fb426ec": ("101", converted_at, "201")}
    lead, web = (
        mapping.map_lead(raw, deal_catalog, labels, conversions) for raw in load("leads_v1")["data"]
    )
    assert (lead.status, lead.converted_deal_remote_id, lead.converted_at) == (
        "Converted",
        "101",
        converted_at,
    )
    assert (lead.mql_at, lead.sql_at) == (None, None)  # no lifecycle mapping given
    assert lead.source == "Referral"  # channel option label, leads share deal fields
    assert lead.custom is not None and lead.custom["labels"] == ["Hot"]
    assert lead.custom["Deal type"] == "New business"
    assert lead.remote_created_at == datetime(2025, 12, 20, 8, tzinfo=UTC)
    assert (web.status, web.source, web.converted_deal_remote_id) == ("Open", "Web forms", None)


def test_activities_types_due_and_done_times() -> None:
    icons = {t["key_string"]: t["icon_key"] for t in load("activity_types")["data"]}
    raws = load("activities_v2")["data"]
    call, task, demo = (mapping.map_activity(r, icons) for r in raws[:3])
    assert (call.type, call.deal_remote_id, call.contact_remote_id) == ("CALL", "101", "301")
    assert call.due_at == datetime(2026, 1, 7, 10, tzinfo=UTC)
    assert call.done_at == datetime(2026, 1, 7, 10, 5, tzinfo=UTC)
    assert (task.type, task.done_at, task.lead_remote_id) == (
        "TASK",
        None,
        "adf21080-0e10-11eb-879b-05d71fb426ec",
    )
    assert task.due_at == datetime(2026, 1, 10, tzinfo=UTC)
    assert (demo.type, demo.deleted) == ("MEETING", True)  # custom type via its icon
    assert demo.done_at == datetime(2026, 1, 11, 9, tzinfo=UTC)  # done, no time: update time
    with pytest.raises(MappingError, match="due_time"):
        mapping.map_activity(raws[3], icons)


def _meeting(**fields: object) -> dict[str, object]:
    base = {
        "id": 9,
        "type": "meeting",
        "done": False,
        "due_date": "2026-01-12",
        "due_time": "09:00",
    }
    return {**base, **fields}


def _invitee(status: str) -> dict[str, object]:
    return {"email": "a@b.example", "status": status, "is_organizer": False, "person_id": 3}


ORGANIZER = {"email": "rep@x.example", "status": "accepted", "is_organizer": True, "user_id": 7}


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (_meeting(done=True, marked_as_done_time="2026-01-12T10:00:00Z"), "HELD"),
        (_meeting(), "ACCEPTED"),  # booked on the calendar, no invitation to answer
        (_meeting(attendees=[ORGANIZER, _invitee("accepted")]), "ACCEPTED"),
        (_meeting(attendees=[ORGANIZER, _invitee("noreply")]), "PROPOSED"),
        (_meeting(attendees=[ORGANIZER, _invitee("declined")]), "DECLINED"),
        (_meeting(type="no_show"), "NO_SHOW"),
        (_meeting(type="cancelled", done=True), "CANCELLED"),  # the type's outcome wins
    ],
)
def test_meeting_status_from_done_attendees_and_outcome_types(
    raw: dict[str, object], status: str
) -> None:
    icons = {"meeting": "meeting", "no_show": "meeting", "cancelled": "calendar"}
    names = {"no_show": "No-show", "cancelled": "Meeting cancelled"}
    record = mapping.map_activity(raw, icons, names)
    assert (record.type, record.meeting_status) == ("MEETING", status)
    assert (record.done_at is not None) == (status == "HELD")


def test_activities_other_than_meetings_have_no_meeting_status() -> None:
    record = mapping.map_activity(_meeting(type="call"), {}, {})
    assert (record.type, record.meeting_status) == ("CALL", None)


def test_users_teams_pipelines_stages() -> None:
    teams = load("teams_v1")["data"]
    members = mapping.team_members(teams)
    assert members == {"7": "1", "8": "1"}
    assert [mapping.map_team(t).deleted for t in teams] == [False, True]
    one, two = (mapping.map_user(u, members) for u in load("users_v1")["data"])
    assert (one.team_remote_id, one.active, one.email) == ("1", True, "rep1@example.com")
    assert one.remote_created_at == datetime(2024, 1, 1, 9, tzinfo=UTC)
    assert two.active is False
    pipeline = mapping.map_pipeline(load("pipelines_v2")["data"][0])
    assert (pipeline.name, pipeline.display_order) == ("Sales", 0)
    first, proposal = (mapping.map_stage(s) for s in load("stages_v2")["data"])
    assert (proposal.probability, proposal.display_order, proposal.kind) == (0.6, 3, None)
    assert proposal.custom == {"rotten_days": 14} and first.custom is None
    assert (first.is_closed, first.is_won) == (False, False)  # won/lost is the deal status


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-02 03:04:05", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2026-01-02T03:04:05Z", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2026-01-02T05:04:05+02:00", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2026-01-02T03:04:05.123Z", datetime(2026, 1, 2, 3, 4, 5, 123000, tzinfo=UTC)),
        (None, None),
        ("", None),
    ],
)
def test_parse_time_accepts_v1_and_v2_formats(text: str | None, expected: datetime | None) -> None:
    assert mapping.parse_time(text) == expected


def test_parse_time_and_money_reject_garbage() -> None:
    with pytest.raises(MappingError, match="unparseable"):
        mapping.parse_time("yesterday")
    with pytest.raises(MappingError, match="not a number"):
        mapping.parse_money("12,5")


def test_currencies_are_keyed_by_code_with_their_flags() -> None:
    by_code = {}
    for raw in load("currencies_v1")["data"]:
        try:
            record = mapping.map_currency(raw)
        except MappingError as exc:
            assert raw["id"] == 9 and "without a code" in str(exc)
            continue
        by_code[record.remote_id] = record
    custom = by_code["PTS"]  # lower-case code as typed by the company: normalized
    assert (custom.code, custom.decimals, custom.symbol) == ("PTS", 0, None)
    assert custom.is_custom and custom.active
    assert not by_code["ZWL"].active and not by_code["ZWL"].is_custom
    assert by_code["USD"].remote_data == load("currencies_v1")["data"][0]


def test_lead_status_and_labels_are_qualified_through_the_lifecycle_mapping(
    deal_catalog: FieldCatalog,
) -> None:
    labels = {x["id"]: x["name"] for x in load("lead_labels")["data"]}
    converted_at = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
    conversions = {"adf21080-0e10-11eb-879b-05d71fb426ec": ("101", converted_at, "201")}
    kinds = {"converted": "sql", "hot": "mql"}

    def read(kind_of: dict[str, str]) -> list[tuple[datetime | None, datetime | None]]:
        leads = (
            mapping.map_lead(
                raw, deal_catalog, labels, conversions, lambda v: kind_of.get(v.lower())
            )
            for raw in load("leads_v1")["data"]
        )
        return [(x.mql_at, x.sql_at) for x in leads]

    created = datetime(2025, 12, 20, 8, tzinfo=UTC)
    # "Hot" (a label, no history) holds since creation; Converted since the conversion
    assert read(kinds) == [(created, converted_at), (None, None)]
    # an SQL label dates SQL (and MQL) from creation, before the conversion
    assert read({"converted": "sql", "hot": "sql"}) == [(created, created), (None, None)]

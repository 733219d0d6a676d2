"""Opportunities (with OpportunityHistory), activities and currency rates of the simulated org."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from connectors.salesforce.simulator.processes import record_type_of
from connectors.salesforce.simulator.tables import (
    Table,
    api_row,
    common_fields,
    forecast_category,
    make_table,
    opt_id,
    opt_stamp,
    org_fields,
    sfid,
    stamp,
)
from core.simulation.dataset import FX_TO_USD, Dataset, SimActivity

Add = Callable[[Table, list[dict[str, Any]]], None]
#: Custom Opportunity fields of the simulated org (see render_deals).
MRR_FIELD = "MRR__c"
COST_FIELD = "Cost__c"
#: The org's custom Event picklist for a meeting's outcome (Event has no status).
OUTCOME_FIELD = "Meeting_Outcome__c"
_MEETING_OUTCOMES = {
    "COMPLETED": "Completed",
    "SCHEDULED": "Scheduled",
    "RESCHEDULED": "Rescheduled",
    "NO_SHOW": "No Show",
    "CANCELED": "Canceled",
}

_DEAL_TYPES = {
    "NEW_BUSINESS": "New Customer",
    "UPSELL": "Upsell",
    "CROSS_SELL": "Cross-sell",
    "RENEWAL": "Renewal",
}
_DISPOSITIONS = {
    "CONNECTED": "Connected",
    "LEFT_VOICEMAIL": "Left voicemail",
    "NO_ANSWER": "No answer",
    "BUSY": "Busy",
    "WRONG_NUMBER": "Wrong number",
}


def render_deals(
    data: Dataset, version: str, multi_currency: bool, add: Add, *, record_types: bool = False
) -> None:
    stage_by_id = {s.id: s for s in data.stages}
    history_names = (
        "Id",
        "OpportunityId",
        "StageName",
        "Amount",
        "Probability",
        "CloseDate",
        "IsDeleted",
        "CreatedDate",
        "SystemModstamp",
    )
    history_table = make_table("OpportunityHistory", history_names)
    missing = (() if record_types else ("RecordTypeId",)) + (
        () if multi_currency else ("CurrencyIsoCode",)
    )
    deal_names = org_fields("Opportunity", "IsDeleted", without=missing)
    # An admin's custom fields for what Opportunity lacks: the monthly recurring amount and
    # the cost of sale (currency fields, in the opportunity's currency), mapped through the
    # connection's deal_attributes.
    custom = {"Loss_Reason__c": "picklist", MRR_FIELD: "currency", COST_FIELD: "currency"}
    deals = make_table("Opportunity", deal_names, custom)
    deals.children = {"OpportunityHistories": "OpportunityHistory"}
    rows: list[dict[str, Any]] = []
    history_rows: list[dict[str, Any]] = []
    for d in data.deals:
        stage = stage_by_id[d.stage_id]
        opp_id = sfid("Opportunity", d.id)
        moves = [(stage_by_id[s].name, at, stage_by_id[s].probability) for s, at in d.history]
        if d.updated_at > moves[-1][1]:  # an edit after the last move writes a history row
            moves.append((stage.name, d.updated_at, stage.probability))
        children = []
        for name, at, probability in moves:
            number = len(history_rows) + 1
            child = api_row(
                "OpportunityHistory",
                version,
                {
                    "Id": sfid("OpportunityHistory", number),
                    "OpportunityId": opp_id,
                    "StageName": name,
                    "Amount": float(d.amount),
                    "Probability": round(probability * 100),
                    "CloseDate": d.expected_close.isoformat() if d.expected_close else None,
                    "IsDeleted": d.deleted_at is not None,
                    "CreatedDate": stamp(at),
                    "SystemModstamp": stamp(at),
                },
            )
            children.append(child)
            history_rows.append(child)
        forecast = forecast_category(stage.kind, stage.probability)
        row = {
            **common_fields(d, "Opportunity"),
            "Name": d.name,
            "AccountId": opt_id("Account", d.account_id),
            "OwnerId": sfid("User", d.owner_id),
            "ContactId": opt_id("Contact", d.contact_id),
            "Amount": float(d.amount),
            "StageName": stage.name,
            "Probability": round(stage.probability * 100),
            "IsClosed": stage.is_closed,
            "IsWon": stage.kind == "WON",
            "CloseDate": d.expected_close.isoformat() if d.expected_close else None,
            "Type": _DEAL_TYPES.get(d.deal_type, d.deal_type),
            "LeadSource": d.source,
            "ForecastCategory": forecast[0],
            "ForecastCategoryName": forecast[1],
            "Loss_Reason__c": d.lost_reason,
            MRR_FIELD: None if d.recurring_amount is None else float(d.recurring_amount),
            COST_FIELD: None if d.cost is None else float(d.cost),
            "_children": {"OpportunityHistories": children},
        }
        if multi_currency:
            row["CurrencyIsoCode"] = d.currency
        if record_types:
            row["RecordTypeId"] = record_type_of(d.pipeline_id)
        rows.append(row)
    add(deals, rows)
    add(history_table, [{k: v for k, v in r.items() if k != "attributes"} for r in history_rows])


def _links(a: SimActivity) -> dict[str, Any]:
    who = opt_id("Contact", a.contact_id) or opt_id("Lead", a.lead_id)
    what = opt_id("Opportunity", a.deal_id) or opt_id("Account", a.account_id)
    return {
        "WhoId": who,
        "WhatId": what,
        "AccountId": opt_id("Account", a.account_id),
        "OwnerId": sfid("User", a.owner_id),
    }


def render_activities(data: Dataset, version: str, add: Add, *, timezone: str = "UTC") -> None:
    """Tasks, Events and Notes. A task's due date (``ActivityDate``) is the day it is due
    in the org's time zone, the calendar its users pick it in."""
    zone = ZoneInfo(timezone)
    tasks, events, notes = [], [], []
    for a in data.activities:
        common = common_fields(a, "Task")
        if a.type == "MEETING":
            start = a.due_at or a.created_at
            events.append(
                {
                    **common,
                    "Id": sfid("Event", a.id),
                    **_links(a),
                    "Subject": a.subject,
                    "StartDateTime": stamp(start),
                    "EndDateTime": stamp(start + timedelta(minutes=30)),
                    "ActivityDateTime": stamp(start),
                    "DurationInMinutes": 30,
                    "IsAllDayEvent": False,
                    "EventSubtype": "Event",
                    "IsArchived": False,
                    OUTCOME_FIELD: _MEETING_OUTCOMES[a.meeting_outcome],
                }
            )
        elif a.type == "NOTE":
            notes.append(
                {
                    **common,
                    "Id": sfid("Note", a.id),
                    "Title": a.subject,
                    # one parent: the person the note is about, else its deal or account
                    # (a converted lead's notes go with its contact, as conversion moves them)
                    "ParentId": _links(a)["WhoId"] or _links(a)["WhatId"],
                    "OwnerId": sfid("User", a.owner_id),
                }
            )
        else:
            subtype = {"CALL": "Call", "EMAIL": "Email"}.get(a.type, "Task")
            tasks.append(
                {
                    **common,
                    **_links(a),
                    "Subject": a.subject,
                    "Status": "Completed" if a.done_at else "Not Started",
                    "IsClosed": a.done_at is not None,
                    "Priority": "Normal",
                    "ActivityDate": a.due_at.astimezone(zone).date().isoformat()
                    if a.due_at
                    else None,
                    "TaskSubtype": subtype,
                    "Type": subtype if subtype != "Task" else "Other",
                    "CallType": a.direction.title() if a.type == "CALL" and a.direction else None,
                    "CallDisposition": _DISPOSITIONS.get(a.outcome or "")
                    if a.type == "CALL"
                    else None,
                    "CallDurationInSeconds": 300 if a.type == "CALL" else None,
                    "CompletedDateTime": opt_stamp(a.done_at),
                    "IsArchived": False,
                }
            )
    add(
        make_table("Task", org_fields("Task", "IsDeleted", "Priority", "IsArchived")),
        tasks,
    )
    add(
        make_table(
            "Event", org_fields("Event", "IsDeleted", "IsArchived"), {OUTCOME_FIELD: "picklist"}
        ),
        events,
    )
    add(make_table("Note", org_fields("Note", "IsDeleted", "LastModifiedDate")), notes)


def render_currencies(data: Dataset, add: Add) -> None:
    """Rates per one unit of the corporate currency (``data.currency``), as Salesforce keeps."""
    usd: dict[tuple[str, date], Decimal] = {(r.currency, r.day): r.usd for r in data.fx_rates}
    days = sorted({r.day for r in data.fx_rates})

    def per_corporate(currency: str, day: date) -> Decimal:
        def in_usd(code: str) -> Decimal:
            return Decimal(1) if code == "USD" else usd[(code, day)]

        return (in_usd(data.currency) / in_usd(currency)).quantize(Decimal("0.000001"))

    codes = sorted(FX_TO_USD)
    latest = days[-1]
    modstamp = stamp(datetime(latest.year, latest.month, latest.day, tzinfo=UTC))
    add(
        make_table(
            "CurrencyType",
            (
                "Id",
                "IsoCode",
                "ConversionRate",
                "DecimalPlaces",
                "IsActive",
                "IsCorporate",
                "SystemModstamp",
            ),
        ),
        [
            {
                "Id": sfid("CurrencyType", i + 1),
                "IsoCode": code,
                "ConversionRate": float(per_corporate(code, latest)),
                "DecimalPlaces": 2,
                "IsActive": True,
                "IsCorporate": code == data.currency,
                "SystemModstamp": modstamp,
            }
            for i, code in enumerate(codes)
        ],
    )
    dated: list[dict[str, Any]] = []
    for day in days:
        for code in codes:
            if code == data.currency:
                continue
            dated.append(
                {
                    "Id": sfid("DatedConversionRate", len(dated) + 1),
                    "IsoCode": code,
                    "ConversionRate": float(per_corporate(code, day)),
                    "StartDate": day.isoformat(),
                    "NextStartDate": (day + timedelta(days=1)).isoformat(),
                    "SystemModstamp": stamp(datetime(day.year, day.month, day.day, tzinfo=UTC)),
                }
            )
    add(
        make_table(
            "DatedConversionRate",
            ("Id", "IsoCode", "ConversionRate", "StartDate", "NextStartDate", "SystemModstamp"),
        ),
        dated,
    )

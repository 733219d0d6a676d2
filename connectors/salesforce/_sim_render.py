"""The shared seeded business (core.simulation.dataset) as the rows of a Salesforce org.

Each object becomes a :class:`Table`: its describe (field names, types, custom flags) and
its rows as the REST API returns them (``attributes``, ``2013-05-20T20:49:32.000+0000``
datetimes, ids with the object's key prefix). Rendering runs once per dataset change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from core.simulation.dataset import FX_TO_USD, Dataset, SimActivity

PREFIXES = {
    "Organization": "00D",
    "UserRole": "00E",
    "User": "005",
    "OpportunityStage": "01J",
    "Account": "001",
    "Contact": "003",
    "Lead": "00Q",
    "Opportunity": "006",
    "OpportunityHistory": "008",
    "Task": "00T",
    "Event": "00U",
    "Note": "002",
    "CurrencyType": "02B",
    "DatedConversionRate": "04w",
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
_DATES = {"CloseDate", "ActivityDate", "ConvertedDate", "StartDate", "NextStartDate"}
_INTS = {"SortOrder", "CallDurationInSeconds", "DurationInMinutes", "DecimalPlaces"}
_TYPES = {"Amount": "currency", "Probability": "percent", "DefaultProbability": "percent"}


def sfid(sobject: str, number: int) -> str:
    """An 18-character id with the object's key prefix."""
    return f"{PREFIXES[sobject]}Dn{number:013d}"


def stamp(value: datetime) -> str:
    """``2013-05-20T20:49:32.000+0000``: the REST API's datetime text (sorts as it reads)."""
    if value.utcoffset():
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(timespec="milliseconds") + "+0000"


def field_type(name: str) -> str:
    if name == "Id":
        return "id"
    if name in _TYPES:
        return _TYPES[name]
    if name in _DATES:
        return "date"
    if name in _INTS:
        return "int"
    if name in ("SystemModstamp", "CreatedDate", "LastModifiedDate") or name.endswith("DateTime"):
        return "datetime"
    if name.startswith("Is"):
        return "boolean"
    if name.endswith("Id"):
        return "reference"
    if name == "ConversionRate":
        return "double"
    return "string"


@dataclass
class Table:
    """One sObject: its fields (name -> type), custom field names, rows and child tables."""

    name: str
    fields: dict[str, str]
    custom: dict[str, str] = field(default_factory=dict)
    rows: list[dict[str, Any]] = field(default_factory=list)
    #: relationship name -> child object name; rows hold child rows under ``_children``.
    children: dict[str, str] = field(default_factory=dict)

    def all_fields(self) -> dict[str, str]:
        return {**self.fields, **self.custom}

    def describe(self, version: str) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.name,
            "custom": False,
            "keyPrefix": PREFIXES.get(self.name),
            "queryable": True,
            "urls": {"sobject": f"/services/data/v{version}/sobjects/{self.name}"},
            "fields": [
                {
                    "name": name,
                    "label": name,
                    "type": kind,
                    "custom": name in self.custom,
                    "filterable": kind not in ("address", "location"),
                    "nillable": name != "Id",
                }
                for name, kind in self.all_fields().items()
            ],
            "childRelationships": [
                {"relationshipName": rel, "childSObject": child}
                for rel, child in self.children.items()
            ],
        }


def _table(name: str, names: tuple[str, ...], custom: dict[str, str] | None = None) -> Table:
    return Table(name, {n: field_type(n) for n in names}, dict(custom or {}))


def _row(sobject: str, version: str, values: dict[str, Any]) -> dict[str, Any]:
    url = f"/services/data/v{version}/sobjects/{sobject}/{values['Id']}"
    return {"attributes": {"type": sobject, "url": url}, **values}


def _common(obj: Any, sobject: str) -> dict[str, Any]:
    return {
        "Id": sfid(sobject, obj.id),
        "CreatedDate": stamp(obj.created_at),
        "LastModifiedDate": stamp(obj.updated_at),
        "SystemModstamp": stamp(obj.updated_at),
        "IsDeleted": getattr(obj, "deleted_at", None) is not None,
    }


def _forecast(kind: str, probability: float) -> tuple[str, str]:
    if kind == "WON":
        return "Closed", "Closed"
    if kind == "LOST":
        return "Omitted", "Omitted"
    if probability >= 0.8:
        return "Forecast", "Commit"
    return ("BestCase", "Best Case") if probability >= 0.5 else ("Pipeline", "Pipeline")


def render(data: Dataset, *, version: str, multi_currency: bool = True) -> dict[str, Table]:
    """Every object of the org, keyed by sObject name."""
    tables: dict[str, Table] = {}

    def add(table: Table, rows: list[dict[str, Any]]) -> None:
        table.rows = [_row(table.name, version, r) for r in rows]
        tables[table.name] = table

    org_start = min(u.created_at for u in data.users)
    add(
        _table("Organization", ("Id", "Name", "DefaultCurrencyIsoCode", "SystemModstamp")),
        [
            {
                "Id": sfid("Organization", data.seed),
                "Name": f"Simulated Org {data.seed}",
                "DefaultCurrencyIsoCode": data.currency,
                "SystemModstamp": stamp(org_start),
            }
        ],
    )
    add(
        _table("UserRole", ("Id", "Name", "SystemModstamp")),
        [
            {"Id": sfid("UserRole", t.id), "Name": t.name, "SystemModstamp": stamp(org_start)}
            for t in data.teams
        ],
    )
    add(
        _table(
            "User",
            (
                "Id",
                "Name",
                "FirstName",
                "LastName",
                "Email",
                "IsActive",
                "UserRoleId",
                "ManagerId",
                "CreatedDate",
                "LastModifiedDate",
                "SystemModstamp",
            ),
        ),
        [
            {
                **_common(u, "User"),
                "Name": f"{u.first_name} {u.last_name}",
                "FirstName": u.first_name,
                "LastName": u.last_name,
                "Email": u.email,
                "IsActive": True,
                "UserRoleId": sfid("UserRole", u.team_id),
                "ManagerId": None,
            }
            for u in data.users
        ],
    )
    for row in tables["User"].rows:
        row.pop("IsDeleted")
    stages = data.pipelines[0].stages
    add(
        _table(
            "OpportunityStage",
            (
                "Id",
                "ApiName",
                "MasterLabel",
                "IsActive",
                "IsClosed",
                "IsWon",
                "DefaultProbability",
                "ForecastCategory",
                "ForecastCategoryName",
                "SortOrder",
                "CreatedDate",
                "SystemModstamp",
            ),
        ),
        [
            {
                "Id": sfid("OpportunityStage", s.id),
                "ApiName": s.name,
                "MasterLabel": s.name,
                "IsActive": True,
                "IsClosed": s.is_closed,
                "IsWon": s.kind == "WON",
                "DefaultProbability": round(s.probability * 100),
                "ForecastCategory": _forecast(s.kind, s.probability)[0],
                "ForecastCategoryName": _forecast(s.kind, s.probability)[1],
                "SortOrder": s.order + 1,
                "CreatedDate": stamp(org_start),
                "SystemModstamp": stamp(org_start),
            }
            for s in stages
        ],
    )
    add(
        _table(
            "Account",
            (
                "Id",
                "Name",
                "OwnerId",
                "Industry",
                "Type",
                "BillingCountry",
                "BillingState",
                "AccountSource",
                "IsDeleted",
                "CreatedDate",
                "LastModifiedDate",
                "SystemModstamp",
            ),
            {"Tier__c": "picklist", "HQ_Location__c": "location"},
        ),
        [
            {
                **_common(a, "Account"),
                "Name": a.name,
                "OwnerId": sfid("User", a.owner_id),
                "Industry": a.industry,
                "Type": "Customer - Direct",
                "BillingCountry": a.country,
                "BillingState": a.region,
                "AccountSource": a.source,
                "Tier__c": ("Gold", "Silver", "Bronze")[a.id % 3],
                "HQ_Location__c": None,
            }
            for a in data.accounts
        ],
    )
    add(
        _table(
            "Contact",
            (
                "Id",
                "Name",
                "FirstName",
                "LastName",
                "Email",
                "AccountId",
                "OwnerId",
                "LeadSource",
                "IsDeleted",
                "CreatedDate",
                "LastModifiedDate",
                "SystemModstamp",
            ),
            {
                "Lifecycle_Stage__c": "picklist",
                "MQL_Date__c": "datetime",
                "SQL_Date__c": "datetime",
            },
        ),
        [
            {
                **_common(c, "Contact"),
                "Name": f"{c.first_name} {c.last_name}",
                "FirstName": c.first_name,
                "LastName": c.last_name,
                "Email": c.email,
                "AccountId": sfid("Account", c.account_id) if c.account_id else None,
                "OwnerId": sfid("User", c.owner_id),
                "LeadSource": c.source,
                "Lifecycle_Stage__c": c.lifecycle_stage,
                "MQL_Date__c": _opt_stamp(c.lifecycle.get("marketingqualifiedlead")),
                "SQL_Date__c": _opt_stamp(c.lifecycle.get("salesqualifiedlead")),
            }
            for c in data.contacts
        ],
    )
    lead_status = {
        "Open": "Open - Not Contacted",
        "Unqualified": "Closed - Not Converted",
        "Converted": "Closed - Converted",
    }
    add(
        _table(
            "Lead",
            (
                "Id",
                "Name",
                "FirstName",
                "LastName",
                "Company",
                "Email",
                "OwnerId",
                "Status",
                "LeadSource",
                "IsConverted",
                "ConvertedDate",
                "ConvertedAccountId",
                "ConvertedContactId",
                "ConvertedOpportunityId",
                "IsDeleted",
                "CreatedDate",
                "LastModifiedDate",
                "SystemModstamp",
            ),
        ),
        [
            {
                **_common(lead, "Lead"),
                "Name": f"{lead.first_name} {lead.last_name}",
                "FirstName": lead.first_name,
                "LastName": lead.last_name,
                "Company": lead.company,
                "Email": lead.email,
                "OwnerId": sfid("User", lead.owner_id),
                "Status": lead_status.get(lead.status, lead.status),
                "LeadSource": lead.source,
                "IsConverted": lead.converted_at is not None,
                "ConvertedDate": lead.converted_at.date().isoformat()
                if lead.converted_at
                else None,
                "ConvertedAccountId": _opt_id("Account", lead.converted_account_id),
                "ConvertedContactId": _opt_id("Contact", lead.converted_contact_id),
                "ConvertedOpportunityId": _opt_id("Opportunity", lead.converted_deal_id),
            }
            for lead in data.leads
        ],
    )
    _render_deals(data, version, multi_currency, add)
    _render_activities(data, version, add)
    if multi_currency:
        _render_currencies(data, add)
    return tables


def _opt_id(sobject: str, number: int | None) -> str | None:
    return None if number is None else sfid(sobject, number)


def _opt_stamp(value: datetime | None) -> str | None:
    return None if value is None else stamp(value)


def _render_deals(data: Dataset, version: str, multi_currency: bool, add: Any) -> None:
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
    history_table = _table("OpportunityHistory", history_names)
    deal_names = (
        "Id",
        "Name",
        "AccountId",
        "OwnerId",
        "ContactId",
        "Amount",
        *(("CurrencyIsoCode",) if multi_currency else ()),
        "StageName",
        "Probability",
        "IsClosed",
        "IsWon",
        "CloseDate",
        "Type",
        "LeadSource",
        "ForecastCategory",
        "ForecastCategoryName",
        "IsDeleted",
        "CreatedDate",
        "LastModifiedDate",
        "SystemModstamp",
    )
    deals = _table("Opportunity", deal_names, {"Loss_Reason__c": "picklist"})
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
            child = _row(
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
        forecast = _forecast(stage.kind, stage.probability)
        row = {
            **_common(d, "Opportunity"),
            "Name": d.name,
            "AccountId": _opt_id("Account", d.account_id),
            "OwnerId": sfid("User", d.owner_id),
            "ContactId": _opt_id("Contact", d.contact_id),
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
            "_children": {"OpportunityHistories": children},
        }
        if multi_currency:
            row["CurrencyIsoCode"] = d.currency
        rows.append(row)
    add(deals, rows)
    add(history_table, [{k: v for k, v in r.items() if k != "attributes"} for r in history_rows])


def _links(a: SimActivity) -> dict[str, Any]:
    who = _opt_id("Contact", a.contact_id) or _opt_id("Lead", a.lead_id)
    what = _opt_id("Opportunity", a.deal_id) or _opt_id("Account", a.account_id)
    return {
        "WhoId": who,
        "WhatId": what,
        "AccountId": _opt_id("Account", a.account_id),
        "OwnerId": sfid("User", a.owner_id),
    }


def _render_activities(data: Dataset, version: str, add: Any) -> None:
    tasks, events, notes = [], [], []
    for a in data.activities:
        common = _common(a, "Task")
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
                }
            )
        elif a.type == "NOTE":
            notes.append(
                {
                    **common,
                    "Id": sfid("Note", a.id),
                    "Title": a.subject,
                    "ParentId": _links(a)["WhatId"] or _links(a)["WhoId"],
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
                    "ActivityDate": a.due_at.date().isoformat() if a.due_at else None,
                    "TaskSubtype": subtype,
                    "Type": subtype if subtype != "Task" else "Other",
                    "CallType": a.direction.title() if a.type == "CALL" and a.direction else None,
                    "CallDisposition": _DISPOSITIONS.get(a.outcome or "")
                    if a.type == "CALL"
                    else None,
                    "CallDurationInSeconds": 300 if a.type == "CALL" else None,
                    "CompletedDateTime": _opt_stamp(a.done_at),
                    "IsArchived": False,
                }
            )
    base = ("Id", "IsDeleted", "CreatedDate", "LastModifiedDate", "SystemModstamp", "OwnerId")
    link = ("WhoId", "WhatId", "AccountId")
    add(
        _table(
            "Task",
            (
                *base,
                *link,
                "Subject",
                "Status",
                "IsClosed",
                "Priority",
                "ActivityDate",
                "TaskSubtype",
                "Type",
                "CallType",
                "CallDisposition",
                "CallDurationInSeconds",
                "CompletedDateTime",
                "IsArchived",
            ),
        ),
        tasks,
    )
    add(
        _table(
            "Event",
            (
                *base,
                *link,
                "Subject",
                "StartDateTime",
                "EndDateTime",
                "ActivityDateTime",
                "DurationInMinutes",
                "IsAllDayEvent",
                "EventSubtype",
                "IsArchived",
            ),
        ),
        events,
    )
    add(_table("Note", (*base, "Title", "ParentId")), notes)


def _render_currencies(data: Dataset, add: Any) -> None:
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
        _table(
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
        _table(
            "DatedConversionRate",
            ("Id", "IsoCode", "ConversionRate", "StartDate", "NextStartDate", "SystemModstamp"),
        ),
        dated,
    )

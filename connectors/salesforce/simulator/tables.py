"""Building blocks of the simulated org: ids, datetime text, field types, sObject tables."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from connectors.salesforce import settings

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
    "LeadHistory": "017",
    "Task": "00T",
    "Event": "00U",
    "Note": "002",
    "CurrencyType": "02B",
    "DatedConversionRate": "04w",
    "RecordType": "012",
    "BusinessProcess": "019",
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


def org_fields(sobject: str, *extra: str, without: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The fields the connector asks for (``settings.FIELDS``, the one list of them) minus
    ``without``, plus the org's ``extra`` ones the connector never selects."""
    return (*(f for f in settings.FIELDS[sobject] if f not in without), *extra)


def make_table(name: str, names: tuple[str, ...], custom: dict[str, str] | None = None) -> Table:
    return Table(name, {n: field_type(n) for n in names}, dict(custom or {}))


def api_row(sobject: str, version: str, values: dict[str, Any]) -> dict[str, Any]:
    url = f"/services/data/v{version}/sobjects/{sobject}/{values['Id']}"
    return {"attributes": {"type": sobject, "url": url}, **values}


def common_fields(obj: Any, sobject: str) -> dict[str, Any]:
    return {
        "Id": sfid(sobject, obj.id),
        "CreatedDate": stamp(obj.created_at),
        "LastModifiedDate": stamp(obj.updated_at),
        "SystemModstamp": stamp(obj.updated_at),
        "IsDeleted": getattr(obj, "deleted_at", None) is not None,
    }


def forecast_category(kind: str, probability: float) -> tuple[str, str]:
    if kind == "WON":
        return "Closed", "Closed"
    if kind == "LOST":
        return "Omitted", "Omitted"
    if probability >= 0.8:
        return "Forecast", "Commit"
    return ("BestCase", "Best Case") if probability >= 0.5 else ("Pipeline", "Pipeline")


def opt_id(sobject: str, number: int | None) -> str | None:
    return None if number is None else sfid(sobject, number)


def opt_stamp(value: datetime | None) -> str | None:
    return None if value is None else stamp(value)

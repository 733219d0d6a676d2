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
_TYPES = {
    "Amount": "currency",
    "Probability": "percent",
    "DefaultProbability": "percent",
    "Email": "email",
    "OldValue": "anyType",
    "NewValue": "anyType",
    "ConversionRate": "double",
}
#: Fields that are picklists in a real org (their values: see ``Table.picklists``).
PICKLISTS = {
    "StageName",
    "Status",
    "LeadSource",
    "Industry",
    "Type",
    "ForecastCategory",
    "ForecastCategoryName",
    "AccountSource",
    "TaskSubtype",
    "EventSubtype",
    "CallType",
    "CurrencyIsoCode",
    "IsoCode",
    "DefaultCurrencyIsoCode",
    "Field",
    "SobjectType",
    "TableEnumOrId",
}
#: What each lookup field points at (``referenceTo`` in a describe).
REFERENCES = {
    "OwnerId": ("User",),
    "CreatedById": ("User",),
    "ManagerId": ("User",),
    "UserRoleId": ("UserRole",),
    "AccountId": ("Account",),
    "ContactId": ("Contact",),
    "LeadId": ("Lead",),
    "OpportunityId": ("Opportunity",),
    "ConvertedAccountId": ("Account",),
    "ConvertedContactId": ("Contact",),
    "ConvertedOpportunityId": ("Opportunity",),
    "WhoId": ("Contact", "Lead"),
    "WhatId": ("Account", "Opportunity"),
    "ParentId": ("Account", "Contact", "Lead", "Opportunity"),
    "RecordTypeId": ("RecordType",),
    "BusinessProcessId": ("BusinessProcess",),
}
_SOAP = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "datetime": "xsd:dateTime",
    "date": "xsd:date",
    "currency": "xsd:double",
    "double": "xsd:double",
    "percent": "xsd:double",
    "int": "xsd:int",
    "anyType": "xsd:anyType",
    "location": "urn:location",
}


def sfid(sobject: str, number: int) -> str:
    """An 18-character id with the object's key prefix."""
    return f"{PREFIXES[sobject]}Dn{number:013d}"


def stamp(value: datetime) -> str:
    """``2013-05-20T20:49:32.000+0000``: the REST API's datetime text (sorts as it reads)."""
    if value.utcoffset():
        value = value.astimezone(UTC)
    # Salesforce keeps datetimes to the second: milliseconds are always .000 (same-second
    # ties are ordinary, and a sync must break them by Id).
    return value.replace(tzinfo=None, microsecond=0).isoformat(timespec="milliseconds") + "+0000"


def field_type(name: str) -> str:
    """The describe type of a standard field, as a real org reports it."""
    if name == "Id":
        return "id"
    if name in _TYPES:
        return _TYPES[name]
    if name in PICKLISTS:
        return "picklist"
    if name in REFERENCES:
        return "reference"
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
    #: Picklist field -> its values (filled from the rows by ``fill_picklists``).
    picklists: dict[str, list[str]] = field(default_factory=dict)
    #: Fields hidden from the API user by field-level security: absent from the describe,
    #: ``INVALID_FIELD`` in a query, as in a real org.
    hidden: set[str] = field(default_factory=set)
    #: False when the user's profile cannot see the object (``INVALID_TYPE`` in SOQL).
    queryable: bool = True

    def all_fields(self) -> dict[str, str]:
        return {k: v for k, v in {**self.fields, **self.custom}.items() if k not in self.hidden}

    def fill_picklists(self, extra: dict[str, list[str]] | None = None) -> None:
        """Each picklist's values: ``extra`` ones first, then those the rows use."""
        for name, kind in self.all_fields().items():
            if kind != "picklist":
                continue
            values = list((extra or {}).get(name, ()))
            for row in self.rows:
                value = row.get(name)
                if isinstance(value, str) and value not in values:
                    values.append(value)
            self.picklists[name] = values

    def describe_field(self, name: str, kind: str) -> dict[str, Any]:
        references = list(REFERENCES.get(name, ())) if kind == "reference" else []
        return {
            "name": name,
            "label": name,
            "type": kind,
            "soapType": _SOAP.get(kind, "xsd:string"),
            "custom": name in self.custom,
            "filterable": kind not in ("address", "location", "anyType"),
            "nillable": name != "Id",
            "createable": name not in ("Id", "SystemModstamp", "CreatedDate"),
            "updateable": name not in ("Id", "SystemModstamp", "CreatedDate"),
            "length": 255 if kind in ("string", "picklist", "email") else 0,
            "picklistValues": [
                {
                    "active": True,
                    "defaultValue": False,
                    "label": value,
                    "validFor": None,
                    "value": value,
                }
                for value in self.picklists.get(name, ())
            ],
            "referenceTo": references,
            "relationshipName": name[:-2] if references and name.endswith("Id") else None,
        }

    def describe(self, version: str) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.name,
            "custom": False,
            "keyPrefix": PREFIXES.get(self.name),
            "queryable": self.queryable,
            "retrieveable": self.queryable,
            "replicateable": self.queryable,
            "urls": {
                "sobject": f"/services/data/v{version}/sobjects/{self.name}",
                "describe": f"/services/data/v{version}/sobjects/{self.name}/describe",
            },
            "fields": [self.describe_field(n, k) for n, k in self.all_fields().items()],
            "childRelationships": [
                {
                    "relationshipName": rel,
                    "childSObject": child,
                    "field": f"{self.name}Id",
                    "cascadeDelete": True,
                }
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

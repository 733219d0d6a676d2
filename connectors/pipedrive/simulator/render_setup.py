"""The simulated company's setup in Pipedrive's shapes: custom field keys and the
``*Fields`` metadata naming them, activity types, lead labels, currencies, users, teams,
pipelines and stages; and the timestamp formats every rendered record uses.

Pipedrive facts followed here: custom fields sit under 40-hex keys named by the ``*Fields``
endpoints; won / lost deals keep their last open stage (there are no won/lost stages), so
the dataset's closing stages are not rendered; ``/v1/currencies`` lists inactive and
company-defined currencies too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from core.simulation.dataset import (
    DEAL_TYPES,
    INDUSTRIES,
    SOURCES,
    Dataset,
)


def _key(name: str) -> str:
    """A stable 40-hex custom field key, as Pipedrive generates them."""
    return hashlib.sha1(name.encode(), usedforsecurity=False).hexdigest()


DEAL_TYPE_KEY = _key("deal type")
COST_KEY = _key("cost")
MRR_KEY = _key("mrr")
INDUSTRY_KEY = _key("industry")
PERSON_SOURCE_KEY = _key("person source")
LIFECYCLE_KEY = _key("lifecycle stage")
MQL_DATE_KEY = _key("mql date")
SQL_DATE_KEY = _key("sql date")
#: The dataset's lifecycle stages as a Pipedrive company would label them (a custom
#: "Lifecycle stage" option field, with custom date fields for the qualification days).
LIFECYCLE_LABELS = {"lead": "Lead", "marketingqualifiedlead": "MQL", "salesqualifiedlead": "SQL"}
UNQUALIFIED_LABEL = "5b3c2d1e-0000-4000-8000-00000000000a"
DEAL_TYPE_NAMES = {
    "NEW_BUSINESS": "New business",
    "UPSELL": "Upsell",
    "CROSS_SELL": "Cross-sell",
    "RENEWAL": "Renewal",
    "UPGRADE": "Upgrade",
}
ACTIVITY_KEYS = {"CALL": "call", "EMAIL": "email", "MEETING": "meeting", "TASK": "task"}
#: Pipedrive has no meeting outcome: the simulated company records a meeting that did not
#: take place by changing its type to one of its own (key, name; icon "meeting").
MEETING_OUTCOME_TYPES = {"NO_SHOW": ("no_show", "No-show"), "CANCELED": ("cancelled", "Cancelled")}


def v2_time(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def v1_time(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.replace(microsecond=0, tzinfo=None).isoformat(" ")


def lead_time(value: datetime | None) -> str | None:
    """Leads use RFC 3339 with milliseconds (``2020-01-01T10:00:00.000Z``)."""
    if value is None:
        return None
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def lead_uuid(seed: int, lead_id: int) -> str:
    return f"{lead_id:08x}-{seed % 0xFFFF:04x}-4000-8000-{lead_id:012x}"


def channel_id(source: str) -> int:
    return SOURCES.index(source) + 1 if source in SOURCES else 0


def _options(labels: Iterable[str]) -> list[dict[str, Any]]:
    return [{"id": i + 1, "label": label} for i, label in enumerate(labels)]


def _field(fid: int, key: str, name: str, ftype: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": fid,
        "key": key,
        "name": name,
        "field_type": ftype,
        "edit_flag": len(key) == 40,
        "active_flag": True,
        "mandatory_flag": False,
        "add_time": "2020-01-01 00:00:00",
        **extra,
    }


#: Deal type options in order (the dataset's types, then UPGRADE).
DEAL_TYPE_ORDER = (*dict.fromkeys(DEAL_TYPES), "UPGRADE")


def deal_fields() -> list[dict[str, Any]]:
    deal_types = DEAL_TYPE_ORDER
    return [
        _field(1, "title", "Title", "varchar"),
        _field(2, "value", "Value", "monetary"),
        _field(3, "label", "Label", "set", options=_options(("Hot", "Warm", "Cold"))),
        _field(4, "channel", "Source channel", "enum", options=_options(SOURCES)),
        _field(
            40,
            DEAL_TYPE_KEY,
            "Deal type",
            "enum",
            options=_options(DEAL_TYPE_NAMES[t] for t in deal_types),
        ),
        _field(41, COST_KEY, "Cost", "monetary"),
        _field(42, MRR_KEY, "MRR", "monetary"),
    ]


def organization_fields() -> list[dict[str, Any]]:
    return [
        _field(1, "name", "Name", "varchar"),
        _field(50, INDUSTRY_KEY, "Industry", "enum", options=_options(INDUSTRIES)),
    ]


def person_fields() -> list[dict[str, Any]]:
    return [
        _field(1, "name", "Name", "varchar"),
        _field(60, PERSON_SOURCE_KEY, "Source", "varchar"),
        _field(
            61,
            LIFECYCLE_KEY,
            "Lifecycle stage",
            "enum",
            options=_options(LIFECYCLE_LABELS.values()),
        ),
        _field(62, MQL_DATE_KEY, "MQL date", "date"),
        _field(63, SQL_DATE_KEY, "SQL date", "date"),
    ]


def activity_types() -> list[dict[str, Any]]:
    names = {
        "call": "Call",
        "meeting": "Meeting",
        "task": "Task",
        "deadline": "Deadline",
        "email": "Email",
        "lunch": "Lunch",
    }
    custom = {key: name for key, name in MEETING_OUTCOME_TYPES.values()}
    return [
        {
            "id": i + 1,
            "order_nr": i + 1,
            "name": name,
            "key_string": key,
            "icon_key": "meeting" if key in custom else key,
            "active_flag": True,
            "color": None,
            "is_custom_flag": key in custom,
            "add_time": "2020-01-01 00:00:00",
            "update_time": None,
        }
        for i, (key, name) in enumerate({**names, **custom}.items())
    ]


def lead_labels() -> list[dict[str, Any]]:
    return [
        {
            "id": UNQUALIFIED_LABEL,
            "name": "Unqualified",
            "color": "gray",
            "add_time": "2020-01-01T00:00:00.000Z",
            "update_time": "2020-01-01T00:00:00.000Z",
        },
    ]


def users(ds: Dataset) -> list[dict[str, Any]]:
    return [
        {
            "id": u.id,
            "name": f"{u.first_name} {u.last_name}",
            "email": u.email,
            "default_currency": ds.currency,
            "locale": "en_US",
            "lang": 1,
            "phone": None,
            "activated": True,
            "last_login": v1_time(ds.anchor),
            "created": v1_time(u.created_at),
            "modified": v1_time(u.updated_at),
            "has_created_company": u.id == 1,
            "access": [],
            "active_flag": True,
            "timezone_name": "UTC",
            "timezone_offset": "+00:00",
            "role_id": 1,
            "icon_url": None,
            "is_you": u.id == 1,
            "is_deleted": False,
        }
        for u in ds.users
    ]


def teams(ds: Dataset) -> list[dict[str, Any]]:
    start = v1_time(min(u.created_at for u in ds.users))
    return [
        {
            "id": t.id,
            "name": t.name,
            "description": "",
            "manager_id": 1,
            "users": [u.id for u in ds.users if u.team_id == t.id],
            "active_flag": 1,
            "deleted_flag": 0,
            "add_time": start,
            "created_by_user_id": 1,
        }
        for t in ds.teams
    ]


def pipelines(ds: Dataset) -> list[dict[str, Any]]:
    start = v2_time(min(u.created_at for u in ds.users))
    return [
        {
            "id": p.id,
            "name": p.name,
            "order_nr": p.order,
            "is_deleted": False,
            "is_deal_probability_enabled": True,
            "add_time": start,
            "update_time": start,
        }
        for p in ds.pipelines
    ]


def stages(ds: Dataset) -> list[dict[str, Any]]:
    start = v2_time(min(u.created_at for u in ds.users))
    return [
        {
            "id": s.id,
            "order_nr": s.order + 1,
            "name": s.name,
            "is_deleted": False,
            "deal_probability": round(s.probability * 100),
            "pipeline_id": s.pipeline_id,
            "is_deal_rot_enabled": True,
            "days_to_rotten": 30,
            "add_time": start,
            "update_time": start,
        }
        for s in ds.stages
        if not s.is_closed
    ]


#: Names and symbols of the currencies the simulator lists (Pipedrive lists every ISO
#: currency; a few suffice). Codes the dataset uses but this table lacks get their code.
_CURRENCY_NAMES = {
    "USD": ("US Dollar", "$"),
    "EUR": ("Euro", "\u20ac"),
    "GBP": ("British Pound", "\u00a3"),
    "JPY": ("Japanese Yen", "\u00a5"),
    "SEK": ("Swedish Krona", "kr"),
}
#: A company-defined currency, as Pipedrive lists one (``is_custom_flag``).
CUSTOM_CURRENCY = "PTS"


def currencies(ds: Dataset) -> list[dict[str, Any]]:
    """``/v1/currencies``: the dataset's currencies active, a known one inactive, and one
    custom currency (which no public FX rate covers)."""
    used = {d.currency for d in ds.deals} | {ds.currency}
    codes = sorted(used | set(_CURRENCY_NAMES))
    rows = [
        {
            "id": index + 1,
            "code": code,
            "name": _CURRENCY_NAMES.get(code, (code, code))[0],
            "decimal_points": 0 if code == "JPY" else 2,
            "symbol": _CURRENCY_NAMES.get(code, (code, code))[1],
            "active_flag": code in used,
            "is_custom_flag": False,
        }
        for index, code in enumerate(codes)
    ]
    rows.append(
        {
            "id": len(rows) + 1,
            "code": CUSTOM_CURRENCY,
            "name": "Loyalty points",
            "decimal_points": 0,
            "symbol": "pts",
            "active_flag": True,
            "is_custom_flag": True,
        }
    )
    return rows

"""The shared simulated business (core.simulation.dataset) in Pipedrive's response shapes.

Pipedrive facts this rendering follows: won / lost deals keep their last open stage (there
are no won/lost stages), so the dataset's closing stages are not rendered and a deal's
flow only shows moves between open stages; custom fields sit under 40-hex keys named by
the ``*Fields`` endpoints; notes are separate objects from activities; a lead converted to
a deal is referenced by the deal's ``source_lead_id``; the marketing source is the deal's
or lead's ``channel`` option.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from core.simulation.dataset import (
    DEAL_TYPES,
    INDUSTRIES,
    SOURCES,
    Dataset,
    SimAccount,
    SimActivity,
    SimContact,
    SimDeal,
    SimLead,
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


def _money(value: Decimal | None, currency: str) -> dict[str, Any] | None:
    return None if value is None else {"value": float(value), "currency": currency}


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


def _deal_type_option(deal_type: str) -> int:
    return DEAL_TYPE_ORDER.index(deal_type) + 1


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
    return [
        {
            "id": i + 1,
            "order_nr": i + 1,
            "name": name,
            "key_string": key,
            "icon_key": key,
            "active_flag": True,
            "color": None,
            "is_custom_flag": False,
            "add_time": "2020-01-01 00:00:00",
            "update_time": None,
        }
        for i, (key, name) in enumerate(names.items())
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
            "owner_id": 1,
            "manager_id": 1,
            "users": [u.id for u in ds.users if u.team_id == t.id],
            "active_flag": True,
            "deleted_flag": False,
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


def organization(a: SimAccount) -> dict[str, Any]:
    return {
        "id": a.id,
        "name": a.name,
        "owner_id": a.owner_id,
        "add_time": v2_time(a.created_at),
        "update_time": v2_time(a.updated_at),
        "is_deleted": a.deleted_at is not None,
        "visible_to": 3,
        "label_ids": [],
        "address": {
            "value": f"{a.region}, {a.country}",
            "country": a.country,
            "admin_area_level_1": a.region,
            "admin_area_level_2": None,
            "locality": None,
            "sublocality": None,
            "route": None,
            "street_number": None,
            "postal_code": None,
            "formatted_address": f"{a.region}, {a.country}",
        },
        "custom_fields": {INDUSTRY_KEY: INDUSTRIES.index(a.industry) + 1},
    }


def person(c: SimContact) -> dict[str, Any]:
    return {
        "id": c.id,
        "name": f"{c.first_name} {c.last_name}",
        "first_name": c.first_name,
        "last_name": c.last_name,
        "owner_id": c.owner_id,
        "org_id": c.account_id,
        "add_time": v2_time(c.created_at),
        "update_time": v2_time(c.updated_at),
        "is_deleted": c.deleted_at is not None,
        "visible_to": 3,
        "label_ids": [],
        "emails": [{"value": c.email, "primary": True, "label": "work"}],
        "phones": [],
        "custom_fields": {
            PERSON_SOURCE_KEY: c.source,
            LIFECYCLE_KEY: list(LIFECYCLE_LABELS).index(c.lifecycle_stage) + 1,
            MQL_DATE_KEY: _day(c.lifecycle.get("marketingqualifiedlead")),
            SQL_DATE_KEY: _day(c.lifecycle.get("salesqualifiedlead")),
        },
    }


def _day(value: datetime | None) -> str | None:
    return None if value is None else value.date().isoformat()


def lead(ds: Dataset, x: SimLead) -> dict[str, Any]:
    return {
        "id": lead_uuid(ds.seed, x.id),
        "title": x.title,
        "owner_id": x.owner_id,
        "creator_id": x.owner_id,
        "label_ids": [UNQUALIFIED_LABEL] if x.status == "Unqualified" else [],
        "person_id": None,
        "organization_id": None,
        "source_name": "Manually created",
        "origin": "ManuallyCreated",
        "origin_id": None,
        "channel": channel_id(x.source),
        "channel_id": None,
        "is_archived": False,
        "was_seen": True,
        "value": None,
        "expected_close_date": None,
        "next_activity_id": None,
        "add_time": lead_time(x.created_at),
        "update_time": lead_time(x.updated_at),
        "visible_to": "3",
        "cc_email": f"lead{x.id}@sim.pipedrivemail.com",
    }


def open_stays(ds: Dataset, d: SimDeal) -> list[tuple[int, datetime]]:
    """The deal's stays in open stages (Pipedrive has no won/lost stage)."""
    closed = {s.id for s in ds.stages if s.is_closed}
    return [(stage, at) for stage, at in d.history if stage not in closed]


def deal(ds: Dataset, d: SimDeal, stays: list[tuple[int, datetime]]) -> dict[str, Any]:
    status = d.status.lower()
    closed = v2_time(d.closed_at) if d.status != "OPEN" else None
    return {
        "id": d.id,
        "title": d.name,
        "owner_id": d.owner_id,
        "person_id": d.contact_id,
        "org_id": d.account_id,
        "pipeline_id": d.pipeline_id,
        "stage_id": stays[-1][0],
        "value": float(d.amount),
        "currency": d.currency,
        "add_time": v2_time(d.created_at),
        "update_time": v2_time(d.updated_at),
        "stage_change_time": v2_time(stays[-1][1]) if len(stays) > 1 else None,
        "is_deleted": d.deleted_at is not None,
        "is_archived": False,
        "status": status,
        "probability": None,
        "lost_reason": d.lost_reason,
        "visible_to": 3,
        "close_time": closed,
        "won_time": closed if status == "won" else None,
        "lost_time": closed if status == "lost" else None,
        "expected_close_date": d.expected_close.isoformat() if d.expected_close else None,
        "label_ids": [],
        "origin": "ManuallyCreated",
        "origin_id": None,
        "channel": channel_id(d.source),
        "channel_id": None,
        "source_lead_id": lead_uuid(ds.seed, d.lead_id) if d.lead_id else None,
        "arr": None,
        "mrr": None,
        "acv": None,
        "custom_fields": {
            DEAL_TYPE_KEY: _deal_type_option(d.deal_type),
            COST_KEY: _money(d.cost, d.currency),
            MRR_KEY: _money(d.recurring_amount, d.currency),
        },
    }


def deal_flow(d: SimDeal, stays: list[tuple[int, datetime]]) -> list[dict[str, Any]]:
    """``dealChange`` items of the stage moves, newest first as the flow lists them."""
    items: list[dict[str, Any]] = []
    for index in range(1, len(stays)):
        (old, _), (new, at) = stays[index - 1], stays[index]
        items.append(
            {
                "object": "dealChange",
                "timestamp": v1_time(at),
                "data": {
                    "id": d.id * 100 + index,
                    "item_id": d.id,
                    "user_id": d.owner_id,
                    "field_key": "stage_id",
                    "old_value": str(old),
                    "new_value": str(new),
                    "is_bulk_update_flag": None,
                    "log_time": v1_time(at),
                    "change_source": "app",
                    "change_source_user_agent": None,
                    "additional_data": {},
                },
            }
        )
    items.reverse()
    return items


def activity(ds: Dataset, a: SimActivity) -> dict[str, Any]:
    due = a.due_at
    return {
        "id": a.id,
        "subject": a.subject,
        "type": ACTIVITY_KEYS[a.type],
        "owner_id": a.owner_id,
        "creator_user_id": a.owner_id,
        "is_deleted": a.deleted_at is not None,
        "add_time": v2_time(a.created_at),
        "update_time": v2_time(a.updated_at),
        "deal_id": a.deal_id,
        "lead_id": lead_uuid(ds.seed, a.lead_id) if a.lead_id else None,
        "person_id": a.contact_id,
        "org_id": a.account_id,
        "project_id": None,
        "due_date": due.date().isoformat() if due else None,
        "due_time": due.strftime("%H:%M") if due else None,
        "duration": "00:30",
        "busy": False,
        "done": a.done_at is not None,
        "marked_as_done_time": v2_time(a.done_at),
        "location": None,
        "participants": [],
        "attendees": [],
        "public_description": None,
        "priority": None,
        "note": None,
    }


def note(ds: Dataset, a: SimActivity) -> dict[str, Any]:
    """A dataset NOTE as a Pipedrive note (v1 shape)."""
    return {
        "id": a.id,
        "user_id": a.owner_id,
        "content": a.subject,
        "deal_id": a.deal_id,
        "person_id": a.contact_id,
        "org_id": a.account_id,
        "lead_id": lead_uuid(ds.seed, a.lead_id) if a.lead_id else None,
        "add_time": v1_time(a.created_at),
        "update_time": v1_time(a.updated_at),
        "active_flag": a.deleted_at is None,
        "pinned_to_deal_flag": False,
        "last_update_user_id": a.owner_id,
    }


def delete_log(kind: str, item_id: int, at: datetime) -> dict[str, Any]:
    """One ``delete_log`` item of ``/v1/recents``."""
    return {
        "item": "delete_log",
        "id": item_id,
        "data": {
            "id": item_id,
            "item_type": kind,
            "item_id": item_id,
            "user_id": 1,
            "timestamp": v1_time(at),
        },
    }


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

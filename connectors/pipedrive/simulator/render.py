"""The shared simulated business (core.simulation.dataset) in Pipedrive's response shapes:
organizations, persons, leads, deals and their flows, activities, notes, the delete log.

Pipedrive facts this rendering follows: a deal's flow only shows moves between open
stages; a meeting has no outcome (one not held has the company's own activity type);
notes are separate objects from activities; a lead converted to a deal is
referenced by the deal's ``source_lead_id``; the marketing source is the deal's or lead's
``channel`` option. Field keys and the company's setup are in ``_render_setup``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from connectors.pipedrive.simulator.render_setup import (
    ACTIVITY_KEYS,
    COST_KEY,
    DEAL_TYPE_KEY,
    DEAL_TYPE_ORDER,
    INDUSTRY_KEY,
    LIFECYCLE_KEY,
    LIFECYCLE_LABELS,
    MEETING_OUTCOME_TYPES,
    MQL_DATE_KEY,
    MRR_KEY,
    PERSON_SOURCE_KEY,
    SQL_DATE_KEY,
    UNQUALIFIED_LABEL,
    channel_id,
    lead_time,
    lead_uuid,
    v1_time,
    v2_time,
)
from core.simulation.dataset import (
    INDUSTRIES,
    Dataset,
    SimAccount,
    SimActivity,
    SimContact,
    SimDeal,
    SimLead,
)


def _money(value: Decimal | None, currency: str) -> dict[str, Any] | None:
    return None if value is None else {"value": float(value), "currency": currency}


def _deal_type_option(deal_type: str) -> int:
    return DEAL_TYPE_ORDER.index(deal_type) + 1


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


def _type_key(a: SimActivity) -> str:
    """The activity type; a meeting not held for a no-show or a cancellation gets the
    company's own type for it (Pipedrive has no meeting outcome)."""
    if a.type == "MEETING" and a.meeting_outcome in MEETING_OUTCOME_TYPES:
        return MEETING_OUTCOME_TYPES[a.meeting_outcome][0]
    return ACTIVITY_KEYS[a.type]


def activity(ds: Dataset, a: SimActivity) -> dict[str, Any]:
    due = a.due_at
    return {
        "id": a.id,
        "subject": a.subject,
        "type": _type_key(a),
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

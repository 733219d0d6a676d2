"""The shared simulated business (core.simulation.dataset) in HubSpot's response shapes.

Ids: HubSpot ids are numeric strings, so objects keep the dataset's ids, except pipelines
and stages: the first pipeline is HubSpot's ``default`` one with its six well-known stage
ids, the others get numeric ids. Property values are strings, dates ISO-8601 UTC with
milliseconds, as the CRM v3 API returns them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

from connectors.hubspot import settings
from core.simulation.dataset import (
    Dataset,
    SimActivity,
    SimContact,
    SimDeal,
    SimLead,
    SimPipeline,
    SimStage,
    SimUser,
)

DEFAULT_STAGE_IDS = (
    "appointmentscheduled",
    "qualifiedtobuy",
    "presentationscheduled",
    "decisionmakerboughtin",
    "closedwon",
    "closedlost",
)
SOURCES = {
    "Organic search": "ORGANIC_SEARCH",
    "Paid search": "PAID_SEARCH",
    "Referral": "REFERRALS",
    "Email": "EMAIL_MARKETING",
    "Events": "OFFLINE",
    "Social": "SOCIAL_MEDIA",
}
INDUSTRIES = {
    "Software": "COMPUTER_SOFTWARE",
    "Retail": "RETAIL",
    "Manufacturing": "MECHANICAL_OR_INDUSTRIAL_ENGINEERING",
    "Healthcare": "HOSPITAL_HEALTH_CARE",
    "Finance": "FINANCIAL_SERVICES",
    "Education": "EDUCATION_MANAGEMENT",
}
DEAL_TYPES = {
    "NEW_BUSINESS": "newbusiness",
    "UPSELL": "upsell",
    "CROSS_SELL": "cross_sell",
    "RENEWAL": "renewal",
    "UPGRADE": "upgrade",
}
DISPOSITIONS = {label: guid for guid, label in settings.CALL_DISPOSITIONS.items()}
LEAD_STAGES = {
    "Open": "new-stage-id",
    "Unqualified": "unqualified-stage-id",
    "Converted": settings.LEAD_QUALIFIED_STAGE,
}
#: The custom deal property the simulated portal stores the cost of sale in.
COST_PROPERTY = "deal_cost"
OBJECT_TYPES = ("companies", "contacts", "leads", "deals", *settings.ACTIVITY_TYPES)


@lru_cache(maxsize=100_000)
def iso(value: datetime | None) -> str | None:
    """ISO-8601 UTC with milliseconds (cached: the same instants recur across objects)."""
    if value is None:
        return None
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def pipeline_id(pipeline: SimPipeline) -> str:
    return "default" if pipeline.order == 0 else str(1000 * pipeline.id)


def stage_id(stage: SimStage, pipelines: list[SimPipeline]) -> str:
    pipeline = next(p for p in pipelines if p.id == stage.pipeline_id)
    if pipeline.order == 0 and stage.order < len(DEFAULT_STAGE_IDS):
        return DEFAULT_STAGE_IDS[stage.order]
    return str(1000 * pipeline.id + stage.order + 1)


@dataclass(slots=True)
class Rendered:
    """One CRM object: its v3 JSON (without associations), associations, search keys,
    and the history of the properties that have one (newest first, as HubSpot lists it)."""

    id: int
    body: dict[str, Any]
    associations: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    archived: bool = False
    history: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def _assoc(from_type: str, to_type: str, *ids: int | None) -> list[dict[str, str]]:
    """v3 association entries: a company link is primary plus unlabeled, as HubSpot lists it."""
    kind = f"{settings.SINGULAR[from_type]}_to_{settings.SINGULAR[to_type]}"
    entries = []
    for i in ids:
        if i is None:
            continue
        entries.append({"id": str(i), "type": kind})
        if to_type == "companies":
            entries.append({"id": str(i), "type": f"{kind}_unlabeled"})
    return entries


def _object(
    obj_id: int,
    properties: dict[str, Any],
    created: datetime,
    updated: datetime,
    deleted: datetime | None,
    modified_property: str = "hs_lastmodifieddate",
) -> dict[str, Any]:
    properties["hs_object_id"] = str(obj_id)
    properties[modified_property] = iso(updated)
    body: dict[str, Any] = {
        "id": str(obj_id),
        "properties": properties,
        "createdAt": iso(created),
        "updatedAt": iso(updated),
        "archived": deleted is not None,
    }
    if deleted is not None:
        body["archivedAt"] = iso(deleted)
    return body


def owner(user: SimUser, data: Dataset) -> dict[str, Any]:
    team = next(t for t in data.teams if t.id == user.team_id)
    return {
        "id": str(user.id),
        "email": user.email,
        "type": "PERSON",
        "firstName": user.first_name,
        "lastName": user.last_name,
        "userId": 9_000_000 + user.id,
        "userIdIncludingInactive": 9_000_000 + user.id,
        "createdAt": iso(user.created_at),
        "updatedAt": iso(user.updated_at),
        "archived": False,
        "teams": [{"id": str(team.id), "name": team.name, "primary": True}],
    }


def pipeline(p: SimPipeline, data: Dataset) -> dict[str, Any]:
    created = iso(data.anchor - timedelta(days=3650))
    return {
        "id": pipeline_id(p),
        "label": p.name,
        "displayOrder": p.order,
        "archived": False,
        "createdAt": created,
        "updatedAt": created,
        "stages": [
            {
                "id": stage_id(s, data.pipelines),
                "label": s.name,
                "displayOrder": s.order,
                "archived": False,
                "metadata": {
                    "isClosed": "true" if s.is_closed else "false",
                    "probability": str(s.probability),
                },
                "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
                "createdAt": created,
                "updatedAt": created,
            }
            for s in p.stages
        ],
    }


def companies(data: Dataset) -> list[Rendered]:
    out = []
    for a in data.accounts:
        props = {
            "name": a.name,
            "domain": f"company{a.id}.example.com",
            "country": a.country,
            "state": a.region,
            "industry": INDUSTRIES.get(a.industry, a.industry),
            "hubspot_owner_id": str(a.owner_id),
            "hs_analytics_source": SOURCES.get(a.source, a.source),
            "createdate": iso(a.created_at),
        }
        body = _object(a.id, props, a.created_at, a.updated_at, a.deleted_at)
        out.append(Rendered(a.id, body, archived=a.deleted_at is not None))
    return out


def contact(c: SimContact) -> Rendered:
    """A person of an account. The business's leads are its prospects (Lead records, or
    prospect contacts: see .prospects), not the people of its accounts, so the contact keeps
    only the qualification stages of its lifecycle, not the lead stage it starts at; the
    same people are plain contacts (persons) in Salesforce and Pipedrive."""
    stages = {
        name: at for name, at in c.lifecycle.items() if name not in settings.LIFECYCLE_LEAD_STAGES
    }
    props: dict[str, Any] = {
        "firstname": c.first_name,
        "lastname": c.last_name,
        "email": c.email,
        "associatedcompanyid": None if c.account_id is None else str(c.account_id),
        "hubspot_owner_id": str(c.owner_id),
        "lifecyclestage": next(reversed(stages), None),
        "hs_analytics_source": SOURCES.get(c.source, c.source),
        "createdate": iso(c.created_at),
    }
    for stage in settings.LIFECYCLE_STAGES:
        props[settings.LIFECYCLE_DATE.format(stage)] = iso(stages.get(stage))
    body = _object(c.id, props, c.created_at, c.updated_at, c.deleted_at, "lastmodifieddate")
    assoc = {"companies": _assoc("contacts", "companies", c.account_id)}
    return Rendered(c.id, body, assoc, c.deleted_at is not None)


def lead(item: SimLead) -> Rendered:
    props = {
        "hs_lead_name": item.title,
        "hs_pipeline": "lead-pipeline-id",
        "hs_pipeline_stage": LEAD_STAGES.get(item.status, "new-stage-id"),
        "hs_lead_source": SOURCES.get(item.source, item.source),
        "hubspot_owner_id": str(item.owner_id),
        "hs_createdate": iso(item.created_at),
        f"hs_v2_date_entered_{settings.LEAD_QUALIFIED_STAGE}": iso(item.converted_at),
    }
    body = _object(item.id, props, item.created_at, item.updated_at, item.deleted_at)
    assoc = {
        "contacts": _assoc("leads", "contacts", item.converted_contact_id),
        "companies": _assoc("leads", "companies", item.converted_account_id),
        "deals": _assoc("leads", "deals", item.converted_deal_id),
    }
    return Rendered(item.id, body, assoc, item.deleted_at is not None)


def deal(d: SimDeal, data: Dataset, stage_ids: dict[int, str]) -> Rendered:
    stage = data.stage(d.stage_id)
    closed = d.status != "OPEN"
    if closed:
        close_date = iso(d.closed_at)
    elif d.expected_close is not None:
        close_date = f"{d.expected_close.isoformat()}T00:00:00.000Z"
    else:
        close_date = None
    props: dict[str, Any] = {
        "dealname": d.name,
        "amount": _money(d.amount),
        "deal_currency_code": d.currency,
        "pipeline": pipeline_id(next(p for p in data.pipelines if p.id == d.pipeline_id)),
        "dealstage": stage_ids[d.stage_id],
        "closedate": close_date,
        "createdate": iso(d.created_at),
        "hs_is_closed": "true" if closed else "false",
        "hs_is_closed_won": "true" if d.status == "WON" else "false",
        "closed_lost_reason": d.lost_reason,
        "dealtype": DEAL_TYPES.get(d.deal_type, d.deal_type),
        "hs_analytics_source": SOURCES.get(d.source, d.source),
        "hubspot_owner_id": str(d.owner_id),
        "hs_deal_stage_probability": str(stage.probability),
        "hs_mrr": _money(d.recurring_amount),
        COST_PROPERTY: _money(d.cost),
    }
    for index, (sid, entered) in enumerate(d.history):
        props[f"hs_date_entered_{stage_ids[sid]}"] = iso(entered)
        if index + 1 < len(d.history):
            props[f"hs_date_exited_{stage_ids[sid]}"] = iso(d.history[index + 1][1])
    body = _object(d.id, props, d.created_at, d.updated_at, d.deleted_at)
    stages = [
        {
            "value": stage_ids[sid],
            "timestamp": iso(entered),
            "sourceType": "CRM_UI",
            "sourceId": f"userId:{9_000_000 + d.owner_id}",
            "updatedByUserId": 9_000_000 + d.owner_id,
        }
        for sid, entered in reversed(d.history)
    ]
    assoc = {
        "companies": _assoc("deals", "companies", d.account_id),
        "contacts": _assoc("deals", "contacts", d.contact_id),
        "leads": _assoc("deals", "leads", d.lead_id),
    }
    return Rendered(d.id, body, assoc, d.deleted_at is not None, {"dealstage": stages})


def engagement(a: SimActivity) -> tuple[str, Rendered]:
    """(object type, rendering) of an activity; ``hs_timestamp`` is its due time, or for a
    note when it was written (HubSpot: the note's time of creation on the timeline)."""
    when = a.created_at if a.type == "NOTE" else (a.due_at or a.created_at)
    done = a.done_at is not None
    props: dict[str, Any] = {
        "hs_timestamp": iso(when),
        "hubspot_owner_id": str(a.owner_id),
        "hs_createdate": iso(a.created_at),
    }
    if a.type == "CALL":
        object_type = "calls"
        props |= {
            "hs_call_title": a.subject,
            "hs_call_direction": a.direction,
            "hs_call_status": "COMPLETED" if done else "QUEUED",
            "hs_call_disposition": DISPOSITIONS.get(a.outcome or "", a.outcome),
        }
    elif a.type == "EMAIL":
        object_type = "emails"
        props |= {
            "hs_email_subject": a.subject,
            "hs_email_direction": "INCOMING_EMAIL" if a.direction == "INBOUND" else "EMAIL",
            "hs_email_status": "SENT" if done else "SCHEDULED",
        }
    elif a.type == "MEETING":
        object_type = "meetings"
        props |= {
            "hs_meeting_title": a.subject,
            "hs_meeting_start_time": iso(when),
            "hs_meeting_end_time": iso(when + timedelta(minutes=30)),
            "hs_meeting_outcome": a.meeting_outcome,
        }
    elif a.type == "NOTE":
        object_type = "notes"
        props["hs_note_body"] = f"<p>{a.subject}</p>"
    else:
        object_type = "tasks"
        props |= {
            "hs_task_subject": a.subject,
            "hs_task_status": "COMPLETED" if done else "NOT_STARTED",
            "hs_task_type": "TODO",
            "hs_task_completion_date": iso(a.done_at),
        }
    body = _object(a.id, props, a.created_at, a.updated_at, a.deleted_at)
    assoc = {
        "deals": _assoc(object_type, "deals", a.deal_id),
        "contacts": _assoc(object_type, "contacts", a.contact_id),
        "companies": _assoc(object_type, "companies", a.account_id),
        "leads": _assoc(object_type, "leads", a.lead_id),
    }
    return object_type, Rendered(a.id, body, assoc, a.deleted_at is not None)


def exchange_rates(data: Dataset) -> list[dict[str, Any]]:
    """Daily rates to the company currency (the dataset's rates are per 1 unit, in USD)."""
    return [
        {
            "id": f"{rate.currency}-{rate.day.isoformat()}",
            "fromCurrencyCode": rate.currency,
            "toCurrencyCode": "USD",
            "conversionRate": float(rate.usd),
            "effectiveAt": f"{rate.day.isoformat()}T00:00:00.000Z",
            "visibleInUI": True,
            "createdAt": f"{rate.day.isoformat()}T00:00:00.000Z",
            "updatedAt": f"{rate.day.isoformat()}T00:00:00.000Z",
        }
        for rate in data.fx_rates
        if data.currency == "USD"
    ]


def render(data: Dataset) -> dict[str, list[Rendered]]:
    """Every CRM object of ``data`` by HubSpot object type, sorted by id."""
    stage_ids = {s.id: stage_id(s, data.pipelines) for s in data.stages}
    objects: dict[str, list[Rendered]] = {name: [] for name in OBJECT_TYPES}
    objects["companies"] = companies(data)
    objects["contacts"] = [contact(c) for c in data.contacts]
    objects["leads"] = [lead(item) for item in data.leads]
    objects["deals"] = [deal(d, data, stage_ids) for d in data.deals]
    for activity in data.activities:
        object_type, rendered = engagement(activity)
        objects[object_type].append(rendered)
    for items in objects.values():
        items.sort(key=lambda r: r.id)
    return objects

"""The business's leads as an app without the Leads object reads them: contacts at lifecycle
stage lead (KPIS.md "Lead": HubSpot contacts at lifecycle lead or the Leads object), a won
conversion moving the contact on to customer.

The business's own contacts are the people of its accounts, not its leads (those are its
``SimLead`` prospects), so :func:`connectors.hubspot.simulator.render.contact` gives them no
lead stage. HubSpot gives each Lead record a contact set to lifecycle lead; the full portal
renders the prospects as Lead records only (an app reading both would count each person
twice: the connector does not yet fold a Lead record's contact into it), the minimal and
standard ones, whose Leads object the app cannot read, as these contacts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from connectors.hubspot import settings
from connectors.hubspot.simulator.render import SOURCES, Rendered, _assoc, _object, iso
from core.simulation.dataset import Dataset, SimLead

#: Prospect contacts' ids start here (past the business's contact ids).
PROSPECT_ID_BASE = 800_000_000


def prospect_id(lead: SimLead) -> int:
    return PROSPECT_ID_BASE + lead.id


def _won_at(lead: SimLead, data: Dataset) -> datetime | None:
    """When the lead became a customer: its converted deal's win (KPIS.md "Lead conversion")."""
    deal = next((d for d in data.deals if d.id == lead.converted_deal_id), None)
    if deal is None or deal.status != "WON" or deal.deleted_at is not None:
        return None
    return deal.closed_at


def prospects(data: Dataset) -> list[Rendered]:
    """One contact per lead: at lifecycle lead since its creation, customer once won."""
    out = []
    for lead in data.leads:
        won = _won_at(lead, data)
        dates = {"lead": lead.created_at, "customer": won}
        props: dict[str, Any] = {
            "firstname": lead.first_name,
            "lastname": lead.last_name,
            "email": lead.email,
            "associatedcompanyid": None,
            "hubspot_owner_id": str(lead.owner_id),
            "lifecyclestage": "customer" if won else "lead",
            "hs_analytics_source": SOURCES.get(lead.source, lead.source),
            "createdate": iso(lead.created_at),
        }
        for stage in settings.LIFECYCLE_STAGES:
            props[settings.LIFECYCLE_DATE.format(stage)] = iso(dates.get(stage))
        updated = max(lead.updated_at, won) if won else lead.updated_at
        pid = prospect_id(lead)
        body = _object(pid, props, lead.created_at, updated, lead.deleted_at, "lastmodifieddate")
        companies = _assoc("contacts", "companies", lead.converted_account_id if won else None)
        out.append(Rendered(pid, body, {"companies": companies}, lead.deleted_at is not None))
    return out


def link_activities(objects: dict[str, list[Rendered]], data: Dataset) -> None:
    """Activities of a lead are the prospect contact's too (in place)."""
    by_lead = {a.id: a.lead_id for a in data.activities if a.lead_id is not None}
    for object_type in settings.ACTIVITY_TYPES:
        for record in objects.get(object_type, ()):
            lead_id = by_lead.get(record.id)
            if lead_id is not None:
                record.associations.setdefault("contacts", [])
                record.associations["contacts"] += _assoc(
                    object_type, "contacts", PROSPECT_ID_BASE + lead_id
                )

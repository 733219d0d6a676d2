"""The prospects row set: leads and contacts as one, with their conversion and first-contact
times (KPIS.md "Lead conversion", "A lead's activities").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    FromClause,
    and_,
    case,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import aliased

from core.metrics.measures import activity_done_at
from core.models import Activity, Contact, Deal, Lead
from core.models.enums import DealStatus


def _contact_done(workspace_ids: Sequence[str]) -> FromClause:
    """First done activity per (connection, linked contact)."""
    done = activity_done_at(Activity)
    return (
        select(
            Activity.connection_id.label("connection_id"),
            Activity.contact_remote_id.label("key"),
            func.min(done).label("first_done_at"),
        )
        .where(
            Activity.workspace_id.in_(workspace_ids),
            Activity.deleted_at.is_(None),
            done.is_not(None),
            Activity.contact_remote_id.is_not(None),
        )
        .group_by(Activity.connection_id, Activity.contact_remote_id)
        .subquery()
    )


def _lead_done(workspace_ids: Sequence[str]) -> FromClause:
    """First done activity per (connection, linked lead)."""
    done = activity_done_at(Activity)
    return (
        select(
            Activity.connection_id.label("connection_id"),
            Activity.lead_remote_id.label("key"),
            func.min(done).label("first_done_at"),
        )
        .where(
            Activity.workspace_id.in_(workspace_ids),
            Activity.deleted_at.is_(None),
            done.is_not(None),
            Activity.lead_remote_id.is_not(None),
        )
        .group_by(Activity.connection_id, Activity.lead_remote_id)
        .subquery()
    )


def _is_converted(lead: type[Lead]) -> ColumnElement[bool]:
    """The CRM converted the lead (into a contact and a deal), whether or not it is won."""
    return or_(lead.converted_at.is_not(None), lead.converted_deal_remote_id.is_not(None))


def _became_contact(lead: type[Lead], deal: Any) -> ColumnElement[Any]:
    """The contact a converted lead became, whose activities are the lead's too (KPIS.md "A
    lead's activities": Salesforce and Pipedrive move a converted lead's activities to the
    records it became); NULL for a lead not converted.

    The contact is the lead's own (Salesforce ConvertedContactId, the person of a Pipedrive
    or HubSpot lead), else its converted deal's (``deal``, joined on the converted deal id).
    """
    return case(
        (_is_converted(lead), func.coalesce(lead.contact_remote_id, deal.contact_remote_id))
    )


def _converted_contact_done(workspace_ids: Sequence[str]) -> FromClause:
    """First done activity per (connection, converted lead) among those linked to the contact
    it became (:func:`_became_contact`), done at or after the lead was created."""
    done = activity_done_at(Activity)
    deal = aliased(Deal)
    contact = _became_contact(Lead, deal)
    return (
        select(
            Lead.connection_id.label("connection_id"),
            Lead.remote_id.label("key"),
            func.min(done).label("first_done_at"),
        )
        .select_from(Lead)
        .outerjoin(
            deal,
            and_(
                deal.connection_id == Lead.connection_id,
                deal.remote_id == Lead.converted_deal_remote_id,
                deal.workspace_id.in_(workspace_ids),
                deal.deleted_at.is_(None),
            ),
        )
        .join(
            Activity,
            and_(
                Activity.connection_id == Lead.connection_id, Activity.contact_remote_id == contact
            ),
        )
        .where(
            Lead.workspace_id.in_(workspace_ids),
            Lead.deleted_at.is_(None),
            _is_converted(Lead),
            Activity.workspace_id.in_(workspace_ids),
            Activity.deleted_at.is_(None),
            Activity.contact_remote_id.is_not(None),
            done.is_not(None),
            or_(Lead.remote_created_at.is_(None), done >= Lead.remote_created_at),
        )
        .group_by(Lead.connection_id, Lead.remote_id)
        .subquery()
    )


def _earliest(a: ColumnElement[Any], b: ColumnElement[Any]) -> ColumnElement[Any]:
    """The earlier of two nullable instants (NULL only when both are)."""
    return case((a.is_(None), b), (b.is_(None), a), (a <= b, a), else_=b)


def prospects(workspace_ids: Sequence[str]) -> FromClause:
    """Leads and contacts as one row set, with conversion and first-contact times.

    A lead converts when its converted deal is won, at that win's close time (KPIS.md "Lead
    conversion"; a lead whose own deal was lost has not converted). A contact converts when
    its lifecycle reaches customer (HubSpot's customer stage date, a mapped customer date
    elsewhere), not when some deal naming it is won. ``became_contact`` is the contact a
    converted lead became (:func:`_became_contact`), whose activities are the lead's too.
    """
    deal = aliased(Deal)
    lead_done = _lead_done(workspace_ids)
    moved_done = _converted_contact_done(workspace_ids)
    contact_done = _contact_done(workspace_ids)
    leads = (
        select(
            Lead.workspace_id,
            Lead.connection_id,
            Lead.remote_id,
            literal("lead").label("origin"),
            literal(True, Boolean).label("is_lead"),
            Lead.remote_created_at.label("created_at"),
            Lead.owner_remote_id,
            Lead.account_remote_id,
            Lead.source,
            Lead.custom,
            Lead.mql_at,
            Lead.sql_at,
            case((deal.status == DealStatus.WON, deal.closed_at)).label("conv_at"),
            _earliest(lead_done.c.first_done_at, moved_done.c.first_done_at).label("first_done_at"),
            _became_contact(Lead, deal).label("became_contact"),
        )
        .outerjoin(
            deal,
            and_(
                deal.connection_id == Lead.connection_id,
                deal.remote_id == Lead.converted_deal_remote_id,
                deal.deleted_at.is_(None),
            ),
        )
        .outerjoin(
            lead_done,
            and_(
                lead_done.c.connection_id == Lead.connection_id,
                lead_done.c.key == Lead.remote_id,
            ),
        )
        .outerjoin(
            moved_done,
            and_(
                moved_done.c.connection_id == Lead.connection_id,
                moved_done.c.key == Lead.remote_id,
            ),
        )
        .where(Lead.workspace_id.in_(workspace_ids), Lead.deleted_at.is_(None))
    )
    contacts = (
        select(
            Contact.workspace_id,
            Contact.connection_id,
            Contact.remote_id,
            literal("contact").label("origin"),
            Contact.is_lead,
            func.coalesce(Contact.lead_at, Contact.remote_created_at).label("created_at"),
            Contact.owner_remote_id,
            Contact.account_remote_id,
            Contact.source,
            Contact.custom,
            Contact.mql_at,
            Contact.sql_at,
            Contact.customer_at.label("conv_at"),
            contact_done.c.first_done_at,
            null().label("became_contact"),
        )
        .outerjoin(
            contact_done,
            and_(
                contact_done.c.connection_id == Contact.connection_id,
                contact_done.c.key == Contact.remote_id,
            ),
        )
        .where(Contact.workspace_id.in_(workspace_ids), Contact.deleted_at.is_(None))
    )
    return union_all(leads, contacts).subquery("prospects_src")

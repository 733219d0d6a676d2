"""The row sets measures read, one per :class:`Entity`, with the same column names.

Each source exposes, where it has them, ``workspace_id``, ``connection_id``,
``owner_remote_id``, ``account_remote_id``, ``pipeline_remote_id``, ``stage_remote_id``,
``source``, ``deal_type``, ``custom`` and ``type``, so one segment filter or breakdown is
written once for every entity. Deleted rows are left out here, once. Rows derived from deals
(stage stays, proposals, stage reach) carry ``deal_remote_id``, so a drill-down
(core.metrics.drill) can list the deals behind them.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
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

from core.metrics.marketing import spend_source, surveys_source, visitors_source
from core.metrics.measures import activity_done_at, probability_column
from core.metrics.stretches import customer_stretches
from core.metrics.types import Entity
from core.models import Account, Activity, Contact, Deal, DealStageHistory, Lead, Stage
from core.models.enums import DealStatus, StageKind

#: Dimension columns a source may expose (see module docstring).
DIMENSION_COLUMNS = (
    "owner_remote_id",
    "account_remote_id",
    "pipeline_remote_id",
    "stage_remote_id",
    "source",
    "deal_type",
    "custom",
    "type",
)


def _deals(workspace_ids: Sequence[str]) -> FromClause:
    return (
        select(Deal)
        .where(Deal.workspace_id.in_(workspace_ids), Deal.deleted_at.is_(None))
        .subquery("deals_src")
    )


def open_deals(workspace_ids: Sequence[str], closed_since: datetime) -> FromClause:
    """The deals that may be open at an instant at or after ``closed_since``: still-open deals
    (the partial index ``ix_deals_ws_open``) plus deals closed at or after it (a range of
    ``ix_deals_ws_closed``), as one row set with the columns of the deals source.

    The branches are disjoint by status and every deal open at such an instant is in one of
    them (a deal is OPEN, WON or LOST), so a measure of deals open at t counts the same rows
    as over all deals, without reading the workspace's long-closed deals.
    """
    live = (Deal.workspace_id.in_(workspace_ids), Deal.deleted_at.is_(None))
    still_open = select(Deal).where(*live, Deal.status == DealStatus.OPEN)
    closed = select(Deal).where(
        *live,
        Deal.status.in_([DealStatus.WON, DealStatus.LOST]),
        Deal.closed_at >= closed_since,
    )
    return union_all(still_open, closed).subquery("deals_src")


def _stage_at(workspace_ids: Sequence[str], instant: datetime, name: str) -> FromClause:
    """Per deal with stage history before ``instant``: the probability of the last stage it
    entered before then (among stages still known), ranked within the history table."""
    stay = DealStageHistory.__table__.alias(f"{name}_stay")
    stage = Stage.__table__.alias(f"{name}_stage")
    ranked = (
        select(
            stay.c.connection_id,
            stay.c.deal_remote_id,
            stage.c.probability,
            func.row_number()
            .over(
                partition_by=(stay.c.connection_id, stay.c.deal_remote_id),
                order_by=stay.c.entered_at.desc(),
            )
            .label("rank"),
        )
        .join(
            stage,
            and_(
                stage.c.connection_id == stay.c.connection_id,
                stage.c.remote_id == stay.c.stage_remote_id,
            ),
        )
        .where(
            stay.c.workspace_id.in_(workspace_ids),
            stay.c.deleted_at.is_(None),
            stay.c.entered_at < instant,
        )
        .subquery(f"{name}_ranked")
    )
    return (
        select(ranked.c.connection_id, ranked.c.deal_remote_id, ranked.c.probability)
        .where(ranked.c.rank == 1)
        .subquery(name)
    )


def with_stage_probability(
    deals: FromClause, workspace_ids: Sequence[str], instants: Sequence[datetime]
) -> FromClause:
    """Deals plus their current stage's probability (``stage_probability``) and, for each of
    ``instants``, the probability of the stage they were in then by their stage history
    (column ``measures.probability_column(instant)``, NULL without history reaching back).

    Joined, not looked up per deal: a correlated look-up per open deal and frame cost more
    than the rest of the deals statement, and (a subplan with outer references) kept
    PostgreSQL from aggregating in parallel. The history is read only for the deals that
    have some (hash-joined to the deals). Only statements with such a measure get the joins
    (SQLite would not drop unused ones). The stage is a plain table alias so that no ORM
    criteria could turn the outer join into an inner one.
    """
    stage = Stage.__table__.alias("deal_stage")
    joined: FromClause = deals.outerjoin(
        stage,
        and_(
            stage.c.connection_id == deals.c.connection_id,
            stage.c.remote_id == deals.c.stage_remote_id,
        ),
    )
    columns: list[Any] = [deals, stage.c.probability.label("stage_probability")]
    for i, instant in enumerate(sorted(set(instants))):
        at = _stage_at(workspace_ids, instant, f"stage_at_{i}")
        joined = joined.outerjoin(
            at,
            and_(
                at.c.connection_id == deals.c.connection_id,
                at.c.deal_remote_id == deals.c.remote_id,
            ),
        )
        columns.append(at.c.probability.label(probability_column(instant)))
    return select(*columns).select_from(joined).subquery("deals_weighted")


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


def _prospects(workspace_ids: Sequence[str]) -> FromClause:
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


def _activities(workspace_ids: Sequence[str]) -> FromClause:
    """Activities, ``done_at`` being when each was done (a held meeting at its start) and
    ``marked_done_at`` the stored time (an index bound, see measures._activities_done)."""
    columns = [c for c in Activity.__table__.c if c.name != "done_at"]
    return (
        select(
            *columns,
            activity_done_at(Activity).label("done_at"),
            Activity.done_at.label("marked_done_at"),
        )
        .where(Activity.workspace_id.in_(workspace_ids), Activity.deleted_at.is_(None))
        .subquery("activities_src")
    )


def _deal_dims(deal: type[Deal]) -> list[object]:
    return [
        deal.owner_remote_id,
        deal.account_remote_id,
        deal.pipeline_remote_id,
        deal.source,
        deal.deal_type,
        deal.custom,
    ]


def _stage_stays(workspace_ids: Sequence[str]) -> FromClause:
    """Stays in a stage, with the deal's dimensions; ``stage_remote_id`` is the stay's stage."""
    deal = aliased(Deal)
    return (
        select(
            DealStageHistory.workspace_id,
            DealStageHistory.connection_id,
            DealStageHistory.stage_remote_id,
            DealStageHistory.deal_remote_id,
            DealStageHistory.entered_at,
            DealStageHistory.exited_at,
            *_deal_dims(deal),
        )
        .join(
            deal,
            and_(
                deal.connection_id == DealStageHistory.connection_id,
                deal.remote_id == DealStageHistory.deal_remote_id,
                deal.deleted_at.is_(None),
            ),
        )
        .where(
            DealStageHistory.workspace_id.in_(workspace_ids),
            DealStageHistory.deleted_at.is_(None),
        )
        .subquery("stays_src")
    )


def _proposals(workspace_ids: Sequence[str]) -> FromClause:
    """Deals that ever entered a PROPOSAL-kind stage, with their first entry."""
    first = (
        select(
            DealStageHistory.connection_id.label("connection_id"),
            DealStageHistory.deal_remote_id.label("deal_remote_id"),
            func.min(DealStageHistory.entered_at).label("first_at"),
        )
        .join(
            Stage,
            and_(
                Stage.connection_id == DealStageHistory.connection_id,
                Stage.remote_id == DealStageHistory.stage_remote_id,
            ),
        )
        .where(
            DealStageHistory.workspace_id.in_(workspace_ids),
            DealStageHistory.deleted_at.is_(None),
            Stage.kind == StageKind.PROPOSAL,
        )
        .group_by(DealStageHistory.connection_id, DealStageHistory.deal_remote_id)
        .subquery()
    )
    deal = aliased(Deal)
    return (
        select(
            deal.workspace_id,
            deal.connection_id,
            deal.stage_remote_id,
            deal.remote_id.label("deal_remote_id"),
            first.c.first_at,
            *_deal_dims(deal),
        )
        .join(
            first,
            and_(
                first.c.connection_id == deal.connection_id,
                first.c.deal_remote_id == deal.remote_id,
            ),
        )
        .where(deal.workspace_id.in_(workspace_ids), deal.deleted_at.is_(None))
        .subquery("proposals_src")
    )


def _not_lost(stage: type[Stage]) -> ColumnElement[bool]:
    return or_(stage.kind.is_(None), stage.kind != StageKind.LOST)


def _stage_reach(workspace_ids: Sequence[str]) -> FromClause:
    """Per deal, every non-lost stage of its pipeline up to the furthest one it reached.

    "Reached" is entered (stage history) or currently in; order is the stages' display order,
    so a deal that skipped a stage still reached it.
    """
    visited = union_all(
        select(
            DealStageHistory.connection_id.label("connection_id"),
            DealStageHistory.deal_remote_id.label("deal_remote_id"),
            DealStageHistory.stage_remote_id.label("stage_remote_id"),
        ).where(
            DealStageHistory.workspace_id.in_(workspace_ids),
            DealStageHistory.deleted_at.is_(None),
        ),
        select(Deal.connection_id, Deal.remote_id, Deal.stage_remote_id).where(
            Deal.workspace_id.in_(workspace_ids), Deal.deleted_at.is_(None)
        ),
    ).subquery()
    seen = aliased(Stage)
    furthest = (
        select(
            visited.c.connection_id,
            visited.c.deal_remote_id,
            func.max(seen.display_order).label("max_order"),
        )
        .join(
            seen,
            and_(
                seen.connection_id == visited.c.connection_id,
                seen.remote_id == visited.c.stage_remote_id,
            ),
        )
        .where(_not_lost(seen))
        .group_by(visited.c.connection_id, visited.c.deal_remote_id)
        .subquery()
    )
    deal = aliased(Deal)
    stage = aliased(Stage)
    return (
        select(
            deal.workspace_id,
            deal.connection_id,
            deal.remote_created_at,
            deal.remote_id.label("deal_remote_id"),
            stage.remote_id.label("stage_remote_id"),
            stage.display_order.label("stage_order"),
            furthest.c.max_order,
            *_deal_dims(deal),
        )
        .join(
            furthest,
            and_(
                furthest.c.connection_id == deal.connection_id,
                furthest.c.deal_remote_id == deal.remote_id,
            ),
        )
        .join(
            stage,
            and_(
                stage.connection_id == deal.connection_id,
                stage.pipeline_remote_id == deal.pipeline_remote_id,
                stage.display_order <= furthest.c.max_order,
                _not_lost(stage),
            ),
        )
        .where(deal.workspace_id.in_(workspace_ids), deal.deleted_at.is_(None))
        .subquery("reach_src")
    )


def _accounts(workspace_ids: Sequence[str]) -> FromClause:
    """Accounts; ``account_remote_id`` is the account itself, so country filters apply."""
    return (
        select(
            Account.workspace_id,
            Account.connection_id,
            Account.remote_id.label("account_remote_id"),
            Account.remote_created_at,
            Account.owner_remote_id,
            Account.source,
            Account.custom,
        )
        .where(Account.workspace_id.in_(workspace_ids), Account.deleted_at.is_(None))
        .subquery("accounts_src")
    )


_BUILDERS = {
    Entity.DEALS: _deals,
    Entity.PROSPECTS: _prospects,
    Entity.ACTIVITIES: _activities,
    Entity.STAGE_STAYS: _stage_stays,
    Entity.PROPOSALS: _proposals,
    Entity.CUSTOMERS: customer_stretches,
    Entity.SPEND: spend_source,
    Entity.VISITORS: visitors_source,
    Entity.SURVEYS: surveys_source,
    Entity.STAGE_REACH: _stage_reach,
    Entity.ACCOUNTS: _accounts,
}


def source(entity: Entity, workspace_ids: Sequence[str]) -> FromClause:
    """The row set of ``entity`` restricted to the caller's workspaces, deleted rows left out."""
    if not workspace_ids:
        raise ValueError("source() needs at least one workspace id")
    return _BUILDERS[entity](workspace_ids)


def has_column(entity: Entity, name: str) -> bool:
    """Whether ``entity``'s rows carry ``name`` (decides which dimensions apply)."""
    return name in _columns(entity)


@functools.cache
def _columns(entity: Entity) -> frozenset[str]:
    """``entity``'s column names, built on first use: building every source at import cost
    a process that never asks (a sync) a few percent of its CPU."""
    return frozenset(c.name for c in _BUILDERS[entity](["ws"]).c)

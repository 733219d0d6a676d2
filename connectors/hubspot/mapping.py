"""Pure functions from HubSpot CRM v3 JSON to ``core.sync.records`` records.

Every function takes one raw object as the API returns it (``id``, ``properties``,
``associations``, ``archived``...) and raises MappingError with a precise reason when the
object cannot be used. Deals live in :mod:`._deals`, engagements in
:mod:`._activities`; this module is the whole public surface.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from connectors.hubspot import settings
from connectors.hubspot import values as v
from connectors.hubspot._activities import map_engagement
from connectors.hubspot._common import (
    SOURCE_LABELS,
    associated_ids,
    common,
    custom_values,
    first_id,
    first_ids,
    object_parts,
    source_label,
    top_level_time,
)
from connectors.hubspot._deals import StageInfo, map_deal, stage_history
from core.sync.connector import MappingError
from core.sync.records import (
    AccountRecord,
    ContactRecord,
    FxRateRecord,
    LeadRecord,
    PipelineRecord,
    Record,
    StageRecord,
    TeamRecord,
    UserRecord,
    builder,
)

__all__ = [
    "SOURCE_LABELS",
    "StageInfo",
    "associated_ids",
    "custom_values",
    "map_company",
    "map_contact",
    "map_deal",
    "map_engagement",
    "map_exchange_rate",
    "map_lead",
    "map_owner",
    "map_pipeline",
    "stage_history",
    "stage_infos",
]

_LEAD_STATUSES = {
    "new-stage-id": "New",
    "attempting-stage-id": "Attempting",
    "connected-stage-id": "Connected",
    settings.LEAD_QUALIFIED_STAGE: "Qualified",
    "unqualified-stage-id": "Unqualified",
}


def map_owner(raw: Mapping[str, Any]) -> list[Record]:
    """An owner (``/crm/v3/owners``) becomes a user; its teams become team records."""
    remote_id, _ = object_parts({**raw, "properties": {}})
    teams = [t for t in raw.get("teams") or () if isinstance(t, Mapping) and t.get("id")]
    primary = next((t for t in teams if t.get("primary")), teams[0] if teams else None)
    name = " ".join(p for p in (raw.get("firstName"), raw.get("lastName")) if p) or None
    records: list[Record] = [
        TeamRecord(remote_id=str(t["id"]), name=v.identifier(t.get("name"))) for t in teams
    ]
    records.append(
        UserRecord(
            remote_id=remote_id,
            name=name,
            email=v.identifier(raw.get("email")),
            team_remote_id=None if primary is None else str(primary["id"]),
            active=not raw.get("archived", False),
            remote_created_at=top_level_time(raw, "createdAt"),
            remote_updated_at=top_level_time(raw, "updatedAt"),
            remote_data=dict(raw),
        )
    )
    return records


def stage_infos(pipelines: Sequence[Mapping[str, Any]]) -> dict[str, StageInfo]:
    """Stage id -> StageInfo, from the results of ``/crm/v3/pipelines/deals``."""
    infos: dict[str, StageInfo] = {}
    for pipeline in pipelines:
        for record in map_pipeline(pipeline):
            if isinstance(record, StageRecord):
                infos[record.remote_id] = StageInfo(
                    str(record.pipeline_remote_id), record.is_closed, record.is_won
                )
    return infos


def _closed_kind(won: bool) -> str:
    return "WON" if won else "LOST"


def map_pipeline(raw: Mapping[str, Any]) -> list[Record]:
    """A deal pipeline and its stages.

    ``metadata.isClosed`` and ``metadata.probability`` (strings) give the stage kind of
    closed stages: probability 1.0 is WON, anything else LOST. Open stages of the default
    pipeline are known by their fixed ids; other open stages keep kind None and the engine
    guesses from name and probability.
    """
    remote_id, _ = object_parts({**raw, "properties": {}})
    records: list[Record] = [
        PipelineRecord(
            remote_id=remote_id,
            name=v.identifier(raw.get("label")),
            display_order=int(raw.get("displayOrder") or 0),
            deleted=bool(raw.get("archived")),
            remote_created_at=top_level_time(raw, "createdAt"),
            remote_updated_at=top_level_time(raw, "updatedAt"),
            remote_data={k: raw[k] for k in raw if k != "stages"},
        )
    ]
    for stage in raw.get("stages") or ():
        stage_id, _ = object_parts({**stage, "properties": {}})
        metadata = stage.get("metadata") or {}
        probability = v.number(metadata, "probability")
        if probability is not None and not 0.0 <= probability <= 1.0:
            raise MappingError(f"stage {stage_id}: probability {probability} outside [0, 1]")
        closed = bool(v.flag(metadata, "isClosed"))
        won = closed and probability == 1.0
        records.append(
            StageRecord(
                remote_id=stage_id,
                pipeline_remote_id=remote_id,
                name=v.identifier(stage.get("label")),
                display_order=int(stage.get("displayOrder") or 0),
                probability=probability,
                kind=("WON" if won else "LOST")
                if closed
                else settings.DEFAULT_STAGE_KINDS.get(stage_id),
                is_closed=closed,
                is_won=won,
                deleted=bool(stage.get("archived") or raw.get("archived")),
                remote_created_at=top_level_time(stage, "createdAt"),
                remote_updated_at=top_level_time(stage, "updatedAt"),
                remote_data=dict(stage),
            )
        )
    return records


def map_exchange_rate(raw: Mapping[str, Any]) -> FxRateRecord:
    """An exchange rate of the multicurrency settings: ``1 from = conversionRate to``.

    ``toCurrencyCode`` is the portal's company currency; the rate holds from ``effectiveAt``.
    """
    source = v.text(raw, "fromCurrencyCode")
    target = v.text(raw, "toCurrencyCode")
    effective = v.timestamp(raw, "effectiveAt")
    rate = v.decimal(raw, "conversionRate")
    if not source or not target or effective is None or rate is None:
        raise MappingError("exchange rate without currencies, effectiveAt or conversionRate")
    if rate <= 0:
        raise MappingError(f"conversionRate: {rate} is not positive")
    return FxRateRecord(
        base_currency=target.upper(), currency=source.upper(), day=effective.date(), rate=rate
    )


def map_company(raw: Mapping[str, Any], custom: Sequence[str] = ()) -> AccountRecord:
    remote_id, props = object_parts(raw)
    created, updated, deleted, remote_data = common(raw, props, settings.COMPANIES)
    return _new_account(
        remote_id=remote_id,
        name=v.text(props, "name") or v.text(props, "domain"),
        country=v.text(props, "country"),
        region=v.text(props, "state"),
        industry=v.text(props, "industry"),
        owner_remote_id=v.text(props, "hubspot_owner_id"),
        source=source_label(props),
        custom=custom_values(props, custom),
        remote_created_at=created,
        remote_updated_at=updated,
        deleted=deleted,
        remote_data=remote_data,
    )


_new_account = builder(AccountRecord)


#: The standard lifecycle stages' kinds (a connection's ``lifecycle_kinds`` add to them).
_LIFECYCLE_KINDS = {
    **{s: "lead" for s in settings.LIFECYCLE_LEAD_STAGES},
    settings.LIFECYCLE_MQL: "mql",
    settings.LIFECYCLE_SQL: "sql",
    settings.LIFECYCLE_CUSTOMER: "customer",
}
_LIFECYCLE_DATES: dict[str, str] = {}


def _lifecycle_date(lifecycle: str) -> str:
    """The property of the date a contact entered ``lifecycle`` (names built once)."""
    name = _LIFECYCLE_DATES.get(lifecycle)
    if name is None:
        name = _LIFECYCLE_DATES[lifecycle] = settings.LIFECYCLE_DATE.format(lifecycle)
    return name


def map_contact(
    raw: Mapping[str, Any],
    custom: Sequence[str] = (),
    lifecycle_kinds: Mapping[str, str] | None = None,
) -> ContactRecord:
    """A contact with its lifecycle dates.

    ``lead_at`` is the earliest of the subscriber and lead dates; ``is_lead`` is true for a
    contact that ever was a lead (it has a lead date or is at a lead stage now).
    ``lifecycle_kinds`` maps custom lifecycle stage ids (numeric in HubSpot) to lead, mql,
    sql or customer, so their dates are read too.
    """
    remote_id, props = object_parts(raw)
    stage = v.text(props, "lifecyclestage")
    stage = None if stage is None else stage.lower()
    dates: dict[str, datetime] = {}
    kinds = {**_LIFECYCLE_KINDS, **lifecycle_kinds} if lifecycle_kinds else _LIFECYCLE_KINDS
    for lifecycle, kind in kinds.items():
        at = v.timestamp(props, _lifecycle_date(lifecycle))
        if at is not None and (kind not in dates or at < dates[kind]):
            dates[kind] = at
    first = v.text(props, "firstname")
    last = v.text(props, "lastname")
    name = " ".join(p for p in (first, last) if p) or None
    created, updated, deleted, remote_data = common(raw, props, settings.CONTACTS)
    return _new_contact(
        remote_id=remote_id,
        name=name,
        email=v.text(props, "email"),
        account_remote_id=v.text(props, "associatedcompanyid") or first_id(raw, "companies"),
        owner_remote_id=v.text(props, "hubspot_owner_id"),
        lifecycle_stage=stage,
        source=source_label(props),
        is_lead="lead" in dates or kinds.get(stage or "") == "lead",
        lead_at=dates.get("lead"),
        mql_at=dates.get("mql"),
        sql_at=dates.get("sql"),
        customer_at=dates.get("customer"),
        custom=custom_values(props, custom),
        remote_created_at=created,
        remote_updated_at=updated,
        deleted=deleted,
        remote_data=remote_data,
    )


_new_contact = builder(ContactRecord)


#: The associations a lead links to: its account, contact and (once qualified) deal.
_LEAD_LINKS = ("companies", "contacts", "deals")


def map_lead(raw: Mapping[str, Any], custom: Sequence[str] = ()) -> LeadRecord:
    """A record of the Leads object (0-136); qualified leads converted to their deal."""
    remote_id, props = object_parts(raw)
    stage = v.text(props, "hs_pipeline_stage")
    qualified = stage == settings.LEAD_QUALIFIED_STAGE
    converted_at = None
    if qualified:
        converted_at = v.timestamp(props, f"hs_v2_date_entered_{settings.LEAD_QUALIFIED_STAGE}")
    account, contact, deal = first_ids(raw, _LEAD_LINKS)
    if not qualified:
        deal = None
    created, updated, deleted, remote_data = common(raw, props, settings.LEADS)
    return _new_lead(
        remote_id=remote_id,
        name=v.text(props, "hs_lead_name"),
        status=None if stage is None else _LEAD_STATUSES.get(stage, stage),
        source=source_label(props, "hs_lead_source"),
        owner_remote_id=v.text(props, "hubspot_owner_id"),
        account_remote_id=account,
        contact_remote_id=contact,
        sql_at=converted_at,
        converted_at=converted_at,
        converted_deal_remote_id=deal,
        converted_account_remote_id=account if deal else None,
        custom=custom_values(props, custom),
        remote_created_at=created,
        remote_updated_at=updated,
        deleted=deleted,
        remote_data=remote_data,
    )


_new_lead = builder(LeadRecord)

"""Pure functions from HubSpot CRM v3 JSON to ``core.sync.records`` records.

Every function takes one raw object as the API returns it (``id``, ``properties``,
``associations``, ``archived``...) and raises MappingError with a precise reason when the
object cannot be used. Won/lost semantics follow HubSpot: a deal is won or lost when its
``hs_is_closed_won`` / ``hs_is_closed`` flags say so or, when the portal does not return
them, when its stage is closed (probability 1.0 = won, anything else = lost).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connectors.hubspot import _values as v
from connectors.hubspot import settings
from core.sync.connector import MappingError
from core.sync.records import (
    AccountRecord,
    ActivityRecord,
    ContactRecord,
    DealRecord,
    DealStageHistoryRecord,
    FxRateRecord,
    LeadRecord,
    PipelineRecord,
    Record,
    StageRecord,
    TeamRecord,
    UserRecord,
    stage_history_id,
)

#: hs_analytics_source values -> the labels HubSpot shows for them.
SOURCE_LABELS = {
    "ORGANIC_SEARCH": "Organic Search",
    "PAID_SEARCH": "Paid Search",
    "EMAIL_MARKETING": "Email Marketing",
    "SOCIAL_MEDIA": "Organic Social",
    "REFERRALS": "Referrals",
    "OTHER_CAMPAIGNS": "Other Campaigns",
    "DIRECT_TRAFFIC": "Direct Traffic",
    "OFFLINE": "Offline Sources",
    "PAID_SOCIAL": "Paid Social",
    "AI_REFERRALS": "AI Referrals",
}
_DEAL_TYPES = {
    "newbusiness": "NEW_BUSINESS",
    "existingbusiness": "UPSELL",
    "upsell": "UPSELL",
    "crosssell": "CROSS_SELL",
    "renewal": "RENEWAL",
    "upgrade": "UPGRADE",
}
_EMAIL_DIRECTIONS = {
    "EMAIL": "OUTBOUND",
    "FORWARDED_EMAIL": "OUTBOUND",
    "INCOMING_EMAIL": "INBOUND",
}
_MEETING_STATUSES = {
    "SCHEDULED": "ACCEPTED",
    "RESCHEDULED": "ACCEPTED",
    "COMPLETED": "HELD",
    "NO_SHOW": "NO_SHOW",
    "CANCELED": "CANCELLED",
}
#: Meetings with these outcomes did not take place (yet): they are not done.
_MEETING_NOT_DONE = ("SCHEDULED", "RESCHEDULED", "NO_SHOW", "CANCELED")
#: Calls in these states have not happened yet.
_CALL_NOT_DONE = ("QUEUED", "RINGING", "CONNECTING", "CALLING_CRM_USER", "IN_PROGRESS")
_EMAIL_NOT_DONE = ("SCHEDULED", "SENDING")
_LEAD_STATUSES = {
    "new-stage-id": "New",
    "attempting-stage-id": "Attempting",
    "connected-stage-id": "Connected",
    settings.LEAD_QUALIFIED_STAGE: "Qualified",
    "unqualified-stage-id": "Unqualified",
}
_STAGE_DATE_PREFIXES = settings.DATE_ENTERED_PREFIXES + settings.DATE_EXITED_PREFIXES


@dataclass(frozen=True, slots=True)
class StageInfo:
    """What a deal's mapping needs to know about its stage."""

    pipeline_id: str
    is_closed: bool
    is_won: bool


def _object(raw: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
    if not isinstance(raw, Mapping):
        raise MappingError(f"expected an object, got {type(raw).__name__}")
    remote_id = v.identifier(raw.get("id"))
    if remote_id is None:
        raise MappingError("missing id")
    props = raw.get("properties")
    if props is None:
        props = {}
    if not isinstance(props, Mapping):
        raise MappingError("properties is not an object")
    return remote_id, props


def _common(
    raw: Mapping[str, Any], props: Mapping[str, Any], obj: settings.ObjectType
) -> dict[str, Any]:
    created = v.timestamp(props, obj.created_property) or _top_level_time(raw, "createdAt")
    updated = v.timestamp(props, obj.modified_property) or _top_level_time(raw, "updatedAt")
    return {
        "remote_created_at": created,
        "remote_updated_at": updated,
        "deleted": bool(raw.get("archived")),
        "remote_data": dict(raw),
    }


def _top_level_time(raw: Mapping[str, Any], key: str) -> datetime | None:
    value = raw.get(key)
    return None if value in (None, "") else v.parse_datetime(str(value), key)


def custom_values(props: Mapping[str, Any], names: Iterable[str]) -> dict[str, Any] | None:
    """The requested custom properties present on the object, as HubSpot sent them."""
    found = {name: props[name] for name in names if name in props}
    return found or None


def associated_ids(raw: Mapping[str, Any], to_type: str) -> list[str]:
    """Ids associated with ``raw`` in ``to_type``, the primary association first.

    v3 reads list ``{"results": [{"id", "type"}]}`` per type; the unlabeled
    ``deal_to_company_unlabeled`` sits next to the primary ``deal_to_company``.
    """
    block = (raw.get("associations") or {}).get(to_type)
    if not isinstance(block, Mapping):
        return []
    primary: list[str] = []
    others: list[str] = []
    for item in block.get("results") or ():
        if not isinstance(item, Mapping) or item.get("id") in (None, ""):
            continue
        target = others if str(item.get("type", "")).endswith("_unlabeled") else primary
        remote_id = str(item["id"])
        if remote_id not in primary and remote_id not in others:
            target.append(remote_id)
    return primary + others


def _first(raw: Mapping[str, Any], to_type: str) -> str | None:
    ids = associated_ids(raw, to_type)
    return ids[0] if ids else None


def _source(props: Mapping[str, Any], name: str = "hs_analytics_source") -> str | None:
    value = v.text(props, name)
    return None if value is None else SOURCE_LABELS.get(value.upper(), value)


def map_owner(raw: Mapping[str, Any]) -> list[Record]:
    """An owner (``/crm/v3/owners``) becomes a user; its teams become team records."""
    remote_id, _ = _object({**raw, "properties": {}})
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
            remote_created_at=_top_level_time(raw, "createdAt"),
            remote_updated_at=_top_level_time(raw, "updatedAt"),
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


def map_pipeline(raw: Mapping[str, Any]) -> list[Record]:
    """A deal pipeline and its stages.

    ``metadata.isClosed`` and ``metadata.probability`` (strings) give the stage kind of
    closed stages: probability 1.0 is WON, anything else LOST. Open stages keep kind None
    and the engine guesses from name and probability.
    """
    remote_id, _ = _object({**raw, "properties": {}})
    records: list[Record] = [
        PipelineRecord(
            remote_id=remote_id,
            name=v.identifier(raw.get("label")),
            display_order=int(raw.get("displayOrder") or 0),
            deleted=bool(raw.get("archived")),
            remote_created_at=_top_level_time(raw, "createdAt"),
            remote_updated_at=_top_level_time(raw, "updatedAt"),
            remote_data={k: raw[k] for k in raw if k != "stages"},
        )
    ]
    for stage in raw.get("stages") or ():
        stage_id, _ = _object({**stage, "properties": {}})
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
                kind=("WON" if won else "LOST") if closed else None,
                is_closed=closed,
                is_won=won,
                deleted=bool(stage.get("archived") or raw.get("archived")),
                remote_created_at=_top_level_time(stage, "createdAt"),
                remote_updated_at=_top_level_time(stage, "updatedAt"),
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
    remote_id, props = _object(raw)
    return AccountRecord(
        remote_id=remote_id,
        name=v.text(props, "name") or v.text(props, "domain"),
        country=v.text(props, "country"),
        region=v.text(props, "state"),
        industry=v.text(props, "industry"),
        owner_remote_id=v.text(props, "hubspot_owner_id"),
        source=_source(props),
        custom=custom_values(props, custom),
        **_common(raw, props, settings.COMPANIES),
    )


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
    remote_id, props = _object(raw)
    stage = v.text(props, "lifecyclestage")
    stage = None if stage is None else stage.lower()
    dates: dict[str, datetime] = {}
    kinds = {
        **{s: "lead" for s in settings.LIFECYCLE_LEAD_STAGES},
        settings.LIFECYCLE_MQL: "mql",
        settings.LIFECYCLE_SQL: "sql",
        settings.LIFECYCLE_CUSTOMER: "customer",
        **(lifecycle_kinds or {}),
    }
    for lifecycle, kind in kinds.items():
        at = v.timestamp(props, settings.LIFECYCLE_DATE.format(lifecycle))
        if at is not None and (kind not in dates or at < dates[kind]):
            dates[kind] = at
    first = v.text(props, "firstname")
    last = v.text(props, "lastname")
    name = " ".join(p for p in (first, last) if p) or None
    return ContactRecord(
        remote_id=remote_id,
        name=name,
        email=v.text(props, "email"),
        account_remote_id=v.text(props, "associatedcompanyid") or _first(raw, "companies"),
        owner_remote_id=v.text(props, "hubspot_owner_id"),
        lifecycle_stage=stage,
        source=_source(props),
        is_lead="lead" in dates or kinds.get(stage or "") == "lead",
        lead_at=dates.get("lead"),
        mql_at=dates.get("mql"),
        sql_at=dates.get("sql"),
        customer_at=dates.get("customer"),
        custom=custom_values(props, custom),
        **_common(raw, props, settings.CONTACTS),
    )


def map_lead(raw: Mapping[str, Any], custom: Sequence[str] = ()) -> LeadRecord:
    """A record of the Leads object (0-136); qualified leads converted to their deal."""
    remote_id, props = _object(raw)
    stage = v.text(props, "hs_pipeline_stage")
    qualified = stage == settings.LEAD_QUALIFIED_STAGE
    converted_at = None
    if qualified:
        converted_at = v.timestamp(props, f"hs_v2_date_entered_{settings.LEAD_QUALIFIED_STAGE}")
    deal = _first(raw, "deals") if qualified else None
    return LeadRecord(
        remote_id=remote_id,
        name=v.text(props, "hs_lead_name"),
        status=None if stage is None else _LEAD_STATUSES.get(stage, stage),
        source=_source(props, "hs_lead_source"),
        owner_remote_id=v.text(props, "hubspot_owner_id"),
        account_remote_id=_first(raw, "companies"),
        contact_remote_id=_first(raw, "contacts"),
        sql_at=converted_at,
        converted_at=converted_at,
        converted_deal_remote_id=deal,
        converted_account_remote_id=_first(raw, "companies") if deal else None,
        custom=custom_values(props, custom),
        **_common(raw, props, settings.LEADS),
    )


def _deal_type(props: Mapping[str, Any]) -> str | None:
    value = v.text(props, "dealtype")
    return None if value is None else _DEAL_TYPES.get(re.sub(r"[^a-z]", "", value.lower()))


def _deal_status(props: Mapping[str, Any], stage: StageInfo | None) -> str:
    won = v.flag(props, "hs_is_closed_won")
    closed = v.flag(props, "hs_is_closed")
    if won is None and closed is None:
        if stage is None or not stage.is_closed:
            return "OPEN"
        return "WON" if stage.is_won else "LOST"
    if won:
        return "WON"
    return "LOST" if closed else "OPEN"


def stage_history(
    deal_id: str, props: Mapping[str, Any], raw: Mapping[str, Any], stages: Mapping[str, StageInfo]
) -> list[DealStageHistoryRecord]:
    """Stays of a deal in its stages.

    From ``propertiesWithHistory.dealstage`` when the read asked for it (every visit),
    otherwise from the ``hs_date_entered_<stage>`` / ``hs_date_exited_<stage>`` properties
    (the last visit of each stage). A stay ends when the next one starts.
    """
    entries: list[tuple[datetime, str]] = []
    history = (raw.get("propertiesWithHistory") or {}).get("dealstage")
    exits: dict[str, datetime] = {}
    if history:
        for item in history:
            stage = v.text(item, "value")
            at = v.timestamp(item, "timestamp")
            if stage and at:
                entries.append((at, stage))
    else:
        for name, value in props.items():
            if value is None or value == "" or not name.startswith(_STAGE_DATE_PREFIXES):
                continue
            for prefix in settings.DATE_ENTERED_PREFIXES:
                if name.startswith(prefix):
                    entries.append((v.parse_datetime(str(value), name), name[len(prefix) :]))
            for prefix in settings.DATE_EXITED_PREFIXES:
                if name.startswith(prefix):
                    exits[name[len(prefix) :]] = v.parse_datetime(str(value), name)
    unique = sorted(set(entries))
    records = []
    for index, (entered, stage) in enumerate(unique):
        exited = unique[index + 1][0] if index + 1 < len(unique) else exits.get(stage)
        info = stages.get(stage)
        records.append(
            DealStageHistoryRecord(
                remote_id=stage_history_id(deal_id, stage, entered),
                deal_remote_id=deal_id,
                stage_remote_id=stage,
                pipeline_remote_id=info.pipeline_id if info else v.text(props, "pipeline"),
                entered_at=entered,
                exited_at=exited,
                remote_created_at=entered,
                remote_updated_at=exited or entered,
            )
        )
    return records


def map_deal(
    raw: Mapping[str, Any],
    stages: Mapping[str, StageInfo],
    custom: Sequence[str] = (),
    recurring_property: str | None = "hs_mrr",
) -> list[Record]:
    """A deal, then its stage history. Unknown stages are kept as they are."""
    remote_id, props = _object(raw)
    stage_id = v.text(props, "dealstage")
    stage = stages.get(stage_id or "")
    status = _deal_status(props, stage)
    history = stage_history(remote_id, props, raw, stages)
    close_date = v.timestamp(props, "closedate")
    closed_at = None
    if status != "OPEN":
        entered_current = [h.entered_at for h in history if h.stage_remote_id == stage_id]
        closed_at = close_date or (max(entered_current) if entered_current else None)
        if closed_at is None:
            raise MappingError(f"deal is {status.lower()} but has no closedate")
    currency = v.text(props, "deal_currency_code")
    probability = v.number(props, "hs_deal_stage_probability")
    deal = DealRecord(
        remote_id=remote_id,
        name=v.text(props, "dealname"),
        amount=v.decimal(props, "amount"),
        currency=None if currency is None else currency.upper(),
        pipeline_remote_id=v.text(props, "pipeline") or (stage.pipeline_id if stage else None),
        stage_remote_id=stage_id,
        status=status,
        owner_remote_id=v.text(props, "hubspot_owner_id"),
        account_remote_id=_first(raw, "companies"),
        contact_remote_id=_first(raw, "contacts"),
        lead_remote_id=_first(raw, "leads"),
        closed_at=closed_at,
        expected_close_date=None if close_date is None else close_date.date(),
        lost_reason=v.text(props, "closed_lost_reason") if status == "LOST" else None,
        source=_source(props),
        deal_type=_deal_type(props),
        probability=probability,
        recurring_amount=v.decimal(props, recurring_property) if recurring_property else None,
        custom=custom_values(props, custom),
        **_common(raw, props, settings.DEALS),
    )
    return [deal, *history]


def _activity_done(
    kind: str, props: Mapping[str, Any], when: datetime | None
) -> tuple[datetime | None, datetime | None]:
    """(due_at, done_at) of an engagement; ``when`` is its ``hs_timestamp``."""
    if kind == "TASK":
        status = (v.text(props, "hs_task_status") or "").upper()
        done = v.timestamp(props, "hs_task_completion_date") or v.timestamp(
            props, "hs_lastmodifieddate"
        )
        return when, done if status == "COMPLETED" else None
    if kind == "CALL":
        pending = (v.text(props, "hs_call_status") or "").upper() in _CALL_NOT_DONE
    elif kind == "MEETING":
        pending = (v.text(props, "hs_meeting_outcome") or "").upper() in _MEETING_NOT_DONE
        when = v.timestamp(props, "hs_meeting_start_time") or when
    elif kind == "EMAIL":
        pending = (v.text(props, "hs_email_status") or "").upper() in _EMAIL_NOT_DONE
    else:
        pending = False
    return when, None if pending else when


def _note_subject(props: Mapping[str, Any]) -> str | None:
    body = v.text(props, "hs_note_body")
    if body is None:
        return None
    plain = " ".join(re.sub(r"<[^>]+>", " ", body).split())
    return plain[:200] or None


def map_engagement(
    object_name: str, raw: Mapping[str, Any], custom: Sequence[str] = ()
) -> ActivityRecord:
    """A call, email, meeting, note or task with its owner, links, times and outcome."""
    kind = settings.ACTIVITY_TYPES.get(object_name)
    if kind is None:
        raise MappingError(f"{object_name!r} is not an engagement object")
    remote_id, props = _object(raw)
    due_at, done_at = _activity_done(kind, props, v.timestamp(props, "hs_timestamp"))
    outcome = direction = meeting_status = None
    if kind == "CALL":
        subject = v.text(props, "hs_call_title")
        disposition = v.text(props, "hs_call_disposition")
        outcome = settings.CALL_DISPOSITIONS.get(disposition or "", disposition)
        direction = (v.text(props, "hs_call_direction") or "").upper() or None
    elif kind == "EMAIL":
        subject = v.text(props, "hs_email_subject")
        raw_direction = (v.text(props, "hs_email_direction") or "").upper()
        direction = _EMAIL_DIRECTIONS.get(raw_direction)
    elif kind == "MEETING":
        subject = v.text(props, "hs_meeting_title")
        outcome = (v.text(props, "hs_meeting_outcome") or "").upper() or None
        meeting_status = _MEETING_STATUSES.get(outcome or "")
    elif kind == "NOTE":
        subject = _note_subject(props)
    else:
        subject = v.text(props, "hs_task_subject")
    return ActivityRecord(
        remote_id=remote_id,
        type=kind,
        subject=subject,
        owner_remote_id=v.text(props, "hubspot_owner_id"),
        deal_remote_id=_first(raw, "deals"),
        contact_remote_id=_first(raw, "contacts"),
        account_remote_id=_first(raw, "companies"),
        lead_remote_id=_first(raw, "leads"),
        due_at=due_at,
        done_at=done_at,
        outcome=outcome,
        direction=direction if direction in ("INBOUND", "OUTBOUND") else None,
        meeting_status=meeting_status,
        custom=custom_values(props, custom),
        **_common(raw, props, settings.ENGAGEMENTS[0]),
    )

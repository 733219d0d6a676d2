"""Deals and their stage history (HubSpot CRM v3 deals).

Won/lost semantics follow HubSpot: a deal is won or lost when its ``hs_is_closed_won`` /
``hs_is_closed`` flags say so or, when the portal does not return them, when its stage is
closed (probability 1.0 = won, anything else = lost). Unknown stages are kept as they are.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connectors.hubspot import settings
from connectors.hubspot import values as v
from connectors.hubspot._common import common, custom_values, first_ids, object_parts, source_label
from core.sync.connector import MappingError
from core.sync.records import (
    DealRecord,
    DealStageHistoryRecord,
    Record,
    builder,
    stage_history_id,
)

_DEAL_TYPES = {
    "newbusiness": "NEW_BUSINESS",
    "existingbusiness": "UPSELL",
    "upsell": "UPSELL",
    "crosssell": "CROSS_SELL",
    "renewal": "RENEWAL",
    "upgrade": "UPGRADE",
}
#: The associations a deal links to: its account, contact and lead.
_LINKED = ("companies", "contacts", "leads")
_STAGE_DATE_PREFIXES = settings.DATE_ENTERED_PREFIXES + settings.DATE_EXITED_PREFIXES


@dataclass(frozen=True, slots=True)
class StageInfo:
    """What a deal's mapping needs to know about its stage."""

    pipeline_id: str
    is_closed: bool
    is_won: bool


#: Deal types by their raw value (a portal has a handful; bounded all the same).
_DEAL_TYPE_CACHE: dict[str, str | None] = {}


def _deal_type(props: Mapping[str, Any]) -> str | None:
    value = v.text(props, "dealtype")
    if value is None:
        return None
    if value in _DEAL_TYPE_CACHE:
        return _DEAL_TYPE_CACHE[value]
    kind = _DEAL_TYPES.get(re.sub(r"[^a-z]", "", value.lower()))
    if len(_DEAL_TYPE_CACHE) < 1_000:
        _DEAL_TYPE_CACHE[value] = kind
    return kind


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

    From ``propertiesWithHistory.dealstage`` when the read asked for it (every visit, also
    re-entries: each is its own row), otherwise from the ``hs_date_entered_<stage>`` /
    ``hs_date_exited_<stage>`` properties (the last visit of each stage). A stay ends when
    the next one starts; the current stay has no exit.
    """
    history = (raw.get("propertiesWithHistory") or {}).get("dealstage")
    exits: dict[str, datetime] = {}
    entries = _history_entries(history) if history else _property_entries(props, exits)
    unique = _visits(entries)
    records = []
    last = len(unique) - 1
    pipeline: str | None = None
    for index, (entered, stage) in enumerate(unique):
        exited = unique[index + 1][0] if index < last else exits.get(stage)
        info = stages.get(stage)
        if info is None and pipeline is None:
            pipeline = v.text(props, "pipeline")
        records.append(
            _new_stay(
                remote_id=stage_history_id(deal_id, stage, entered),
                deal_remote_id=deal_id,
                stage_remote_id=stage,
                pipeline_remote_id=info.pipeline_id if info else pipeline,
                entered_at=entered,
                exited_at=exited,
                remote_created_at=entered,
                remote_updated_at=exited or entered,
            )
        )
    return records


_new_stay = builder(DealStageHistoryRecord)


def _history_entries(history: Any) -> list[tuple[datetime, str]]:
    """(entered, stage) of each item of a ``dealstage`` history. HubSpot documents both
    fields as strings: those are read inline (a history item is read per visit); any
    other shape goes through the property readers."""
    entries: list[tuple[datetime, str]] = []
    for item in history:
        stage = item.get("value")
        at = item.get("timestamp")
        if type(stage) is str and type(at) is str:
            stage = stage.strip()
            at = at.strip()
            when = v.parse_datetime(at, "timestamp") if at else None
        else:
            stage = v.text(item, "value")
            when = v.timestamp(item, "timestamp")
        if stage and when:
            entries.append((when, stage))
    return entries


def _property_entries(
    props: Mapping[str, Any], exits: dict[str, datetime]
) -> list[tuple[datetime, str]]:
    """(entered, stage) from the per-stage entry dates; their exit dates go to ``exits``."""
    entries: list[tuple[datetime, str]] = []
    for name, value in props.items():
        if value is None or value == "" or not name.startswith(_STAGE_DATE_PREFIXES):
            continue
        for prefix in settings.DATE_ENTERED_PREFIXES:
            if name.startswith(prefix):
                entries.append((v.parse_datetime(str(value), name), name[len(prefix) :]))
        for prefix in settings.DATE_EXITED_PREFIXES:
            if name.startswith(prefix):
                exits[name[len(prefix) :]] = v.parse_datetime(str(value), name)
    return entries


def _visits(entries: list[tuple[datetime, str]]) -> list[tuple[datetime, str]]:
    """Entries in time order without the repeats of an unchanged stage.

    The history lists every write of ``dealstage``, also one that sets the stage it already
    had (imports, workflows): that is no new visit, so the stay goes on from its first entry.
    A stage left and entered again later is a new visit and is kept. (An entry listed
    twice sorts next to its twin, so it is dropped here as a repeat: no set is needed.)
    """
    visits: list[tuple[datetime, str]] = []
    for at, stage in sorted(entries):
        if not visits or visits[-1][1] != stage:
            visits.append((at, stage))
    return visits


def map_deal(
    raw: Mapping[str, Any],
    stages: Mapping[str, StageInfo],
    custom: Sequence[str] = (),
    recurring_property: str | None = "hs_mrr",
    company_currency: str | None = None,
) -> list[Record]:
    """A deal, then its stage history. Unknown stages are kept as they are.

    ``deal_currency_code`` is empty (null or absent) on single-currency portals: the
    amount is then in the portal's ``company_currency``."""
    remote_id, props = object_parts(raw)
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
    currency = v.text(props, "deal_currency_code") or company_currency
    probability = v.number(props, "hs_deal_stage_probability")
    # In the order the fields were always read: the first bad one names the quarantine.
    amount = v.decimal(props, "amount")
    recurring = v.decimal(props, recurring_property) if recurring_property else None
    created, updated, deleted, remote_data = common(raw, props, settings.DEALS)
    account, contact, lead = first_ids(raw, _LINKED)
    deal = _new_deal(
        remote_id=remote_id,
        name=v.text(props, "dealname"),
        amount=amount,
        currency=None if currency is None else currency.upper(),
        pipeline_remote_id=v.text(props, "pipeline") or (stage.pipeline_id if stage else None),
        stage_remote_id=stage_id,
        status=status,
        owner_remote_id=v.text(props, "hubspot_owner_id"),
        account_remote_id=account,
        contact_remote_id=contact,
        lead_remote_id=lead,
        closed_at=closed_at,
        expected_close_date=None if close_date is None else close_date.date(),
        lost_reason=v.text(props, "closed_lost_reason") if status == "LOST" else None,
        source=source_label(props),
        deal_type=_deal_type(props),
        probability=probability,
        recurring_amount=recurring,
        custom=custom_values(props, custom),
        remote_created_at=created,
        remote_updated_at=updated,
        deleted=deleted,
        remote_data=remote_data,
    )
    return [deal, *history]


_new_deal = builder(DealRecord)

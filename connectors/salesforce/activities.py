"""Salesforce Tasks, Events and Notes as activity records (pure functions, like
``connectors.salesforce.mapping``).

Salesforce facts encoded: ``WhoId`` (Contact or Lead) and ``WhatId`` (Opportunity, Account...)
are polymorphic and tell their object by their key prefix; a Note has one ``ParentId`` and no
``AccountId``; a task's ``ActivityDate`` is a date of the org's calendar; an Event has no
status of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any

from connectors.salesforce import settings
from connectors.salesforce.mapping import base_fields, owner_id
from connectors.salesforce.values import (
    flag,
    id_with_prefix,
    local_midnight,
    parse_date,
    parse_datetime,
    text,
)
from core.sync.records import ActivityRecord

_CALL_OUTCOMES = {
    "connected": "CONNECTED",
    "left voicemail": "LEFT_VOICEMAIL",
    "left message": "LEFT_VOICEMAIL",
    "no answer": "NO_ANSWER",
    "busy": "BUSY",
    "wrong number": "WRONG_NUMBER",
}


def _links(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Who (Contact/Lead) and What (Opportunity/Account) links of a Task, Event or Note."""
    who, what = raw.get("WhoId"), raw.get("WhatId") or raw.get("ParentId")
    return {
        "owner_remote_id": owner_id(raw),
        "contact_remote_id": id_with_prefix(who, settings.PREFIX_CONTACT)
        or id_with_prefix(raw.get("ParentId"), settings.PREFIX_CONTACT),
        "lead_remote_id": id_with_prefix(who, settings.PREFIX_LEAD)
        or id_with_prefix(raw.get("ParentId"), settings.PREFIX_LEAD),
        "deal_remote_id": id_with_prefix(what, settings.PREFIX_OPPORTUNITY),
        "account_remote_id": text(raw.get("AccountId"))
        or id_with_prefix(what, settings.PREFIX_ACCOUNT),
    }


def task_type(raw: Mapping[str, Any]) -> str:
    subtype = (text(raw.get("TaskSubtype")) or "").lower()
    kind = (text(raw.get("Type")) or "").lower()
    if subtype == "call" or (subtype in ("", "task") and kind == "call"):
        return "CALL"
    if subtype in ("email", "listemail") or (subtype in ("", "task") and kind == "email"):
        return "EMAIL"
    if subtype in ("", "task") and kind == "meeting":
        return "MEETING"
    return "TASK"


def map_task(raw: Mapping[str, Any], zone: tzinfo = UTC) -> ActivityRecord:
    """A task. Its due date (``ActivityDate``, a date) is a day of its users' calendar, the
    org's time zone ``zone``: due from that day's local start, so a task due on a period's
    last day is due within it wherever the org is."""
    base = base_fields(raw)
    activity_type = task_type(raw)
    done_at = None
    if flag(raw.get("IsClosed")):
        done_at = parse_datetime(
            raw.get("CompletedDateTime") or raw.get("LastModifiedDate"), "CompletedDateTime"
        )
    disposition = text(raw.get("CallDisposition"))
    call_type = (text(raw.get("CallType")) or "").upper()
    return ActivityRecord(
        **base,
        **_links(raw),
        type=activity_type,
        subject=text(raw.get("Subject")),
        due_at=local_midnight(parse_date(raw.get("ActivityDate"), "ActivityDate"), zone),
        done_at=done_at,
        outcome=_CALL_OUTCOMES.get(disposition.lower(), disposition) if disposition else None,
        direction=call_type if call_type in ("INBOUND", "OUTBOUND") else None,
    )


def map_event(raw: Mapping[str, Any], *, now: datetime | None = None) -> ActivityRecord:
    """An Event is a meeting, done at its start when held (KPIS.md). Its outcome, where the
    org keeps one (settings.MEETING_OUTCOME_FIELDS), says whether it was held; without one
    it is held once it has ended (as of ``now``, the run's start)."""
    start = parse_datetime(raw.get("StartDateTime") or raw.get("ActivityDateTime"), "Start")
    end = parse_datetime(raw.get("EndDateTime"), "EndDateTime")
    outcome = next((o for f in settings.MEETING_OUTCOME_FIELDS if (o := text(raw.get(f)))), None)
    key = "".join(c for c in (outcome or "").lower() if c.isalpha())
    status = settings.MEETING_OUTCOMES.get(key)
    if status is None and end is not None and (now is None or end <= now):
        status = "HELD"
    return ActivityRecord(
        **base_fields(raw),
        **_links(raw),
        type="MEETING",
        subject=text(raw.get("Subject")),
        due_at=start,
        done_at=start if status == "HELD" else None,
        outcome=outcome,
        meeting_status=status,
    )


def map_note(raw: Mapping[str, Any]) -> ActivityRecord:
    """A note, done when written. Note has no AccountId: a note on a contact or an
    opportunity takes its parent's, given as a TYPEOF query would (``Parent.AccountId``,
    added by connectors.salesforce.parents)."""
    base = base_fields(raw)
    links = _links(raw)
    parent = raw.get("Parent")
    if links["account_remote_id"] is None and isinstance(parent, Mapping):
        links["account_remote_id"] = text(parent.get("AccountId"))
    return ActivityRecord(
        **base,
        **links,
        type="NOTE",
        subject=text(raw.get("Title")),
        done_at=base["remote_created_at"],
    )
